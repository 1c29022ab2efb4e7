// AnnData::subset_inplace cuts everything within the object (sparse matrices
// in their own buffers, untouched slots not copied) and must equal subset();
// freeze_raw copies a sparse X's buffers and var side by side and must equal
// a plain copy. Bad indices leave the object as it was.
#include <gtest/gtest.h>

#include <random>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/sparse.hpp"

using namespace scanpp;

namespace {

Array random_dense(int64_t n, int64_t p, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n * p));
  for (auto& x : v) x = u(gen) < 0.7f ? 0.f : 1.f + 10.f * u(gen);
  return Array::from_vector(v, {n, p});
}

// 30 cells x 20 genes with every slot filled, a categorical obs column whose
// categories a cell subset can drop (with their colours), and a raw.
AnnData full_adata() {
  const int64_t n = 30, p = 20;
  AnnData ad{Element(dense_to_csr(random_dense(n, p, 1)))};
  std::vector<std::string> group(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) group[static_cast<size_t>(i)] = i < 3 ? "rare" : (i % 2 ? "a" : "b");
  ad.obs.set("group", Categorical::from_strings(group));
  ad.obs.set_array("score", std::vector<double>(static_cast<size_t>(n), 0.5));
  std::vector<double> gm(static_cast<size_t>(p));
  for (int64_t g = 0; g < p; ++g) gm[static_cast<size_t>(g)] = static_cast<double>(g);
  ad.var.set_array("mean", gm);
  ad.uns["group_colors"] = StringArray{{"#aaaaaa", "#bbbbbb", "#cccccc"}, {}};
  ad.uns["note"] = Array::scalar(3.0);
  ad.layers["counts"] = Element(dense_to_csr(random_dense(n, p, 2)));
  ad.layers["dense"] = Element(random_dense(n, p, 3));
  ad.obsm["X_pca"] = Element(random_dense(n, 4, 4));
  ad.varm["PCs"] = Element(random_dense(p, 4, 5));
  ad.obsp["distances"] = Element(dense_to_csr(random_dense(n, n, 6)));
  ad.varp["corr"] = Element(random_dense(p, p, 7));
  ad.freeze_raw();
  ad.X = Element(dense_to_csr(random_dense(n, p, 8)));  // X moves on after the freeze
  return ad;
}

}  // namespace

TEST(SubsetInplace, EqualsSubsetForEveryAxisCombination) {
  const AnnData base = full_adata();
  Indices cells, genes;
  for (int64_t i = 3; i < 30; i += 2) cells.push_back(i);  // drops "rare" and "b"
  for (int64_t g = 0; g < 20; g += 3) genes.push_back(g);
  const std::optional<Indices> none;
  for (const auto& [oi, vi] : {std::pair{std::optional(cells), none}, std::pair{none, std::optional(genes)},
                               std::pair{std::optional(cells), std::optional(genes)}}) {
    const AnnData expect = base.subset(oi, vi);
    AnnData got = base;
    got.subset_inplace(oi, vi);
    EXPECT_TRUE(got == expect) << (oi ? "cells " : "") << (vi ? "genes" : "");
    got.validate();
  }
  // The categories no cell keeps go, with their colours.
  AnnData cut = base;
  cut.subset_inplace(cells, std::nullopt);
  EXPECT_EQ(std::get<Categorical>(cut.obs.at("group")).n_categories(), 1);
  EXPECT_EQ(cut.uns.at("group_colors").get<StringArray>().values.size(), 1u);
  EXPECT_EQ(cut.raw->X->get<SparseMatrix>().n_rows, 14);
  EXPECT_EQ(cut.raw->var.n_rows(), 20);
}

TEST(SubsetInplace, BadIndicesLeaveTheObjectAsItWas) {
  const AnnData base = full_adata();
  AnnData a = base;
  EXPECT_THROW(a.subset_inplace(Indices{0, 30}, std::nullopt), ValueError);
  EXPECT_THROW(a.subset_inplace(std::nullopt, Indices{-1}), ValueError);
  EXPECT_TRUE(a == base);
}

TEST(FreezeRaw, CopiesSparseAndDenseXWithAnyThreadCount) {
  AnnData sparse = full_adata();
  const int before = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    AnnData a = sparse;
    a.freeze_raw();
    ASSERT_TRUE(a.raw && a.raw->X);
    EXPECT_TRUE(*a.raw->X == *sparse.X);
    EXPECT_TRUE(a.raw->var == sparse.var);
    EXPECT_TRUE(a.raw->varm == sparse.varm);
    // The copy is independent of X.
    a.X->get<SparseMatrix>().data.as<float>()[0] += 1.f;
    EXPECT_FALSE(*a.raw->X == *a.X);
  }
  set_num_threads(before);
  AnnData dense{Element(random_dense(5, 4, 9))};
  dense.freeze_raw();
  EXPECT_TRUE(*dense.raw->X == *dense.X);
  AnnData empty;
  empty.freeze_raw();
  EXPECT_FALSE(empty.raw->X.has_value());
}
