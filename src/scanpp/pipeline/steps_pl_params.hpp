#pragma once
// Parameter helpers shared by the pl.* pipeline steps.
#include <string>
#include <vector>

#include "scanpp/pipeline/pipeline.hpp"
#include "scanpp/pl/embedding.hpp"

namespace scanpp::pipeline {

// A string or a list of strings (Scanpy accepts both for color, groups, ...).
std::vector<std::string> pl_str_list(Params& p, const std::string& key);
// save (required), dpi, figsize: [w, h].
pl::FigureOptions pl_figure_options(Params& p);
// The single-panel plots' steps (steps_pl_plots.cpp).
void add_pl_plot_steps(StepTable& t);

}  // namespace scanpp::pipeline
