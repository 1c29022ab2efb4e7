// sc.get.rank_genes_groups_df.
#include "scanpp/get/rank_genes_groups_df.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <unordered_map>

#include "scanpp/core/error.hpp"
#include "scanpp/io/atomic_file.hpp"

namespace scanpp::get {

int64_t RankGenesGroupsDf::n_rows() const {
  if (columns.empty()) return 0;
  return std::visit([](auto& v) { return static_cast<int64_t>(v.size()); }, columns.front().values);
}

const DfColumn& RankGenesGroupsDf::column(const std::string& name) const {
  for (auto& c : columns)
    if (c.name == name) return c;
  throw KeyError("rank_genes_groups_df: no column '" + name + "'");
}

namespace {

const RecArray& rec(const Dict& d, const std::string& name, const std::string& key) {
  auto it = d.find(name);
  if (it == d.end() || !it->second.is<RecArray>())
    throw KeyError("rank_genes_groups_df: uns['" + key + "'] has no record array '" + name + "'");
  return it->second.get<RecArray>();
}

const RecArray::Field& field(const RecArray& r, const std::string& group, const std::string& what) {
  for (auto& f : r.fields)
    if (f.name == group) return f;
  throw KeyError("rank_genes_groups_df: group '" + group + "' is not in the result's " + what);
}

std::vector<double> numbers(const RecArray::Field& f) {
  if (!std::holds_alternative<Array>(f.values)) throw ValueError("rank_genes_groups_df: field '" + f.name + "' is not numeric");
  return std::get<Array>(f.values).to_vector<double>();
}

}  // namespace

RankGenesGroupsDf rank_genes_groups_df(const AnnData& adata, const RankGenesGroupsDfOptions& opt) {
  auto it = adata.uns.find(opt.key);
  if (it == adata.uns.end() || !it->second.is<Dict>())
    throw KeyError("rank_genes_groups_df: uns['" + opt.key + "'] not found; run tl.rank_genes_groups first");
  const Dict& res = it->second.get<Dict>();
  std::string method;
  if (auto p = res.find("params"); p != res.end() && p->second.is<Dict>()) {
    const Dict& params = p->second.get<Dict>();
    if (auto m = params.find("method"); m != params.end() && m->second.is<std::string>()) method = m->second.get<std::string>();
  }
  const bool logreg = method == "logreg" || !res.count("pvals");
  const RecArray& names = rec(res, "names", opt.key);
  std::vector<std::string> groups = opt.groups;
  if (groups.empty())
    for (auto& f : names.fields) groups.push_back(f.name);

  std::vector<std::string> col_group, col_names;
  std::vector<float> col_scores, col_lfc;
  std::vector<double> col_p, col_padj;
  for (auto& g : groups) {
    const auto& nf = field(names, g, "names");
    if (!std::holds_alternative<std::vector<std::string>>(nf.values))
      throw ValueError("rank_genes_groups_df: names field '" + g + "' is not text");
    const auto& nm = std::get<std::vector<std::string>>(nf.values);
    const auto sc = numbers(field(rec(res, "scores", opt.key), g, "scores"));
    std::vector<double> lfc, p, padj;
    if (!logreg) {
      lfc = numbers(field(rec(res, "logfoldchanges", opt.key), g, "logfoldchanges"));
      p = numbers(field(rec(res, "pvals", opt.key), g, "pvals"));
      padj = numbers(field(rec(res, "pvals_adj", opt.key), g, "pvals_adj"));
    }
    for (size_t k = 0; k < nm.size(); ++k) {
      if (!logreg) {
        // Comparisons with NaN are false, so NaN rows drop as in pandas.
        if (opt.pval_cutoff && !(padj[k] < *opt.pval_cutoff)) continue;
        if (opt.log2fc_min && !(lfc[k] > *opt.log2fc_min)) continue;
        if (opt.log2fc_max && !(lfc[k] < *opt.log2fc_max)) continue;
      }
      col_group.push_back(g);
      col_names.push_back(nm[k]);
      col_scores.push_back(static_cast<float>(sc[k]));
      if (!logreg) {
        col_lfc.push_back(static_cast<float>(lfc[k]));
        col_p.push_back(p[k]);
        col_padj.push_back(padj[k]);
      }
    }
  }
  RankGenesGroupsDf df;
  if (groups.size() > 1) df.columns.push_back({"group", col_group});
  df.columns.push_back({"names", col_names});
  df.columns.push_back({"scores", std::move(col_scores)});
  if (!logreg) {
    df.columns.push_back({"logfoldchanges", std::move(col_lfc)});
    df.columns.push_back({"pvals", std::move(col_p)});
    df.columns.push_back({"pvals_adj", std::move(col_padj)});
  }
  if (opt.gene_symbols) {
    if (!adata.var.has(*opt.gene_symbols))
      throw KeyError("rank_genes_groups_df: gene_symbols '" + *opt.gene_symbols + "' is not a var column");
    const Column& c = adata.var.at(*opt.gene_symbols);
    std::unordered_map<std::string, int64_t> pos;
    for (size_t i = 0; i < adata.var_names().size(); ++i) pos.emplace(adata.var_names()[i], static_cast<int64_t>(i));
    std::vector<std::string> sym;
    for (auto& n : col_names) {
      auto p = pos.find(n);
      sym.push_back(p == pos.end() ? "" : column_cell_text(c, p->second));
    }
    df.columns.push_back({*opt.gene_symbols, std::move(sym)});
  }
  // pts frames are genes x groups indexed by gene name (Scanpy 1.11); rows
  // whose gene or group is missing from a frame are dropped, as the merge does.
  std::vector<bool> keep(col_names.size(), true);
  for (auto [key, name] : {std::pair<const char*, const char*>{"pts", "pct_nz_group"}, {"pts_rest", "pct_nz_reference"}}) {
    auto f = res.find(key);
    if (f == res.end() || !f->second.is<DataFrame>()) continue;
    const DataFrame& pts = f->second.get<DataFrame>();
    std::unordered_map<std::string, size_t> pos;
    for (size_t i = 0; i < pts.index().size(); ++i) pos.emplace(pts.index()[i], i);
    std::map<std::string, std::vector<double>> cols;
    std::vector<double> out(col_names.size(), std::nan(""));
    for (size_t r = 0; r < col_names.size(); ++r) {
      const std::string& g = col_group[r];
      if (!pts.has(g)) throw KeyError(std::string("rank_genes_groups_df: ") + key + " has no column '" + g + "'");
      auto c = cols.find(g);
      if (c == cols.end()) c = cols.emplace(g, pts.numeric(g)).first;
      auto p = pos.find(col_names[r]);
      if (p == pos.end()) keep[r] = false;
      else out[r] = c->second[p->second];
    }
    df.columns.push_back({name, std::move(out)});
  }
  if (std::find(keep.begin(), keep.end(), false) != keep.end()) {
    for (auto& c : df.columns)
      std::visit(
          [&](auto& v) {
            std::remove_reference_t<decltype(v)> kept;
            for (size_t r = 0; r < v.size(); ++r)
              if (keep[r]) kept.push_back(v[r]);
            v = std::move(kept);
          },
          c.values);
  }
  return df;
}

namespace {

template <class T>
std::string number_text(T v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  // Python writes integral floats as "1.0".
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string quoted(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

}  // namespace

void write_csv(const RankGenesGroupsDf& df, const std::string& path) {
  io::AtomicFile file(path);
  {
    std::ofstream out(file.temp_path());
    if (!out) throw Error("rank_genes_groups_df: cannot write '" + path + "'");
    for (size_t c = 0; c < df.columns.size(); ++c) out << (c ? "," : "") << quoted(df.columns[c].name);
    out << '\n';
    const int64_t n = df.n_rows();
    for (int64_t r = 0; r < n; ++r) {
      for (size_t c = 0; c < df.columns.size(); ++c) {
        if (c) out << ',';
        std::visit(
            [&](auto& v) {
              using V = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<V, std::vector<std::string>>) out << quoted(v[r]);
              else out << number_text(v[r]);
            },
            df.columns[c].values);
      }
      out << '\n';
    }
    out.flush();
    if (!out) throw Error("rank_genes_groups_df: error writing '" + path + "'");
  }
  file.commit();
}

}  // namespace scanpp::get
