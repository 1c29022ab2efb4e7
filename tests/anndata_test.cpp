// The data model: sparse conversions, DataFrame columns, subsetting every slot
// consistently, and anndata's make_unique / natural ordering rules.
#include "scanpp/core/anndata.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "example_adata.hpp"

using namespace scanpp;

namespace {
SparseMatrix small_csr() {
  // [[1 0 2], [0 0 0], [0 3 0], [4 5 0]]
  return SparseMatrix{SparseFormat::CSR, 4, 3, Array::from_vector(std::vector<float>{1, 2, 3, 4, 5}), {0, 2, 1, 0, 1},
                      {0, 2, 2, 3, 5}};
}
}  // namespace

TEST(Sparse, ConvertTransposeDenseRoundTrips) {
  SparseMatrix m = small_csr();
  m.validate();
  SparseMatrix csc = convert_format(m, SparseFormat::CSC);
  EXPECT_EQ(csc.indptr, (std::vector<int64_t>{0, 2, 4, 5}));
  EXPECT_EQ(csc.indices, (std::vector<int32_t>{0, 3, 2, 3, 0}));
  EXPECT_TRUE(convert_format(csc, SparseFormat::CSR) == m);
  EXPECT_TRUE(to_dense(csc) == to_dense(m));
  EXPECT_EQ(to_dense(m).to_vector<float>(), (std::vector<float>{1, 0, 2, 0, 0, 0, 0, 3, 0, 4, 5, 0}));
  EXPECT_TRUE(dense_to_csr(to_dense(m)) == m);
  SparseMatrix t = transpose(m);
  EXPECT_EQ(t.n_rows, 3);
  EXPECT_EQ(to_dense(t).to_vector<float>(), (std::vector<float>{1, 0, 0, 4, 0, 0, 3, 5, 2, 0, 0, 0}));
}

TEST(Sparse, TakeReordersAndDuplicates) {
  SparseMatrix m = small_csr();
  const std::vector<int64_t> rows{3, 0}, cols{2, 0, 0};
  SparseMatrix s = take(m, rows, cols);
  EXPECT_EQ(to_dense(s).to_vector<float>(), (std::vector<float>{0, 4, 4, 2, 1, 1}));
  SparseMatrix c = take(convert_format(m, SparseFormat::CSC), rows, cols);
  EXPECT_EQ(to_dense(c).to_vector<float>(), to_dense(s).to_vector<float>());
  EXPECT_THROW(take(m, std::vector<int64_t>{4}, cols), ValueError);
}

TEST(Sparse, TakeInplaceEqualsTakeAndFallsBack) {
  // A 40 x 30 matrix with a pseudo-random pattern, cut by sorted masks.
  std::vector<float> dense(40 * 30, 0.f);
  for (size_t i = 0; i < dense.size(); ++i)
    if ((i * 2654435761u) % 7 < 2) dense[i] = static_cast<float>(i % 13 + 1);
  const SparseMatrix m = dense_to_csr(Array::from_vector(dense, {40, 30}));
  std::vector<int64_t> rows, cols, all_cols(30);
  for (int64_t i = 0; i < 40; ++i)
    if (i % 3 != 1) rows.push_back(i);
  for (int64_t j = 0; j < 30; ++j)
    if (j % 4 != 2) cols.push_back(j);
  std::iota(all_cols.begin(), all_cols.end(), 0);
  for (const auto* c : {&cols, &all_cols}) {
    SparseMatrix a = m;
    take_inplace(a, rows, *c);
    EXPECT_TRUE(a == take(m, rows, *c));
    a.validate();
  }
  // Unsorted rows and CSC go through take().
  const std::vector<int64_t> back{5, 2};
  SparseMatrix b = m;
  take_inplace(b, back, cols);
  EXPECT_TRUE(b == take(m, back, cols));
  SparseMatrix c = convert_format(m, SparseFormat::CSC);
  take_inplace(c, rows, cols);
  EXPECT_TRUE(c == take(convert_format(m, SparseFormat::CSC), rows, cols));
}

TEST(Sparse, ValidateNamesTheProblem) {
  SparseMatrix m = small_csr();
  m.indptr[2] = 1;
  try {
    m.validate("f.h5ad", "/X");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "f.h5ad: /X/indptr: is not monotonic at position 2");
  }
  m = small_csr();
  m.indices[4] = 3;
  EXPECT_THROW(m.validate(), InputError);
}

TEST(DataFrame, ColumnsAndTake) {
  DataFrame df(std::vector<std::string>{"a", "b", "c"});
  df.set_array("x", std::vector<double>{1, 2, 3});
  df.set("s", std::vector<std::string>{"p", "q", "r"});
  df.set("c", Categorical::from_strings({"k2", "k10", "k2"}));
  EXPECT_THROW(df.set_array("bad", std::vector<double>{1}), ValueError);
  EXPECT_EQ(df.column_names(), (std::vector<std::string>{"x", "s", "c"}));
  df.set_array("x", std::vector<double>{4, 5, 6});  // replacing keeps the position
  EXPECT_EQ(df.column_names()[0], "x");
  const std::vector<int64_t> rows{2, 0};
  DataFrame t = df.take(rows);
  EXPECT_EQ(t.index(), (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(t.numeric("x"), (std::vector<double>{6, 4}));
  EXPECT_EQ(std::get<Categorical>(t.at("c")).label(0), "k2");
  EXPECT_EQ(std::get<Categorical>(df.at("c")).string_categories(), (std::vector<std::string>{"k2", "k10"}));
  EXPECT_THROW(df.numeric("s"), ValueError);
  EXPECT_THROW(df.at("nope"), KeyError);
  EXPECT_EQ(df.positions({"c", "a"}, "obs"), rows);
  EXPECT_THROW(df.positions({"zz"}, "obs"), KeyError);
}

TEST(DataFrame, NaturalOrderAndMakeUnique) {
  std::vector<std::string> v{"c10", "c2", "c1", "b", "10", "9", "a1b2"};
  std::sort(v.begin(), v.end(), natural_less);
  EXPECT_EQ(v, (std::vector<std::string>{"9", "10", "a1b2", "b", "c1", "c2", "c10"}));
  // anndata: later duplicates get -1, -2, ...; a name already taken is skipped.
  EXPECT_EQ(make_index_unique({"A", "B", "A", "A-1", "A", "B"}),
            (std::vector<std::string>{"A", "B", "A-2", "A-1", "A-3", "B-1"}));
  EXPECT_EQ(make_index_unique({"x", "y"}), (std::vector<std::string>{"x", "y"}));
  // Names are taken even where they come later: the second 'A-1' skips
  // 'A-1-1', the second 'A' skips 'A-1'.
  EXPECT_EQ(make_index_unique({"A-1", "A-1", "A", "A", "A-1-1"}),
            (std::vector<std::string>{"A-1", "A-1-2", "A", "A-2", "A-1-1"}));
}

TEST(AnnDataModel, SubsetKeepsEverySlotConsistent) {
  AnnData ad = scanpp::testing::example_adata();
  ad.validate();
  ad.varp["corr"] = to_dense(SparseMatrix{SparseFormat::CSR, 3, 3, Array::from_vector(std::vector<float>{7, 8}), {2, 0},
                                          {0, 1, 1, 2}});
  AnnData s = ad.subset(Indices{3, 1}, Indices{2, 0});
  s.validate();
  EXPECT_EQ(s.obs_names(), (std::vector<std::string>{"c4", "c2"}));
  EXPECT_EQ(s.var_names(), (std::vector<std::string>{"g3", "g1"}));
  EXPECT_EQ(to_dense(s.X_sparse()).to_vector<float>(), (std::vector<float>{0, 4, 0, 0}));
  EXPECT_EQ(s.layers.at("counts").get<Array>().to_vector<float>(), (std::vector<float>{0, 4, 0, 0}));
  EXPECT_EQ(s.obsm.at("X_pca").get<Array>().to_vector<float>(), (std::vector<float>{7, 8, 3, 4}));
  EXPECT_EQ(s.varm.at("PCs").get<Array>().to_vector<double>(), (std::vector<double>{3, 1}));
  // obsp subset on both axes: distances had (0,1)=1 and (1,0)=2.
  EXPECT_EQ(to_dense(s.obsp.at("distances").get<SparseMatrix>()).to_vector<float>(),
            (std::vector<float>{0, 0, 0, 0}));
  // corr is [[0,0,7],[0,0,0],[8,0,0]]; genes (2, 0) on both axes give [[0,8],[7,0]].
  EXPECT_EQ(s.varp.at("corr").get<Array>().to_vector<float>(), (std::vector<float>{0, 8, 7, 0}));
  // raw keeps all genes, only cells are subset.
  ASSERT_TRUE(s.raw);
  EXPECT_EQ(s.raw->n_vars(), 3);
  EXPECT_EQ(matrix_rows(*s.raw->X), 2);
  // Unused categories (and their colours) go away.
  AnnData one = ad.subset(Indices{1}, std::nullopt);
  EXPECT_EQ(std::get<Categorical>(one.obs.at("cat")).string_categories(), (std::vector<std::string>{"y"}));
  AnnData mask = ad.subset(indices_from_mask({true, false, true, false}), std::nullopt);
  EXPECT_EQ(mask.obs_names(), (std::vector<std::string>{"c1", "c3"}));
  EXPECT_THROW(ad.subset(Indices{9}, std::nullopt), ValueError);
}

TEST(AnnDataModel, ColoursFollowCategories) {
  AnnData ad = scanpp::testing::example_adata();
  ad.uns["cat_colors"] = StringArray{{"#111111", "#222222", "#333333"}, {}};
  AnnData s = ad.subset(Indices{0, 3}, std::nullopt);  // categories x, z remain
  EXPECT_EQ(s.uns.at("cat_colors").get<StringArray>().values, (std::vector<std::string>{"#111111", "#333333"}));
}

TEST(AnnDataModel, ValidateAndSummary) {
  AnnData ad = scanpp::testing::example_adata();
  const std::string sum = ad.summary();
  EXPECT_NE(sum.find("AnnData object with n_obs × n_vars = 4 × 3"), std::string::npos) << sum;
  EXPECT_NE(sum.find("obsm: 'X_pca'"), std::string::npos) << sum;
  EXPECT_NE(sum.find("raw: 4 × 3"), std::string::npos) << sum;
  ad.obsm["bad"] = Array::from_vector(std::vector<float>{1, 2}, {2, 1});
  EXPECT_THROW(ad.validate(), ValueError);
  AnnData dup = scanpp::testing::example_adata();
  dup.obs.index() = {"a", "a", "b", "a"};
  dup.obs_names_make_unique();
  EXPECT_EQ(dup.obs_names(), (std::vector<std::string>{"a", "a-1", "b", "a-2"}));
}
