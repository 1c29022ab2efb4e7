#pragma once
// Which steps of a pipeline run ahead of their turn (pipeline.hpp's
// AheadStep), and from where. A step that can (tl.tsne) starts right after
// the last step before it that might change what it reads or read what it
// writes, and runs on its own thread beside the steps in between; at most one
// runs ahead at a time. Steps in between must be known not to change X, the
// embeddings in obsm or the cells and genes (neighbour graphs, clusterings,
// marker genes, PAGA, other layouts, plots), must not name a key of their
// own (key_added: it could be any obsm key), no parameter of theirs may
// mention the step's outputs (a plot of basis 'tsne', umap's init_pos, the
// step's own key_added), and none of the step's may mention theirs (t-SNE of
// use_rep 'X_umap' waits for tl.umap).
// Results are those of running in turn: the work reads a copy of its input
// and its writes are applied in its turn.
#include <string>
#include <vector>

namespace scanpp::pipeline {

struct AheadCandidate {
  std::string name;                  // step name, e.g. "tl.umap"
  bool can_run_ahead = false;        // its StepFn is an AheadStep
  std::string key_added;             // its key_added parameter, if any
  std::vector<std::string> strings;  // every string among its parameters' values
};

// For each step i: the index of the step before which it starts (< i), or
// -1 when it runs in its turn.
std::vector<int> plan_ahead(const std::vector<AheadCandidate>& steps);

}  // namespace scanpp::pipeline
