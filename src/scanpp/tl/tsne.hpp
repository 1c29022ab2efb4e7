#pragma once
// tl.tsne: t-distributed stochastic neighbour embedding (van der Maaten &
// Hinton 2008) as Scanpy 1.11 runs it through scikit-learn 1.2's TSNE:
// perplexity-calibrated Gaussian affinities on the 3·perplexity nearest
// neighbours, symmetrised and normalised; PCA start scaled so the first
// coordinate has standard deviation 1e-4; gradient descent with momentum and
// per-parameter gains, early exaggeration 12 for the first 250 iterations
// (momentum 0.5), then momentum 0.8 up to 1000 iterations; Student-t kernel
// with one degree of freedom (the embedding is 2-D).
//
// The repulsive half of the gradient is computed exactly (O(n²), small tests),
// by Barnes–Hut on a quadtree (θ = 0.5, scikit-learn's default; the tree is
// walked once per group of up to 64 nearby points with a criterion that
// implies the per-point one, and the interactions run in float32 vectors) or
// by FFT-accelerated interpolation (FIt-SNE, Linderman et al. 2019) for large
// data. The optimiser's state and every sum are double precision; the
// attraction's terms are float32 except at the progress checks, where the
// error is evaluated (scikit-learn optimises in float32). The result is not
// scikit-learn's bit for bit (it cannot be: its tree and float32 rounding are
// not reproducible outside it), but the objective it minimises is the same.
// The vectorised kernels fix their operation order in code, so the AVX2 and
// baseline builds of them give the same bits. Every parallel loop runs over fixed blocks and every
// sum is reduced in a fixed order: the embedding is bit-identical for any
// thread count.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/anndata.hpp"
#include "scanpp/core/array.hpp"
#include "scanpp/core/sparse.hpp"

namespace scanpp::tl {

enum class TsneMethod { Auto, Exact, BarnesHut, Fft };

// "auto", "exact", "barnes_hut", "fft" (anything else: ValueError).
TsneMethod tsne_method_from_string(const std::string& name);
const char* tsne_method_name(TsneMethod m);
// The method Auto picks for n points: Barnes–Hut up to 10,000, FFT above.
TsneMethod tsne_auto_method(int64_t n);

// Joint probabilities P (n x n CSR, float64, symmetric, summing to 1) of the
// rows of X (n x d, float32/float64): exact (tsne_neighbours: pp::knn's exact
// neighbours and distances) or approximate (NN-descent with 30 candidates per
// round, n ≥ 8192 as in pp.neighbors) euclidean kNN with k = min(n − 1, ⌊3·perplexity + 1⌋),
// conditional p_{j|i} from squared distances by scikit-learn's binary search on
// the Gaussian precision (entropy within 1e-5 of ln(perplexity), ≤ 100 steps),
// then P = (C + Cᵀ) / sum(C + Cᵀ). ValueError if perplexity ≥ n or ≤ 0;
// InputError for non-finite X.
SparseMatrix tsne_affinities(const Array& X, double perplexity = 30.0);

// Conditional probabilities from squared distances, one row of k neighbours
// per point (n x k row-major), scikit-learn's _binary_search_perplexity.
std::vector<double> tsne_conditional_p(std::span<const float> sq_distances, int64_t n, int k, double perplexity);

struct TsneLayoutOptions {
  TsneMethod method = TsneMethod::Auto;
  double early_exaggeration = 12.0;
  double learning_rate = 1000.0;
  int max_iter = 1000;              // total iterations, the exaggeration phase included
  int exaggeration_iter = 250;      // scikit-learn's _EXPLORATION_N_ITER
  int n_iter_without_progress = 300;
  double min_grad_norm = 1e-7;
  double theta = 0.5;               // Barnes–Hut angle
  // Drop to one thread for stretches where the machine is oversubscribed
  // (other processes hold the cores); the result is the same either way.
  bool adaptive_threads = true;
};

struct TsneLayoutResult {
  Array embedding;       // float32, n x 2
  double kl_divergence = 0.0;  // KL(P‖Q) at the end, with the method's Q normalisation
  int n_iter = 0;              // iterations run
  TsneMethod method = TsneMethod::Auto;  // the method that ran
};

// The optimisation. P: joint probabilities (n x n CSR/CSC, float, symmetric);
// init: n x 2 start (any float dtype).
TsneLayoutResult tsne_layout(const SparseMatrix& P, const Array& init, const TsneLayoutOptions& opt = {});

// scikit-learn's init='pca': the first two principal components of X (signs as
// scikit-learn 1.2: largest |score| positive), rounded to float32 and scaled so
// the first column has standard deviation 1e-4.
Array tsne_pca_init(const Array& X);

// KL(P‖Q) with the exact Q (q_ij = K_ij / Σ_{k≠l} K_kl, K = 1/(1+d²)) of a 2-D
// embedding, over P's stored entries; O(n²) for Z, parallel, thread-count
// independent. For comparing embeddings of the same P.
double tsne_kl_divergence(const SparseMatrix& P, const Array& embedding);

struct TsneOptions {
  std::optional<int> n_pcs;            // as pp.neighbors' representation choice
  std::optional<std::string> use_rep;
  double perplexity = 30.0;
  std::string metric = "euclidean";    // the only metric supported
  double early_exaggeration = 12.0;
  double learning_rate = 1000.0;
  int64_t random_state = 0;            // the PCA start is deterministic; stored for Scanpy's record only
  std::optional<int> n_jobs;           // recorded in uns only (threads: scanpp::set_num_threads)
  std::optional<std::string> key_added;  // default obsm['X_tsne'] / uns['tsne']
  TsneMethod method = TsneMethod::Auto;
  int max_iter = 1000;
};

// Embedding of the rows of X (affinities, PCA start, optimisation).
TsneLayoutResult tsne_embedding(const Array& X, const TsneOptions& opt = {});
// The same in two parts: what precedes the optimisation (affinities and PCA
// start), then the optimisation. scanpp run computes the first on every
// thread and only the second beside the other steps.
struct TsneStart {
  SparseMatrix P;
  Array init;
};
TsneStart tsne_start(const Array& X, const TsneOptions& opt = {});
TsneLayoutResult tsne_embedding(const TsneStart& start, const TsneOptions& opt = {});

// sc.tl.tsne(adata, ...): obsm['X_tsne'] (float32, n x 2) and uns['tsne'] =
// {params: {perplexity, early_exaggeration, learning_rate, n_jobs, metric
// [, use_rep]}} as Scanpy 1.11 writes them (integers when the values are
// whole, as Python's defaults are). metric other than euclidean: ValueError.
void tsne(AnnData& adata, const TsneOptions& opt = {});
// tl.tsne in its two halves, for callers that compute the embedding
// elsewhere (scanpp run's steps ahead of their turn): the representation
// tsne() embeds (a copy; errors as tsne()'s), and what tsne() writes given
// tsne_embedding's result.
Array tsne_representation(const AnnData& adata, const TsneOptions& opt = {});
void tsne_store(AnnData& adata, TsneLayoutResult result, const TsneOptions& opt = {});

}  // namespace scanpp::tl
