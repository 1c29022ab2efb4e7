// tl.paga (model v1.2) against Scanpy 1.11.5's golden group connectivities
// and tree (pbmc3k, groups='leiden').
#include "scanpp/tl/paga.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "golden_support.hpp"
#include "trajectory_support.hpp"
#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"

namespace {

using scanpp::AnnData;
using scanpp::Array;
using scanpp::SparseMatrix;

const AnnData& golden_input() {
  static const AnnData a = [] {
    AnnData g = trajectory_test::golden_graph();
    const AnnData& full = trajectory_test::golden_full();
    g.obs.set("leiden", full.obs.at("leiden"));
    g.uns["golden_leiden_sizes"] = full.uns.at("leiden_sizes");
    return g;
  }();
  return a;
}

// A dense square CSV with a header row and an index column.
std::vector<double> dense_csv(const std::string& rel, int64_t& n) {
  const auto lines = golden::read_lines(golden::shared(rel));
  n = static_cast<int64_t>(lines.size()) - 1;
  std::vector<double> out;
  for (size_t r = 1; r < lines.size(); ++r) {
    const auto f = golden::split_csv(lines[r]);
    for (size_t c = 1; c < f.size(); ++c) out.push_back(std::stod(f[c]));
  }
  return out;
}

double max_dev(const SparseMatrix& m, const std::vector<double>& ref) {
  const Array d = scanpp::to_dense(m);
  double worst = 0;
  for (int64_t k = 0; k < d.size(); ++k) worst = std::max(worst, std::abs(d.get_double(k) - ref[k]));
  return worst;
}

TEST(PagaTest, MatchesScanpyOnPbmc3k) {
  AnnData a = golden_input();
  scanpp::tl::paga(a);
  const auto& p = a.uns.at("paga").get<scanpp::Dict>();
  EXPECT_EQ(p.at("groups").get<std::string>(), "leiden");
  const auto& conn = p.at("connectivities").get<SparseMatrix>();
  const auto& tree = p.at("connectivities_tree").get<SparseMatrix>();
  int64_t n = 0;
  const auto ref = dense_csv("golden/pbmc3k/paga_connectivities.csv", n);
  ASSERT_EQ(conn.n_rows, n);
  const double dc = max_dev(conn, ref);
  int64_t nt = 0;
  const auto ref_tree = dense_csv("golden/pbmc3k/paga_connectivities_tree.csv", nt);
  ASSERT_EQ(tree.n_rows, nt);
  const double dt = max_dev(tree, ref_tree);
  std::printf("max |connectivities - scanpy| = %.3g, max |tree - scanpy| = %.3g (tree edges %lld)\n", dc, dt,
              static_cast<long long>(tree.nnz()));
  EXPECT_LT(dc, 1e-6);
  EXPECT_LT(dt, 1e-6);  // same edges in the same orientation
  EXPECT_EQ(tree.nnz(), n - 1);
  const Array& sizes = a.uns.at("leiden_sizes").get<Array>();
  EXPECT_EQ(sizes.dtype(), scanpp::DType::Int64);
  EXPECT_EQ(sizes.to_vector<int64_t>(), a.uns.at("golden_leiden_sizes").get<Array>().to_vector<int64_t>());
}

// Hand-computed: groups A = {0, 1}, B = {2, 3}; directed edges 0->1, 1->0,
// 2->3, 3->2, 1->2 and a self entry 0->0. e_A = 3 inner + 1 outgoing = 4,
// e_B = 2; v_AB = 1; expected (4 * 2 + 2 * 2) / 3 = 4, so c_AB = 0.25.
TEST(PagaTest, HandComputedExample) {
  std::vector<float> w = {1, 1, 0, 0,  //
                          1, 0, 1, 0,  //
                          0, 0, 0, 1,  //
                          0, 0, 1, 0};
  SparseMatrix d = scanpp::dense_to_csr(Array::from_vector(w, {4, 4}));
  d.data = Array::from_vector(std::vector<float>(static_cast<size_t>(d.nnz()), 0.0f));  // values are ignored
  const std::vector<int32_t> codes = {0, 0, 1, 1};
  const auto r = scanpp::tl::paga_v1_2(d, codes);
  const Array c = scanpp::to_dense(r.connectivities);
  EXPECT_DOUBLE_EQ(c.get_double(1), 0.25);
  EXPECT_DOUBLE_EQ(c.get_double(2), 0.25);
  EXPECT_EQ(c.get_double(0), 0.0);
  EXPECT_EQ(r.sizes, (std::vector<int64_t>{2, 2}));
  // Equal weights both ways: numpy's argsort puts the (0, 1) entry first, so it is kept.
  ASSERT_EQ(r.connectivities_tree.nnz(), 1);
  EXPECT_EQ(r.connectivities_tree.indptr, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_DOUBLE_EQ(r.connectivities_tree.data.get_double(0), 0.25);
}

TEST(PagaTest, BitIdenticalForOneAndTwoThreads) {
  AnnData a1 = golden_input(), a2 = golden_input();
  scanpp::set_num_threads(1);
  scanpp::tl::paga(a1, {.groups = "leiden"});
  scanpp::set_num_threads(2);
  scanpp::tl::paga(a2, {.groups = "leiden"});
  EXPECT_TRUE(a1.uns.at("paga") == a2.uns.at("paga"));
  scanpp::set_num_threads(0);  // back to the default for the suites that follow
}

TEST(PagaTest, BadInputIsRejected) {
  AnnData a = golden_input();
  EXPECT_THROW(scanpp::tl::paga(a, {.groups = "nope"}), scanpp::KeyError);
  EXPECT_THROW(scanpp::tl::paga(a, {.model = "v1.0"}), scanpp::ValueError);
  EXPECT_THROW(scanpp::tl::paga(a, {.use_rna_velocity = true}), scanpp::ValueError);
  EXPECT_THROW(scanpp::tl::paga(a, {.neighbors_key = "nope"}), scanpp::KeyError);
  a.obs.remove("leiden");
  EXPECT_THROW(scanpp::tl::paga(a), scanpp::ValueError);
}

}  // namespace
