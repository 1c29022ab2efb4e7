// Pipeline steps: tl.draw_graph.
#include <algorithm>

#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/tl/draw_graph.hpp"

namespace scanpp::pipeline {

void add_draw_graph_steps(StepTable& t) {
  t["tl.draw_graph"] = [](Params& p) -> StepFn {
    tl::DrawGraphOptions o;
    o.layout = p.get<std::string>("layout", o.layout);
    o.init_pos = p.get<std::string>("init_pos", o.init_pos);
    o.root = p.opt<int64_t>("root");
    o.random_state = p.get<int64_t>("random_state", o.random_state);
    o.key_added_ext = p.opt<std::string>("key_added_ext");
    o.neighbors_key = p.get<std::string>("neighbors_key", o.neighbors_key);
    o.obsp = p.opt<std::string>("obsp");
    // Scanpy reads maxiter, else iterations, from its **kwds
    o.maxiter = p.opt<int>("maxiter");
    if (auto it = p.opt<int>("iterations"); it && !o.maxiter) o.maxiter = it;
    const auto& layouts = tl::draw_graph_layouts();
    if (std::find(layouts.begin(), layouts.end(), o.layout) == layouts.end())
      p.fail("unknown layout '" + o.layout + "' (fa, fr, grid_fr, kk, drl, lgl, rt, rt_circular)");
    return [o](AnnData& ad) { tl::draw_graph(ad, o); };
  };
}

}  // namespace scanpp::pipeline
