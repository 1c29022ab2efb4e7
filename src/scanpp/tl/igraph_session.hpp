#pragma once
// Running an igraph algorithm safely from scanpp: igraph's random generator
// and error handler are process-wide, so one session at a time holds them,
// seeds the generator, makes errors return codes instead of aborting the
// process, and turns the EdgeList into an igraph_t freed on every path.
#include <igraph/igraph.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "scanpp/tl/cluster_labels.hpp"

namespace scanpp::tl {

class IgraphSession {
 public:
  // Locks the session mutex, installs the "ignore" error handler and seeds
  // igraph's default generator with `seed`.
  explicit IgraphSession(uint64_t seed);
  ~IgraphSession();
  IgraphSession(const IgraphSession&) = delete;
  IgraphSession& operator=(const IgraphSession&) = delete;

  // Throws scanpp::Error naming `what` when rc is not IGRAPH_SUCCESS.
  static void check(igraph_error_t rc, const std::string& what);

 private:
  std::unique_lock<std::mutex> lock_;
  igraph_error_handler_t* old_error_handler_;
  igraph_warning_handler_t* old_warning_handler_;
};

// An undirected igraph_t with its edge weights, built from an EdgeList.
class IgraphGraph {
 public:
  explicit IgraphGraph(const EdgeList& edges);
  ~IgraphGraph();
  IgraphGraph(const IgraphGraph&) = delete;
  IgraphGraph& operator=(const IgraphGraph&) = delete;
  const igraph_t* graph() const { return &graph_; }
  const igraph_vector_t* weights() const { return &weights_; }

 private:
  igraph_t graph_;
  igraph_vector_t weights_;
};

}  // namespace scanpp::tl
