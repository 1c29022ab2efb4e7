#include "scanpp/tl/igraph_session.hpp"

#include "scanpp/core/error.hpp"

namespace scanpp::tl {

namespace {
std::mutex& session_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

IgraphSession::IgraphSession(uint64_t seed) : lock_(session_mutex()) {
  old_error_handler_ = igraph_set_error_handler(igraph_error_handler_ignore);
  old_warning_handler_ = igraph_set_warning_handler(igraph_warning_handler_ignore);
  check(igraph_rng_seed(igraph_rng_default(), static_cast<igraph_uint_t>(seed)), "seeding igraph's generator");
}

IgraphSession::~IgraphSession() {
  igraph_set_error_handler(old_error_handler_);
  igraph_set_warning_handler(old_warning_handler_);
}

void IgraphSession::check(igraph_error_t rc, const std::string& what) {
  if (rc != IGRAPH_SUCCESS) throw Error("igraph failed while " + what + ": " + igraph_strerror(rc));
}

IgraphGraph::IgraphGraph(const EdgeList& edges) {
  const auto m = static_cast<igraph_integer_t>(edges.weight.size());
  igraph_vector_int_t ends;
  IgraphSession::check(igraph_vector_int_init(&ends, 2 * m), "allocating edges");
  for (igraph_integer_t e = 0; e < m; ++e) {
    VECTOR(ends)[2 * e] = edges.from[e];
    VECTOR(ends)[2 * e + 1] = edges.to[e];
  }
  const igraph_error_t rc = igraph_create(&graph_, &ends, edges.n_vertices, IGRAPH_UNDIRECTED);
  igraph_vector_int_destroy(&ends);
  IgraphSession::check(rc, "building the graph");
  if (igraph_vector_init(&weights_, m) != IGRAPH_SUCCESS) {
    igraph_destroy(&graph_);
    throw Error("igraph failed while allocating edge weights");
  }
  for (igraph_integer_t e = 0; e < m; ++e) VECTOR(weights_)[e] = edges.weight[e];
}

IgraphGraph::~IgraphGraph() {
  igraph_vector_destroy(&weights_);
  igraph_destroy(&graph_);
}

}  // namespace scanpp::tl
