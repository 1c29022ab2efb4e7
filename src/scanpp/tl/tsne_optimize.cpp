// t-SNE's optimiser: scikit-learn 1.2's _gradient_descent (momentum, gains
// +0.2 / ×0.8 with a floor of 0.01, progress checked every 50 iterations) run
// twice as TSNE._tsne does: early exaggeration with momentum 0.5, then the
// plain objective with momentum 0.8, each phase starting with fresh gains and
// a zero update.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/tsne.hpp"
#include "scanpp/tl/tsne_gradient.hpp"

namespace scanpp::tl {

TsneMethod tsne_method_from_string(const std::string& name) {
  if (name == "auto") return TsneMethod::Auto;
  if (name == "exact") return TsneMethod::Exact;
  if (name == "barnes_hut") return TsneMethod::BarnesHut;
  if (name == "fft") return TsneMethod::Fft;
  throw ValueError("tsne: method must be 'auto', 'exact', 'barnes_hut' or 'fft', got '" + name + "'");
}

const char* tsne_method_name(TsneMethod m) {
  switch (m) {
    case TsneMethod::Auto: return "auto";
    case TsneMethod::Exact: return "exact";
    case TsneMethod::BarnesHut: return "barnes_hut";
    case TsneMethod::Fft: return "fft";
  }
  return "?";
}

TsneMethod tsne_auto_method(int64_t n) { return n > 10000 ? TsneMethod::Fft : TsneMethod::BarnesHut; }

namespace {

constexpr int kCheckEvery = 50;  // scikit-learn's _N_ITER_CHECK
constexpr double kMinGain = 0.01;
constexpr int64_t kBlock = 4096;

class Objective {
 public:
  Objective(const TsneP& P, TsneMethod method, double theta) : P_(P), method_(method), bh_(theta) {
    attr_.resize(static_cast<size_t>(2 * P.n));
    rep_.resize(attr_.size());
    sum_p_ = P.sum_p;
  }

  // Fills the attraction and repulsion buffers and returns Z; *error gets
  // KL(exaggeration·P ‖ Q) when with_error.
  double evaluate(std::span<const double> y, double exaggeration, bool with_error, double* error) {
    const double a = tsne_attraction(P_, y, attr_, with_error);
    double Z = 0.0;
    switch (method_) {
      case TsneMethod::Exact: Z = tsne_repulsion_exact(y, rep_); break;
      case TsneMethod::Fft: Z = fft_(y, rep_); break;
      default: Z = bh_(y, rep_); break;
    }
    Z = std::max(Z, std::numeric_limits<double>::min());
    // Σ p' ln(p' Z / K) with p' = e·p: e (Σ p ln(p/K) + (ln e + ln Z) Σ p).
    if (with_error) *error = exaggeration * (a + (std::log(exaggeration) + std::log(Z)) * sum_p_);
    return Z;
  }
  // ∂KL/∂y at element s after evaluate().
  double grad(size_t s, double exaggeration, double inv_z) const {
    return 4.0 * (exaggeration * attr_[s] - rep_[s] * inv_z);
  }
  double kl(std::span<const double> y) {
    double e = 0.0;
    evaluate(y, 1.0, true, &e);
    return e;
  }

 private:
  const TsneP& P_;
  TsneMethod method_;
  double sum_p_ = 0.0;
  std::vector<double> attr_, rep_;
  TsneFftRepulsion fft_;
  TsneBarnesHut bh_;
};

struct Phase {
  int it = 0, n_iter = 0;
  double momentum = 0.5, exaggeration = 1.0;
  int n_iter_without_progress = 300;
};

// Returns the last iteration index run (scikit-learn's `i`).
int gradient_descent(Objective& f, std::vector<double>& y, const Phase& ph, const TsneLayoutOptions& opt) {
  const int64_t np = static_cast<int64_t>(y.size());
  std::vector<double> update(y.size(), 0.0), gains(y.size(), 1.0);
  double best_error = std::numeric_limits<double>::max();
  int best_iter = ph.it, i = ph.it;
  for (i = ph.it; i < ph.n_iter; ++i) {
    const bool check = (i + 1) % kCheckEvery == 0;
    double error = 0.0;
    const double Z = f.evaluate(y, ph.exaggeration, check || i == ph.n_iter - 1, &error);
    const double inv_z = 1.0 / Z;
    // One pass: gradient, its norm (before the gains, as scikit-learn
    // reports it), gains, momentum update and step.
    const double norm2 = parallel_reduce_blocks(np, kBlock, 0.0, [&](int64_t s0, int64_t s1) {
      double acc = 0.0;
      for (int64_t s = s0; s < s1; ++s) {
        const double g = f.grad(static_cast<size_t>(s), ph.exaggeration, inv_z);
        acc += g * g;
        const bool inc = update[s] * g < 0.0;
        gains[s] = std::max(inc ? gains[s] + 0.2 : gains[s] * 0.8, kMinGain);
        update[s] = ph.momentum * update[s] - opt.learning_rate * (g * gains[s]);
        y[s] += update[s];
      }
      return acc;
    });
    if (check) {
      if (error < best_error) {
        best_error = error;
        best_iter = i;
      } else if (i - best_iter > ph.n_iter_without_progress) {
        break;
      }
      if (std::sqrt(norm2) <= opt.min_grad_norm) break;
    }
  }
  return std::min(i, ph.n_iter - 1);
}

}  // namespace

TsneLayoutResult tsne_layout(const SparseMatrix& P_in, const Array& init, const TsneLayoutOptions& opt) {
  const TsneP P = tsne_p_from_sparse(P_in);
  const int64_t n = P.n;
  if (init.ndim() != 2 || init.rows() != n || init.cols() != 2)
    throw ValueError("tsne: the start must be an n x 2 array (n = " + std::to_string(n) + ")");
  if (!dtype_is_float(init.dtype())) throw ValueError("tsne: the start must hold floating-point values");
  if (opt.max_iter < 1) throw ValueError("tsne: max_iter must be at least 1");
  if (opt.exaggeration_iter < 0) throw ValueError("tsne: exaggeration_iter must not be negative");
  if (!(opt.learning_rate > 0.0)) throw ValueError("tsne: learning_rate must be positive");
  if (!(opt.early_exaggeration >= 1.0)) throw ValueError("tsne: early_exaggeration must be at least 1");
  if (!(opt.theta >= 0.0)) throw ValueError("tsne: theta must not be negative");
  std::vector<double> y = init.to_vector<double>();
  for (double v : y)
    if (!std::isfinite(v)) throw ValueError("tsne: the start has a non-finite coordinate");

  TsneLayoutResult res;
  res.method = opt.method == TsneMethod::Auto ? tsne_auto_method(n) : opt.method;
  Objective f(P, res.method, opt.theta);
  // scikit-learn: the exploration phase stops early only through its own
  // progress check (with n_iter_without_progress = its length).
  const int explore = std::min(opt.exaggeration_iter, opt.max_iter);
  int it = -1;
  if (explore > 0)
    it = gradient_descent(f, y, {.it = 0, .n_iter = explore, .momentum = 0.5, .exaggeration = opt.early_exaggeration,
                                 .n_iter_without_progress = explore},
                          opt);
  if (it + 1 < opt.max_iter)
    it = gradient_descent(f, y, {.it = it + 1, .n_iter = opt.max_iter, .momentum = 0.8, .exaggeration = 1.0,
                                 .n_iter_without_progress = opt.n_iter_without_progress},
                          opt);
  res.n_iter = it + 1;
  res.kl_divergence = f.kl(y);
  Array emb(DType::Float32, {n, 2});
  auto e = emb.as<float>();
  for (size_t s = 0; s < y.size(); ++s) e[s] = static_cast<float>(y[s]);
  res.embedding = std::move(emb);
  return res;
}

double tsne_kl_divergence(const SparseMatrix& P_in, const Array& embedding) {
  const TsneP P = tsne_p_from_sparse(P_in);
  if (embedding.ndim() != 2 || embedding.rows() != P.n || embedding.cols() != 2)
    throw ValueError("tsne: the embedding must be n x 2 for P");
  const std::vector<double> y = embedding.to_vector<double>();
  std::vector<double> attr(y.size()), rep(y.size());
  const double a = tsne_attraction(P, y, attr, true);
  const double Z = tsne_repulsion_exact(y, rep);
  return a + std::log(Z) * P.sum_p;
}

}  // namespace scanpp::tl
