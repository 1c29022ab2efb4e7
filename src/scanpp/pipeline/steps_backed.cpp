// Backed pipelines: `read: {path: X.h5ad, backed: r}` leaves X on disk; the
// steps that only pass over the cells (QC, filters, normalize_total, log1p,
// highly_variable_genes, pca, subset, write) then stream it in row blocks,
// and a step that needs X in memory stops with an error naming it.
//
// The pipeline's state is an AnnData; the on-disk X rides beside it in a
// table keyed by the AnnData's address, filled by the backed read and
// released when the run ends (release_backed, called by run_yaml).
#include <map>
#include <mutex>
#include <set>

#include "scanpp/core/error.hpp"
#include "scanpp/io/backed_row_source.hpp"
#include "scanpp/io/read.hpp"
#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pipeline/step_options.hpp"
#include "scanpp/pp/backed.hpp"

namespace scanpp::pipeline {

namespace bk = pp::backed;

namespace {

struct BackedX {
  bk::SourcePtr x;
  RowBlockOptions blocks;
};

std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}
std::map<const AnnData*, BackedX>& table() {
  static std::map<const AnnData*, BackedX> t;
  return t;
}

BackedX* backed_of(const AnnData& ad) {
  std::lock_guard<std::mutex> lock(table_mutex());
  auto it = table().find(&ad);
  return it == table().end() ? nullptr : &it->second;
}

void set_backed(const AnnData& ad, BackedX b) {
  std::lock_guard<std::mutex> lock(table_mutex());
  table()[&ad] = std::move(b);
}

// Steps that stream a backed X, and what each does then. They read their
// parameters themselves (with the in-memory step's names) and otherwise run
// the in-memory step unchanged.
using BackedFn = std::function<void(AnnData&, BackedX&)>;
using BackedFactory = std::function<BackedFn(Params&)>;

std::map<std::string, BackedFactory> backed_steps() {
  std::map<std::string, BackedFactory> s;
  s["write"] = [](Params& p) -> BackedFn {
    const auto path = p.required<std::string>("path");
    const int level = write_compression_level(p);
    return [=](AnnData& ad, BackedX& b) {
      bk::write_h5ad_from_blocks(ad, *b.x, path, {.compression = level}, b.blocks);
    };
  };
  s["subset"] = [](Params& p) -> BackedFn {
    auto obs = p.opt<std::string>("obs");
    auto var = p.opt<std::string>("var");
    return [=](AnnData& ad, BackedX& b) {
      std::optional<Indices> oi, vi;
      if (obs) oi = indices_from_mask(eval_mask(ad.obs, *obs));
      if (var) vi = indices_from_mask(eval_mask(ad.var, *var));
      b.x = bk::subset(ad, b.x, oi, vi);
    };
  };
  s["pp.calculate_qc_metrics"] = [](Params& p) -> BackedFn {
    const pp::CalculateQcMetricsOptions o = qc_step_options(p);
    return [o](AnnData& ad, BackedX& b) { bk::calculate_qc_metrics(ad, *b.x, o, b.blocks); };
  };
  s["pp.filter_cells"] = [](Params& p) -> BackedFn {
    const pp::FilterCellsOptions o = filter_cells_step_options(p);
    return [o](AnnData& ad, BackedX& b) {
      const pp::FilterResult r = bk::filter_cells(ad, *b.x, o, b.blocks);
      b.x = bk::subset(ad, b.x, indices_from_mask(r.keep), std::nullopt);
    };
  };
  s["pp.filter_genes"] = [](Params& p) -> BackedFn {
    const pp::FilterGenesOptions o = filter_genes_step_options(p);
    return [o](AnnData& ad, BackedX& b) {
      const pp::FilterResult r = bk::filter_genes(ad, *b.x, o, b.blocks);
      b.x = bk::subset(ad, b.x, std::nullopt, indices_from_mask(r.keep));
    };
  };
  s["pp.normalize_total"] = [](Params& p) -> BackedFn {
    const pp::NormalizeTotalOptions o = normalize_total_step_options(p);
    return [o](AnnData& ad, BackedX& b) { b.x = bk::normalize_total(ad, b.x, o, b.blocks); };
  };
  s["pp.log1p"] = [](Params& p) -> BackedFn {
    const auto base = p.opt<double>("base");
    const auto layer = p.opt<std::string>("layer");
    return [base, layer](AnnData& ad, BackedX& b) {
      if (layer) throw ValueError("pp.log1p: layers are not available on a backed X");
      b.x = bk::log1p(ad, b.x, base);
    };
  };
  s["pp.highly_variable_genes"] = [](Params& p) -> BackedFn {
    pp::HighlyVariableGenesOptions o = hvg_step_options(p);
    const bool subset = o.subset;  // done on the backed source after the statistics
    o.subset = false;
    return [o, subset](AnnData& ad, BackedX& b) {
      const pp::HvgResult r = bk::highly_variable_genes(ad, *b.x, o, b.blocks);
      if (subset) b.x = bk::subset(ad, b.x, std::nullopt, indices_from_mask(r.highly_variable));
    };
  };
  s["pp.pca"] = [](Params& p) -> BackedFn {
    const pp::PcaOptions o = pca_step_options(p);
    // Backed only: run the Lanczos iteration over the blocks instead of
    // gathering the used genes into memory.
    const bool streaming = p.get<bool>("streaming", false);
    return [o, streaming](AnnData& ad, BackedX& b) {
      bk::pca(ad, *b.x, o, {.streaming = streaming, .blocks = b.blocks});
    };
  };
  return s;
}

// Steps that read or rewrite X as a whole: refused up front on a backed X.
bool needs_x(const std::string& name) {
  static const std::set<std::string> names = {
      "raw", "pp.combat", "pp.downsample_counts", "pp.filter_genes_dispersion", "pp.normalize_per_cell",
      "pp.recipe_seurat", "pp.recipe_weinreb17", "pp.recipe_zheng17", "pp.regress_out", "pp.scale", "pp.scrublet",
      "pp.scrublet_simulate_doublets", "pp.subsample", "tl.rank_genes_groups", "tl.score_genes",
      "tl.score_genes_cell_cycle", "tl.ingest", "pl.highest_expr_genes"};
  return names.count(name) > 0;
}

}  // namespace

void release_backed(const AnnData& ad) {
  std::lock_guard<std::mutex> lock(table_mutex());
  table().erase(&ad);
}

bool is_backed(const AnnData& ad) { return backed_of(ad) != nullptr; }

void write_result(const AnnData& ad, const std::string& path) {
  if (BackedX* b = backed_of(ad)) bk::write_h5ad_from_blocks(ad, *b->x, path, {}, b->blocks);
  else io::write(ad, path);
}

void add_backed_steps(StepTable& t) {
  // read: {path, backed: r, block_mb: 128}
  t["read"] = [orig = t.at("read")](Params& p) -> StepFn {
    const auto backed = p.opt<std::string>("backed");
    if (!backed) {
      StepFn f = orig(p);
      return [f](AnnData& ad) {
        release_backed(ad);  // a later in-memory read replaces an on-disk X
        f(ad);
      };
    }
    if (*backed != "r") p.fail("backed must be 'r' (read-only; the input file is never changed)");
    const auto path = p.required<std::string>("path");
    const auto fmt = p.get<std::string>("format", "auto");
    if (fmt != "auto" && fmt != "h5ad") p.fail("backed reading needs an .h5ad file (format h5ad)");
    const double mb = p.get<double>("block_mb", 128.0);
    if (!(mb > 0)) p.fail("block_mb must be positive");
    return [path, mb](AnnData& ad) {
      io::OpenedBacked o = io::open_backed(path);
      ad = std::move(o.meta);
      set_backed(ad, {o.x, {.budget_bytes = static_cast<int64_t>(mb * (1 << 20))}});
    };
  };
  const auto backed = backed_steps();
  for (auto& [name, factory] : t) {
    if (name == "read") continue;
    auto it = backed.find(name);
    if (it != backed.end()) {
      factory = [orig = factory, bf = it->second](Params& p) -> StepFn {
        StepFn mem = orig(p);  // checks the parameters as in memory
        BackedFn fb = bf(p);
        return [mem, fb](AnnData& ad) {
          if (BackedX* b = backed_of(ad)) fb(ad, *b);
          else mem(ad);
        };
      };
      continue;
    }
    factory = [orig = factory, step = name](Params& p) -> StepFn {
      StepFn mem = orig(p);
      // Steps that use only obsm/obsp/uns (neighbors on X_pca, umap, leiden,
      // ...) run as they are on a backed X; f runs the step (or its start).
      const auto on_backed = [step](auto&& f) {
        if (needs_x(step))
          throw ValueError(step + " needs X in memory, but X was read backed (read: {backed: r}); use read without "
                                  "backed, or write the streamed result and read that");
        try {
          return f();
        } catch (const Error& e) {
          throw ValueError(std::string(e.what()) + " (X was read backed and stays on disk: if " + step +
                           " needs X, use read without backed)");
        }
      };
      const auto in_turn = [on_backed, step](StepFn fn) -> StepFn {
        return [fn, on_backed, step](AnnData& ad) {
          // Steps that make a new AnnData (datasets.*) replace an on-disk X.
          if (step.rfind("datasets.", 0) == 0) release_backed(ad);
          if (!backed_of(ad)) return fn(ad);
          on_backed([&] { fn(ad); });
        };
      };
      if (const AheadStep* ahead = mem.target<AheadStep>()) {  // stays one (the pipeline runs it ahead)
        return AheadStep{[start = ahead->start, on_backed](const AnnData& ad) -> AheadStep::Work {
                           if (!backed_of(ad)) return start(ad);
                           return on_backed([&] { return start(ad); });
                         },
                         in_turn(ahead->in_turn)};
      }
      return in_turn(mem);
    };
  }
}

}  // namespace scanpp::pipeline
