// pp.pca against Scanpy 1.11.5's PBMC 3k results (X_scaled.npy → X_pca.npy,
// pca_variance.csv, pca_loadings_first5.csv, the h5ad's uns/varm entries),
// against an independent dense SVD (Eigen's BDCSVD of the explicitly
// centred matrix), sparse = dense, solvers against each other, and
// 1 thread = 2 threads bit for bit.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "scanpp/core/parallel.hpp"
#include "scanpp/io/h5ad.hpp"
#include "scanpp/io/npy.hpp"
#include "golden_support.hpp"
#include "test_paths.hpp"
#include "scanpp/pp/pca.hpp"
#include "scanpp/pp/pca_operator.hpp"

using namespace scanpp;
using scanpp::pp::PcaOptions;
using scanpp::pp::PcaSolver;

namespace {

std::string golden_path(const std::string& f) { return scanpp::testing::shared("golden/pbmc3k/" + f); }

const Array& scaled_x() {
  static const Array X = io::read_npy(golden_path("X_scaled.npy"));
  return X;
}

const pp::PcaResult& golden_arpack() {
  static const pp::PcaResult r = pp::pca(scaled_x(), {});
  return r;
}

// Rows of a CSV file split on commas (no quoting in these files).
std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    rows.push_back(f);
  }
  return rows;
}

double column(const Array& a, int64_t i, int64_t c) { return a.get_double(i * a.cols() + c); }

// log1p of the first `cells` x `genes` block of the golden filtered counts, as float32.
Array small_lognorm(int64_t cells, int64_t genes) {
  const SparseMatrix counts = io::read_sparse_npz(golden_path("counts_filtered_csr.npz"));
  const Array dense = to_dense(counts);
  Array out(DType::Float32, {cells, genes});
  auto o = out.as<float>();
  // Start at gene 2000 where the counts are not all zero.
  for (int64_t i = 0; i < cells; ++i)
    for (int64_t g = 0; g < genes; ++g)
      o[static_cast<size_t>(i * genes + g)] =
          static_cast<float>(std::log1p(dense.get_double(i * counts.n_cols + 2000 + g)));
  return out;
}

// Reference: BDCSVD of the explicitly centred (or not) matrix in double.
struct RefSvd {
  Eigen::MatrixXd scores, V;
  Eigen::VectorXd s;
};
RefSvd reference_svd(const Array& X, bool center) {
  const int64_t n = X.rows(), p = X.cols();
  Eigen::MatrixXd M(n, p);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < p; ++j) M(i, j) = X.get_double(i * p + j);
  if (center) M.rowwise() -= M.colwise().mean();
  Eigen::BDCSVD<Eigen::MatrixXd> svd(M, Eigen::ComputeThinU | Eigen::ComputeThinV);
  RefSvd r{svd.matrixU() * svd.singularValues().asDiagonal(), svd.matrixV(), svd.singularValues()};
  for (int64_t c = 0; c < r.scores.cols(); ++c) {  // scikit-learn 1.2: largest |U| entry positive
    Eigen::Index imax;
    r.scores.col(c).cwiseAbs().maxCoeff(&imax);
    if (r.scores(imax, c) < 0) {
      r.scores.col(c) *= -1;
      r.V.col(c) *= -1;
    }
  }
  return r;
}

// Max |a − b| over the first k score columns, relative to the largest |b|.
double score_error(const Array& a, const Eigen::MatrixXd& b, int64_t k) {
  double err = 0, scale = 0;
  for (int64_t i = 0; i < a.rows(); ++i)
    for (int64_t c = 0; c < k; ++c) {
      err = std::max(err, std::abs(column(a, i, c) - b(i, c)));
      scale = std::max(scale, std::abs(b(i, c)));
    }
  return err / scale;
}

double max_abs_diff(const Array& a, const Array& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.get_double(i) - b.get_double(i)));
  return m;
}

}  // namespace

TEST(PcaGolden, VarianceAndRatioMatchScanpy) {
  const auto& r = golden_arpack();
  ASSERT_EQ(r.variance.dtype(), DType::Float32);
  ASSERT_EQ(r.variance_ratio.dtype(), DType::Float32);
  ASSERT_EQ(r.variance.size(), 50);
  const auto rows = read_csv(golden_path("pca_variance.csv"));
  ASSERT_EQ(rows[0], (std::vector<std::string>{"pc", "variance", "variance_ratio"}));
  double worst_ratio = 0, worst_var = 0;
  for (int64_t c = 0; c < 40; ++c) {
    const double var = std::stod(rows[static_cast<size_t>(c + 1)][1]);
    const double ratio = std::stod(rows[static_cast<size_t>(c + 1)][2]);
    worst_var = std::max(worst_var, std::abs(r.variance.get_double(c) / var - 1));
    worst_ratio = std::max(worst_ratio, std::abs(r.variance_ratio.get_double(c) / ratio - 1));
  }
  EXPECT_LT(worst_ratio, 1e-4);
  EXPECT_LT(worst_var, 1e-4);
  RecordProperty("worst_relative_variance_ratio_error", std::to_string(worst_ratio));
  std::printf("variance_ratio PCs 1-40: max relative error %.3g; variance %.3g\n", worst_ratio, worst_var);
}

TEST(PcaGolden, ScoresCorrelateWithScanpyWithSameSign) {
  const auto& r = golden_arpack();
  const Array ref = io::read_npy(golden_path("X_pca.npy"));
  ASSERT_EQ(r.scores.dtype(), DType::Float32);
  ASSERT_EQ(r.scores.shape(), ref.shape());
  double min10 = 1, min20 = 1;
  for (int64_t c = 0; c < 20; ++c) {
    const double rho = golden::column_correlation(r.scores, c, ref, c);
    if (c < 10) {
      EXPECT_GE(rho, 0.9999) << "PC " << c + 1;  // positive: same sign as Scanpy
      min10 = std::min(min10, rho);
    } else {
      EXPECT_GE(std::abs(rho), 0.99) << "PC " << c + 1;
      min20 = std::min(min20, std::abs(rho));
    }
  }
  std::printf("score correlation with Scanpy: PCs 1-10 min r %.8f, PCs 11-20 min |r| %.6f\n", min10, min20);
}

TEST(PcaGolden, LoadingsMatchScanpy) {
  const auto& r = golden_arpack();
  const auto rows = read_csv(golden_path("pca_loadings_first5.csv"));
  ASSERT_EQ(static_cast<int64_t>(rows.size()) - 1, r.components.cols());
  double worst = 0;
  for (int64_t g = 0; g < r.components.cols(); ++g)
    for (int64_t c = 0; c < 5; ++c) {
      const double ref = std::stod(rows[static_cast<size_t>(g + 1)][static_cast<size_t>(c + 1)]);
      worst = std::max(worst, std::abs(r.components.get_double(c * r.components.cols() + g) - ref));
    }
  EXPECT_LT(worst, 2e-5);
  std::printf("loadings PCs 1-5: max |diff| %.3g\n", worst);
}

TEST(PcaGolden, AnnDataKeysDtypesAndValuesAsScanpy) {
  AnnData ad = io::read_h5ad(golden_path("pbmc3k_scanpy.h5ad"));
  const Array ref_var = ad.uns.at("pca").get<Dict>().at("variance").get<Array>();
  const Array ref_pcs = ad.varm.at("PCs").get<Array>();
  ad.obsm.erase("X_pca");
  ad.varm.erase("PCs");
  ad.uns.erase("pca");
  ASSERT_TRUE(ad.var.has("highly_variable"));
  pp::pca(ad);
  const Array& xp = ad.obsm.at("X_pca").get<Array>();
  EXPECT_EQ(xp.dtype(), DType::Float32);
  EXPECT_EQ(xp.shape(), (std::vector<int64_t>{2638, 50}));
  const Array& pcs = ad.varm.at("PCs").get<Array>();
  EXPECT_EQ(pcs.dtype(), DType::Float64);  // a mask (highly_variable) was used
  EXPECT_EQ(pcs.shape(), (std::vector<int64_t>{1838, 50}));
  const Dict& u = ad.uns.at("pca").get<Dict>();
  const Dict& params = u.at("params").get<Dict>();
  EXPECT_EQ(params.size(), 3u);
  EXPECT_TRUE(params.at("zero_center").get<Array>().scalar_value<Bool8>());
  EXPECT_TRUE(params.at("use_highly_variable").get<Array>().scalar_value<Bool8>());
  EXPECT_EQ(params.at("mask_var").get<std::string>(), "highly_variable");
  const Array& var = u.at("variance").get<Array>();
  EXPECT_EQ(var.dtype(), DType::Float32);
  EXPECT_EQ(u.at("variance_ratio").get<Array>().dtype(), DType::Float32);
  for (int64_t c = 0; c < 40; ++c) EXPECT_NEAR(var.get_double(c) / ref_var.get_double(c), 1.0, 1e-4) << c;
  double worst = 0;  // first 5 loadings against the file's varm/PCs
  for (int64_t g = 0; g < 1838; ++g)
    for (int64_t c = 0; c < 5; ++c) worst = std::max(worst, std::abs(pcs.get_double(g * 50 + c) - ref_pcs.get_double(g * 50 + c)));
  EXPECT_LT(worst, 2e-5);
}

TEST(PcaAnnData, MaskLayerKeyAddedAndNoMask) {
  const Array X = small_lognorm(400, 300);
  AnnData ad{Element(X)};
  std::vector<Bool8> hv(300);
  for (int g = 0; g < 300; ++g) hv[static_cast<size_t>(g)] = Bool8(g % 3 != 0);
  ad.var.set("highly_variable", Array::from_vector(hv));
  ad.layers["lg"] = Element(X);
  pp::pca(ad, {.n_comps = 10, .layer = "lg", .key_added = "mine"});
  const Array& pcs = ad.varm.at("mine").get<Array>();
  ASSERT_EQ(pcs.dtype(), DType::Float64);
  ASSERT_EQ(pcs.shape(), (std::vector<int64_t>{300, 10}));
  // Genes outside the mask have zero loadings; the others equal a PCA of the subset.
  std::vector<int64_t> genes, cells(400);
  for (int64_t g = 0; g < 300; ++g)
    if (g % 3 != 0) genes.push_back(g);
  for (int64_t i = 0; i < 400; ++i) cells[static_cast<size_t>(i)] = i;
  const auto sub = pp::pca(take_2d(Element(X), cells, genes).get<Array>(), {.n_comps = 10});
  for (int64_t g = 0; g < 300; ++g)
    for (int64_t c = 0; c < 10; ++c) {
      if (g % 3 == 0) {
        EXPECT_EQ(pcs.get_double(g * 10 + c), 0.0);
      }
    }
  for (size_t j = 0; j < genes.size(); ++j)
    for (int64_t c = 0; c < 10; ++c)
      EXPECT_EQ(pcs.get_double(genes[j] * 10 + c), sub.components.get_double(c * 200 + static_cast<int64_t>(j)));
  const Dict& params = ad.uns.at("mine").get<Dict>().at("params").get<Dict>();
  EXPECT_EQ(params.at("layer").get<std::string>(), "lg");
  EXPECT_EQ(params.at("mask_var").get<std::string>(), "highly_variable");
  EXPECT_TRUE(ad.obsm.count("mine"));

  // mask_var = "" is Scanpy's None: all genes, PCs keep the float32 dtype, no mask_var param.
  pp::pca(ad, {.n_comps = 5, .mask_var = ""});
  EXPECT_EQ(ad.varm.at("PCs").get<Array>().dtype(), DType::Float32);
  EXPECT_EQ(ad.varm.at("PCs").get<Array>().shape(), (std::vector<int64_t>{300, 5}));
  const Dict& p2 = ad.uns.at("pca").get<Dict>().at("params").get<Dict>();
  EXPECT_EQ(p2.count("mask_var"), 0u);
  EXPECT_FALSE(p2.at("use_highly_variable").get<Array>().scalar_value<Bool8>());

  EXPECT_THROW(pp::pca(ad, {.mask_var = "nope"}), KeyError);
  EXPECT_THROW(pp::pca(ad, {.layer = "nope"}), KeyError);
}

TEST(PcaExact, DenseLanczosMatchesReferenceSvdBothSides) {
  // 600 x 400: gene-side Lanczos; its transpose 400 x 600: cell-side Lanczos;
  // 200 x 150: dense eigensolver.
  const Array X = small_lognorm(600, 400);
  for (int variant = 0; variant < 3; ++variant) {
    Array Y = X;
    if (variant == 1) Y = to_dense(transpose(dense_to_csr(X)));
    if (variant == 2) {
      std::vector<int64_t> r(200), c(150);
      for (int64_t i = 0; i < 200; ++i) r[static_cast<size_t>(i)] = i;
      for (int64_t i = 0; i < 150; ++i) c[static_cast<size_t>(i)] = i;
      Y = take_2d(Element(X), r, c).get<Array>();
    }
    const auto res = pp::pca(Y, {.n_comps = 20, .dtype = DType::Float64});
    const RefSvd ref = reference_svd(Y, true);
    EXPECT_LT(score_error(res.scores, ref.scores, 20), 1e-6) << "variant " << variant;
    const double n1 = static_cast<double>(Y.rows() - 1);
    for (int64_t c = 0; c < 20; ++c)
      EXPECT_NEAR(res.variance.get_double(c), ref.s[c] * ref.s[c] / n1, 1e-5 * ref.s[0] * ref.s[0] / n1);
    // variance_ratio uses the total variance of all genes (= Σ of all S²).
    EXPECT_NEAR(res.variance_ratio.get_double(0), ref.s[0] * ref.s[0] / ref.s.squaredNorm(), 1e-6);
  }
}

TEST(PcaSparse, ImplicitCentringEqualsDense) {
  const Array X = small_lognorm(600, 400);
  const SparseMatrix S = dense_to_csr(X);
  ASSERT_LT(S.nnz(), X.size() / 2);
  for (bool zc : {true, false}) {
    const PcaOptions o{.n_comps = 15, .zero_center = zc, .svd_solver = PcaSolver::Arpack};
    const auto d = pp::pca(X, o), s = pp::pca(S, o);
    const auto c = pp::pca(convert_format(S, SparseFormat::CSC), o);
    double scale = 0;
    for (int64_t i = 0; i < d.scores.size(); ++i) scale = std::max(scale, std::abs(d.scores.get_double(i)));
    EXPECT_LT(max_abs_diff(d.scores, s.scores) / scale, 1e-5) << "zero_center " << zc;
    EXPECT_LT(max_abs_diff(d.scores, c.scores) / scale, 1e-5) << "zero_center " << zc;
    EXPECT_LT(max_abs_diff(d.components, s.components), 1e-5);
    for (int64_t k = 0; k < 15; ++k)
      EXPECT_NEAR(d.variance_ratio.get_double(k) / s.variance_ratio.get_double(k), 1.0, 1e-5);
  }
}

TEST(PcaTruncatedSvd, NoCentringAsScikitLearn) {
  const Array X = small_lognorm(500, 300);
  const auto ex = pp::pca(X, {.n_comps = 8, .zero_center = false, .svd_solver = PcaSolver::Arpack,
                              .dtype = DType::Float64});
  const RefSvd ref = reference_svd(X, false);
  EXPECT_LT(score_error(ex.scores, ref.scores, 8), 1e-6);
  EXPECT_TRUE(ex.mean.empty());
  // variance: ddof-0 variance of each score column; ratio over Σ ddof-0 gene variances.
  double total = 0;
  for (int64_t g = 0; g < 300; ++g) {
    double m = 0, q = 0;
    for (int64_t i = 0; i < 500; ++i) m += X.get_double(i * 300 + g);
    m /= 500;
    for (int64_t i = 0; i < 500; ++i) q += std::pow(X.get_double(i * 300 + g) - m, 2);
    total += q / 500;
  }
  for (int64_t c = 0; c < 8; ++c) {
    const double mean = ref.scores.col(c).mean();
    const double v = (ref.scores.col(c).array() - mean).square().mean();
    EXPECT_NEAR(ex.variance.get_double(c) / v, 1.0, 1e-6);
    EXPECT_NEAR(ex.variance_ratio.get_double(c) / (v / total), 1.0, 1e-6);
  }
  // Default for TruncatedSVD is the randomized solver: close to the exact one.
  const auto rnd = pp::pca(X, {.n_comps = 8, .zero_center = false});
  EXPECT_EQ(rnd.solver, PcaSolver::Randomized);
  for (int64_t c = 0; c < 5; ++c) EXPECT_GT(golden::column_correlation(rnd.scores, c, ex.scores, c), 0.999) << c;
}

// scikit-learn's randomized_svd with 50 components on this matrix (60 columns,
// 7 power iterations) separates PCs 1-6 but not PCs 7-10, whose eigenvalues
// (3.53, 3.23, 3.12, 3.08) lie within 1.5% of their neighbours: a numpy
// re-implementation of it (LU normaliser, RandomState(0)) reaches r = 1, 1, 1,
// 1, 0.99996, 0.99918, 0.9946, 0.977, 0.947, 0.932 against Scanpy's ARPACK
// scores. The same Halko algorithm is required to do at least as well.
TEST(PcaRandomized, AgreesWithArpackOnLeadingComponents) {
  const auto rnd = pp::pca(scaled_x(), {.svd_solver = PcaSolver::Randomized});
  EXPECT_EQ(rnd.solver, PcaSolver::Randomized);
  const auto& ex = golden_arpack();
  const double floor_sklearn[10] = {0.999, 0.999, 0.999, 0.999, 0.999, 0.999, 0.99, 0.97, 0.94, 0.9};
  std::string figures;
  for (int64_t c = 0; c < 10; ++c) {
    const double rho = golden::column_correlation(rnd.scores, c, ex.scores, c);
    EXPECT_GE(rho, floor_sklearn[c]) << "PC " << c + 1;
    figures += " " + std::to_string(rho);
  }
  for (int64_t c = 0; c < 6; ++c)
    EXPECT_NEAR(rnd.variance.get_double(c) / ex.variance.get_double(c), 1.0, 1e-3) << c;
  std::printf("randomized vs arpack, r of PCs 1-10:%s\n", figures.c_str());
  // A different seed gives a different (but equally good) answer.
  const auto rnd1 = pp::pca(scaled_x(), {.svd_solver = PcaSolver::Randomized, .random_state = 1});
  EXPECT_NE(rnd1.scores, rnd.scores);
  EXPECT_GE(golden::column_correlation(rnd1.scores, 0, ex.scores, 0), 0.999);
}

TEST(PcaSolvers, FullAndAutoMatchArpack) {
  const Array X = small_lognorm(600, 400);
  const auto a = pp::pca(X, {.n_comps = 10, .dtype = DType::Float64});
  const auto f = pp::pca(X, {.n_comps = 10, .svd_solver = PcaSolver::Full, .dtype = DType::Float64});
  EXPECT_EQ(f.solver, PcaSolver::Full);
  EXPECT_LT(max_abs_diff(a.scores, f.scores), 1e-6);
  // scikit-learn 1.2 'auto': 10 < 0.8·400 and max(600, 400) > 500 → randomized.
  EXPECT_EQ(pp::pca(X, {.n_comps = 10, .svd_solver = PcaSolver::Auto}).solver, PcaSolver::Randomized);
  EXPECT_EQ(pp::pca(X, {.n_comps = 350, .svd_solver = PcaSolver::Auto}).solver, PcaSolver::Full);
  EXPECT_EQ(pp::pca(dense_to_csr(X), {.n_comps = 10, .svd_solver = PcaSolver::Auto}).solver, PcaSolver::Arpack);
}

TEST(PcaOptionsTest, DefaultsAndErrors) {
  const Array X = small_lognorm(40, 30);
  EXPECT_EQ(pp::pca(X).scores.cols(), 29);  // min(40, 30) ≤ 50 → min − 1
  EXPECT_EQ(pp::pca(small_lognorm(120, 60)).scores.cols(), 50);
  EXPECT_EQ(pp::pca(small_lognorm(120, 50)).scores.cols(), 49);
  EXPECT_THROW(pp::pca(X, {.n_comps = 30}), ValueError);  // arpack needs k < min(n, p)
  EXPECT_EQ(pp::pca(X, {.n_comps = 30, .svd_solver = PcaSolver::Full}).scores.cols(), 30);
  EXPECT_THROW(pp::pca(X, {.n_comps = 0}), ValueError);
  EXPECT_THROW(pp::pca(X, {.chunked = true}), ValueError);
  EXPECT_THROW(pp::pca_solver_from_string("bogus"), ValueError);
  Array bad = X;
  bad.as<float>()[7] = std::nanf("");
  EXPECT_THROW(pp::pca(bad), ValueError);
  // Integer input is converted to float64 (as scikit-learn): float64 outputs.
  const auto ri = pp::pca(X.astype(DType::Int32), {.n_comps = 3});
  EXPECT_EQ(ri.variance.dtype(), DType::Float64);
  EXPECT_EQ(ri.scores.dtype(), DType::Float32);
}

// A tall dense matrix too large to stay in cache (36,000 x 500 float32, 72 MB)
// takes the route that forms Xcᵀ·Xc once and runs Lanczos on it; the sparse
// copy of the same matrix runs Lanczos on X itself.
TEST(PcaExact, TallDenseScatterRouteMatchesLanczosOnX) {
  const Array tile = small_lognorm(600, 500);
  Array X(DType::Float32, {36000, 500});
  auto x = X.as<float>();
  auto t = tile.as<float>();
  for (size_t i = 0; i < x.size(); ++i) {  // 60 copies, each value moved by up to ±1.5%
    const uint64_t h = (i + 1) * 0x9E3779B97F4A7C15ULL;
    x[i] = t[i % t.size()] * static_cast<float>(1.0 + 0.03 * (static_cast<double>(h >> 11) * 0x1.0p-53 - 0.5));
  }
  const auto dense = pp::pca(X, {.n_comps = 20});
  const auto sparse = pp::pca(dense_to_csr(X), {.n_comps = 20});
  double min_r = 1, max_dev = 0;
  for (int64_t c = 0; c < 20; ++c) {
    min_r = std::min(min_r, golden::column_correlation(dense.scores, c, sparse.scores, c));
    max_dev = std::max(max_dev, std::abs(dense.variance_ratio.get_double(c) / sparse.variance_ratio.get_double(c) - 1));
  }
  std::printf("  scatter route vs Lanczos on X: min r %.10f, variance_ratio max rel dev %.2e\n", min_r, max_dev);
  EXPECT_GE(min_r, 0.99999);
  EXPECT_LT(max_dev, 1e-5);
  const int before = num_threads();
  set_num_threads(1);
  const auto one = pp::pca(X, {.n_comps = 20});
  set_num_threads(before);
  EXPECT_EQ(one.scores, dense.scores);
  EXPECT_EQ(one.components, dense.components);
}

// The scatter matrix of float32 data with float32 products per row block
// (what the PBMC 3k PCA uses) against the one summed in double: its lower
// triangle within float precision of the entries' scale, the diagonal exact,
// the upper triangle left zero. PBMC's 2,638 rows make one block; the same
// rows twice make two (blocks of 4,096 rows at this p), summed in double.
TEST(PcaExact, Float32ScatterWithinFloatPrecisionOfDouble) {
  const Array& X1 = scaled_x();
  Array X2(DType::Float32, {2 * X1.shape()[0], X1.shape()[1]});
  std::copy(X1.as<float>().begin(), X1.as<float>().end(), X2.as<float>().begin());
  std::copy(X1.as<float>().begin(), X1.as<float>().end(), X2.as<float>().begin() + X1.size());
  for (const Array* X : std::initializer_list<const Array*>{&X1, &X2}) {
    const auto A = pp::pca_detail::make_dense_operator(*X, true);
    const Eigen::MatrixXd S64 = A->scatter_p();
    const Eigen::MatrixXd S32 = A->scatter_p_lower_f32();
    const int64_t p = S64.rows();
    double worst_off = 0, worst_diag = 0, upper = 0;
    for (int64_t j = 0; j < p; ++j) {
      worst_diag = std::max(worst_diag, std::abs(S32(j, j) / S64(j, j) - 1));
      for (int64_t i = j + 1; i < p; ++i) {
        // Relative to the geometric mean of the two diagonals (|S_ij| is at most that).
        const double scale = std::sqrt(S64(i, i) * S64(j, j));
        worst_off = std::max(worst_off, std::abs(S32(i, j) - S64(i, j)) / scale);
        upper = std::max(upper, std::abs(S32(j, i)));
      }
    }
    std::printf("  float32 scatter, %lld rows: off-diagonal max error %.2e of the scale, diagonal %.2e\n",
                static_cast<long long>(X->shape()[0]), worst_off, worst_diag);
    EXPECT_LT(worst_off, 1e-6);
    EXPECT_LT(worst_diag, 1e-13);
    EXPECT_EQ(upper, 0.0);
    EXPECT_GT(worst_off, 0.0);  // the products really were float32
    // The packed matrix the Lanczos run multiplies by (built without the
    // double matrix for one block) holds the same values: the same products.
    const pp::pca_detail::PackedScatter direct = A->packed_scatter_f32(), via_double(S32);
    std::vector<double> v(static_cast<size_t>(p)), a(v.size()), b(v.size());
    for (int64_t i = 0; i < p; ++i) v[static_cast<size_t>(i)] = std::sin(0.37 * static_cast<double>(i) + 1.0);
    direct.multiply(v.data(), a.data());
    via_double.multiply(v.data(), b.data());
    EXPECT_EQ(a, b);
  }
}

TEST(PcaThreads, OneAndTwoThreadsBitIdentical) {
  const Array X = small_lognorm(1500, 700);
  const SparseMatrix S = dense_to_csr(X);
  const int before = num_threads();
  auto run_all = [&]() {
    std::vector<pp::PcaResult> r;
    r.push_back(pp::pca(scaled_x(), {.n_comps = 20}));
    r.push_back(pp::pca(X, {.n_comps = 20, .svd_solver = PcaSolver::Randomized}));
    r.push_back(pp::pca(S, {.n_comps = 20}));
    r.push_back(pp::pca(S, {.n_comps = 20, .svd_solver = PcaSolver::Randomized}));
    r.push_back(pp::pca(X, {.n_comps = 20, .svd_solver = PcaSolver::Full}));
    return r;
  };
  set_num_threads(1);
  const auto one = run_all();
  set_num_threads(2);
  const auto two = run_all();
  set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].scores, two[i].scores) << "case " << i;
    EXPECT_EQ(one[i].components, two[i].components) << "case " << i;
    EXPECT_EQ(one[i].variance, two[i].variance) << "case " << i;
  }
}
