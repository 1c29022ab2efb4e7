#include "scanpp/pipeline/ahead_plan.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace scanpp::pipeline {

namespace {

// Steps that write only graphs, clusterings, rankings and other layouts
// (obsp, obs columns, uns, their own obsm key) and plots.
bool changes_no_input(const std::string& name) {
  static const std::set<std::string> tl = {"pp.neighbors",  "tl.umap",     "tl.leiden",
                                           "tl.louvain",    "tl.paga",     "tl.draw_graph",
                                           "tl.diffmap",    "tl.dpt",      "tl.dendrogram",
                                           "tl.rank_genes_groups", "tl.filter_rank_genes_groups"};
  return tl.count(name) > 0 || name.rfind("pl.", 0) == 0;
}

bool mentions(const std::string& text, const std::string& word) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find(word) != std::string::npos;
}

// What the step's outputs are called: "tl.tsne" writes X_tsne and tsne.
std::string output_word(const std::string& name) { return name.substr(name.find('.') + 1); }

}  // namespace

std::vector<int> plan_ahead(const std::vector<AheadCandidate>& steps) {
  std::vector<int> start(steps.size(), -1);
  int busy_until = -1;  // the last ahead step's turn: the next starts after it
  for (int t = 0; t < static_cast<int>(steps.size()); ++t) {
    const AheadCandidate& ahead = steps[static_cast<size_t>(t)];
    if (!ahead.can_run_ahead) continue;
    std::vector<std::string> outputs = {output_word(ahead.name)};
    if (!ahead.key_added.empty()) outputs.push_back(ahead.key_added);
    const auto mentions_output = [&](const std::string& text) {
      return std::any_of(outputs.begin(), outputs.end(), [&](const std::string& w) { return mentions(text, w); });
    };
    int from = t;
    while (from - 1 > busy_until) {
      const AheadCandidate& s = steps[static_cast<size_t>(from - 1)];
      if (!changes_no_input(s.name) || !s.key_added.empty() || mentions_output(s.name)) break;
      if (std::any_of(s.strings.begin(), s.strings.end(), mentions_output)) break;
      const std::string theirs = output_word(s.name);
      if (std::any_of(ahead.strings.begin(), ahead.strings.end(),
                      [&](const std::string& v) { return mentions(v, theirs); }))
        break;
      --from;
    }
    if (from < t) {
      start[static_cast<size_t>(t)] = from;
      busy_until = t;
    }
  }
  return start;
}

}  // namespace scanpp::pipeline
