// t-SNE's optimiser: scikit-learn 1.2's _gradient_descent (momentum, gains
// +0.2 / ×0.8 with a floor of 0.01, progress checked every 50 iterations) run
// twice as TSNE._tsne does: early exaggeration with momentum 0.5, then the
// plain objective with momentum 0.8, each phase starting with fresh gains and
// a zero update.
//
// Barnes–Hut iterations run inside one parallel region per stretch of
// iterations (see BarnesHutTeam): per iteration, the serial tree build runs
// beside the float32 attraction's row blocks and the walk follows from the
// same work counter, then one thread takes the step (a few thousand
// coordinates); the progress checks evaluate the attraction in double with
// the error term. The exact and FFT gradients run as plain parallel loops.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <ctime>
#include <exception>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/core/thread_budget.hpp"
#include "scanpp/tl/layout_team.hpp"
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
// Coordinates per block of the update (one block, so no parallel region, for
// a few thousand points).
constexpr int64_t kBlock = 8192;
constexpr int64_t kAttrBlock = 128;  // rows per attraction task

class Objective {
 public:
  Objective(const TsneP& P, TsneMethod method, double theta) : P_(P), method_(method), bh_(theta) {
    attr_.resize(static_cast<size_t>(2 * P.n));
    rep_.resize(attr_.size());
    y32_.resize(attr_.size());
    sum_p_ = P.sum_p;
  }

  // Fills the attraction and repulsion buffers and returns Z; *error gets
  // KL(exaggeration·P ‖ Q) when with_error.
  double evaluate(std::span<const double> y, double exaggeration, bool with_error, double* error) {
    double a = 0.0, Z = 0.0;
    if (with_error) {
      a = tsne_attraction(P_, y, attr_, true);
    } else {
      for (size_t s = 0; s < y.size(); ++s) y32_[s] = static_cast<float>(y[s]);
    }
    if (method_ == TsneMethod::Exact || method_ == TsneMethod::Fft) {
      if (!with_error) tsne_attraction_f32(P_, y32_, attr_);
      Z = method_ == TsneMethod::Exact ? tsne_repulsion_exact(y, rep_) : fft_(y, rep_);
    } else {
      // The tree build is serial: the attraction's row blocks run beside it
      // (task 0 builds), then the walk runs in parallel.
      const int64_t n_attr = with_error ? 0 : (P_.n + kAttrBlock - 1) / kAttrBlock;
      std::exception_ptr failed;
      parallel_blocks(1 + n_attr, 1, [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
          if (t == 0) {
            try {
              bh_.build(y);
            } catch (...) {
              failed = std::current_exception();
            }
          } else {
            tsne_attraction_f32_rows(P_, y32_, attr_, (t - 1) * kAttrBlock, std::min(P_.n, t * kAttrBlock));
          }
        }
      });
      if (failed) std::rethrow_exception(failed);
      Z = bh_.walk(rep_);
    }
    Z = std::max(Z, std::numeric_limits<double>::min());
    // Σ p' ln(p' Z / K) with p' = e·p: e (Σ p ln(p/K) + (ln e + ln Z) Σ p).
    if (with_error) *error = exaggeration * (a + (std::log(exaggeration) + std::log(Z)) * sum_p_);
    return Z;
  }
  // The halves of the gradient after evaluate().
  std::span<const double> attraction() const { return attr_; }
  std::span<const double> repulsion() const { return rep_; }
  double kl(std::span<const double> y) {
    double e = 0.0;
    evaluate(y, 1.0, true, &e);
    return e;
  }
  TsneMethod method() const { return method_; }
  // What BarnesHutTeam works on.
  const TsneP& P() const { return P_; }
  TsneBarnesHut& barnes_hut() { return bh_; }
  std::span<double> attraction_buffer() { return attr_; }
  std::span<double> repulsion_buffer() { return rep_; }
  std::span<float> y32_buffer() { return y32_; }

 private:
  const TsneP& P_;
  TsneMethod method_;
  double sum_p_ = 0.0;
  std::vector<double> attr_, rep_;
  std::vector<float> y32_;
  TsneFftRepulsion fft_;
  TsneBarnesHut bh_;
};

using D4 = double __attribute__((vector_size(32)));

// Elements [s0, s1) of one step: g = 4 (e·attr − rep / Z) (∂KL/∂y), gains
// +0.2 where the update and g disagree in sign, else ×0.8, floored at 0.01,
// update = momentum·update − lr·g·gains, y += update. Returns Σ g² when
// with_norm (else 0). Four at a time in a fixed operation order, so every
// clone gives the same bits.
__attribute__((target_clones("avx2", "default"))) double descent_step(const double* attr, const double* rep,
                                                                     double* update, double* gains, double* y,
                                                                     int64_t s0, int64_t s1, double exaggeration,
                                                                     double inv_z, double momentum, double lr,
                                                                     bool with_norm) {
  D4 acc{};
  int64_t s = s0;
  for (; s + 4 <= s1; s += 4) {
    D4 a, r, u, gn, yy;
    std::memcpy(&a, attr + s, sizeof(D4));
    std::memcpy(&r, rep + s, sizeof(D4));
    std::memcpy(&u, update + s, sizeof(D4));
    std::memcpy(&gn, gains + s, sizeof(D4));
    std::memcpy(&yy, y + s, sizeof(D4));
    const D4 g = 4.0 * (exaggeration * a - r * inv_z);
    acc += g * g;
    gn = u * g < 0.0 ? gn + 0.2 : gn * 0.8;
    gn = gn < kMinGain ? D4{} + kMinGain : gn;
    u = momentum * u - lr * (g * gn);
    yy += u;
    std::memcpy(update + s, &u, sizeof(D4));
    std::memcpy(gains + s, &gn, sizeof(D4));
    std::memcpy(y + s, &yy, sizeof(D4));
  }
  double norm2 = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; s < s1; ++s) {
    const double g = 4.0 * (exaggeration * attr[s] - rep[s] * inv_z);
    norm2 += g * g;
    const bool inc = update[s] * g < 0.0;
    gains[s] = std::max(inc ? gains[s] + 0.2 : gains[s] * 0.8, kMinGain);
    update[s] = momentum * update[s] - lr * (g * gains[s]);
    y[s] += update[s];
  }
  return with_norm ? norm2 : 0.0;
}

// Iterations are short (~0.3 ms on PBMC 3k) and each ends in two parallel
// loops, so when other processes hold the cores, a descheduled or spinning
// thread stalls every iteration (on a loaded 2-core machine 2 threads ran
// 5-10x slower than 1). Results do not depend on the thread count, so it may
// change between iterations: the iterations run in timed windows on all
// threads or on one; every few windows a short probe runs on the other
// setting, which takes over when faster per iteration (else probes grow
// rarer, up to every 32 windows). A window on all threads that got much less
// than their CPU time (threads waiting to be scheduled) and ran slower than
// one thread did switches to one thread at once. The first timed window is one iteration, followed by a
// probe (so a busy machine is noticed from the start).
class ThreadGovernor {
 public:
  explicit ThreadGovernor(bool enabled) : max_threads_(num_threads()), enabled_(enabled && max_threads_ > 1) {}
  ~ThreadGovernor() {
    if (enabled_) set_num_threads(max_threads_);
  }
  ThreadGovernor(const ThreadGovernor&) = delete;
  ThreadGovernor& operator=(const ThreadGovernor&) = delete;

  bool enabled() const { return enabled_; }
  // How many more iteration_done() calls may pass before the thread count
  // can change (INT_MAX when it never does).
  int until_decision() const {
    if (!enabled_) return INT_MAX;
    return warm_ ? window_ - in_window_ : 1;
  }
  void iteration_done() {
    if (!enabled_) return;
    if (!warm_) {  // the first iteration pays one-off costs: not timed
      warm_ = true;
      wall0_ = wall_seconds();
      cpu0_ = cpu_seconds();
      return;
    }
    if (++in_window_ < window_) return;
    const double wall = wall_seconds(), cpu = cpu_seconds();
    const double t = (wall - wall0_) / window_, c = (cpu - cpu0_) / window_;  // per iteration
    const bool full = window_ == kWindow;
    wall0_ = wall;
    cpu0_ = cpu;
    in_window_ = 0;
    window_ = kWindow;
    const bool ran_single = single_;
    if (probing_) {
      probing_ = false;
      time_[ran_single] = t;
      if (t < 0.9 * time_[!ran_single]) {
        probe_every_ = kProbeEvery;  // the probed setting takes over
      } else {
        use(!ran_single);
        probe_every_ = std::min(2 * probe_every_, kMaxProbeEvery);
      }
      since_probe_ = 0;
      return;
    }
    time_[ran_single] = t;
    // Starved of CPU and slower than one thread was.
    if (full && !ran_single && c < 0.75 * max_threads_ * t && t > time_[1]) {
      use(true);
      since_probe_ = 0;
      return;
    }
    if (++since_probe_ >= probe_every_) {
      use(!ran_single);
      probing_ = true;
      window_ = kProbe;
    }
  }

 private:
  static constexpr int kWindow = 25, kProbe = 1, kProbeEvery = 4, kMaxProbeEvery = 32;
  static double wall_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  static double cpu_seconds() {  // the whole process: all threads
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  void use(bool single) {
    single_ = single;
    set_num_threads(single ? 1 : max_threads_);
  }
  int max_threads_;
  bool enabled_;
  // The first timed window (one iteration on all threads) is followed by a
  // probe on one thread.
  int window_ = kProbe, in_window_ = 0, since_probe_ = kProbeEvery - 1, probe_every_ = kProbeEvery;
  bool warm_ = false, single_ = false, probing_ = false;
  double time_[2] = {0.0, 0.0};  // last seconds per iteration on all threads [0] / one [1]
  double wall0_ = wall_seconds(), cpu0_ = cpu_seconds();
};

// A job with a thread budget (core/thread_budget.hpp) takes the threads it
// allows every kBudgetStretch iterations, unless the governor decides them.
// The thread budget this descent follows, or nullptr.
ThreadBudget* followed_budget(const ThreadGovernor& governor) {
  return governor.enabled() ? nullptr : current_thread_budget();
}

struct Phase {
  int it = 0, n_iter = 0;
  double momentum = 0.5, exaggeration = 1.0;
  int n_iter_without_progress = 300;
};

// Barnes–Hut descent: iterations [it, end) of a phase in one parallel
// region (layout_team.hpp). Per iteration the threads take work items from
// one counter: row blocks of the attraction, then blocks of the walk's
// groups, which wait until thread 0, which builds the tree before taking
// items, has published it; thread 0 then takes the step alone. The same
// operations in the same order as Objective::evaluate and the plain loop
// below: every item writes its own rows, and the sums run in a fixed order.
class BarnesHutTeam {
 public:
  BarnesHutTeam(Objective& f, std::vector<double>& y, std::vector<double>& update, std::vector<double>& gains,
                const Phase& ph, const TsneLayoutOptions& opt)
      : f_(f), y_(y), update_(update), gains_(gains), ph_(ph), opt_(opt) {
    const int64_t n = f.P().n;
    attr_parts_.resize(static_cast<size_t>((n + kTsneAttractionBlock - 1) / kTsneAttractionBlock));
  }
  double best_error = std::numeric_limits<double>::max();
  int best_iter = 0;

  // Runs iterations from `it` until `end` or a stop at a progress check;
  // returns the number of iterations run to their end without a stop (the
  // stopping one, if any, is `it` + that). Rethrows what a thread threw.
  int run(int it, int end, bool* stopped) {
    stop_ = false;
    done_ = 0;
    failed_ = nullptr;
    failing_.store(false);
    team_.reset();
    to_float();
#pragma omp parallel
    {
      team_.enter();
      for (int i = it; i < end; ++i) {
        iterate(i);
        if (stop_) break;
      }
    }
    *stopped = stop_;
    if (failed_) std::rethrow_exception(failed_);
    return done_;
  }

 private:
  static constexpr int64_t kWalkBlock = 2;  // groups per work item

  bool with_error(int i) const { return (i + 1) % kCheckEvery == 0 || i == ph_.n_iter - 1; }

  void to_float() {
    std::span<float> y32 = f_.y32_buffer();
    for (size_t s = 0; s < y_.size(); ++s) y32[s] = static_cast<float>(y_[s]);
  }

  // Inside a catch block.
  void fail() {
#pragma omp critical(scanpp_tsne_team_fail)
    if (!failed_) failed_ = std::current_exception();
    failing_.store(true);
  }

  void iterate(int i) {
    const TsneP& P = f_.P();
    TsneBarnesHut& bh = f_.barnes_hut();
    const bool err = with_error(i);
    const int64_t attr_block = err ? kTsneAttractionBlock : kAttrBlock;
    const int64_t n_attr = (P.n + attr_block - 1) / attr_block;
    try {
      if (LayoutTeam::leader()) {
        try {
          bh.build(y_);
        } catch (...) {
          fail();
        }
        team_.publish(i);
      }
      for (int64_t t = team_.next_item();; t = team_.next_item()) {
        if (t < n_attr) {
          const int64_t r0 = t * attr_block, r1 = std::min(P.n, r0 + attr_block);
          if (err)
            attr_parts_[t] = tsne_attraction_rows(P, y_, f_.attraction_buffer(), r0, r1, true);
          else
            tsne_attraction_f32_rows(P, f_.y32_buffer(), f_.attraction_buffer(), r0, r1);
          continue;
        }
        team_.wait_published(i);
        if (failing_.load()) break;
        const int64_t g0 = (t - n_attr) * kWalkBlock, n_groups = bh.n_groups();
        if (g0 >= n_groups) break;
        bh.walk_groups(g0, std::min(n_groups, g0 + kWalkBlock), f_.repulsion_buffer());
      }
    } catch (...) {
      fail();
    }
    team_.barrier();
    if (LayoutTeam::leader()) step(i, err);
    team_.barrier();
  }

  // Thread 0, between the barriers: Objective::evaluate's tail and
  // gradient_descent's loop body.
  void step(int i, bool err) {
    if (failing_.load()) {
      stop_ = true;
      return;
    }
    const TsneP& P = f_.P();
    const double Z = std::max(f_.barnes_hut().z_sum(), std::numeric_limits<double>::min());
    double error = 0.0;
    if (err) {
      double log_sum = 0.0;
      for (double part : attr_parts_) log_sum += part;
      const double a = P.sum_p_log_p + log_sum;
      error = ph_.exaggeration * (a + (std::log(ph_.exaggeration) + std::log(Z)) * P.sum_p);
    }
    const bool check = (i + 1) % kCheckEvery == 0;
    const double inv_z = 1.0 / Z;
    const int64_t np = static_cast<int64_t>(y_.size());
    double norm2 = 0.0;
    for (int64_t s0 = 0; s0 < np; s0 += kBlock)
      norm2 += descent_step(f_.attraction_buffer().data(), f_.repulsion_buffer().data(), update_.data(),
                            gains_.data(), y_.data(), s0, std::min(np, s0 + kBlock), ph_.exaggeration, inv_z,
                            ph_.momentum, opt_.learning_rate, check);
    team_.reset_items();
    if (check) {
      if (error < best_error) {
        best_error = error;
        best_iter = i;
      } else if (i - best_iter > ph_.n_iter_without_progress) {
        stop_ = true;
        return;
      }
      if (std::sqrt(norm2) <= opt_.min_grad_norm) {
        stop_ = true;
        return;
      }
    }
    to_float();
    ++done_;
  }

  Objective& f_;
  std::vector<double>& y_;
  std::vector<double>& update_;
  std::vector<double>& gains_;
  const Phase& ph_;
  const TsneLayoutOptions& opt_;
  std::vector<double> attr_parts_;
  LayoutTeam team_;
  bool stop_ = false;
  int done_ = 0;
  std::exception_ptr failed_;
  std::atomic<bool> failing_{false};
};

int gradient_descent_barnes_hut(Objective& f, std::vector<double>& y, const Phase& ph, const TsneLayoutOptions& opt,
                                ThreadGovernor& governor) {
  std::vector<double> update(y.size(), 0.0), gains(y.size(), 1.0);
  BarnesHutTeam team(f, y, update, gains, ph, opt);
  team.best_iter = ph.it;
  const ThreadBudget* budget = followed_budget(governor);
  int i = ph.it;
  while (i < ph.n_iter) {
    follow_thread_budget(budget);
    const int stretch = budget ? kBudgetStretch : governor.until_decision();
    const int end = static_cast<int>(std::min<int64_t>(ph.n_iter, int64_t{i} + stretch));
    bool stopped = false;
    const int done = team.run(i, end, &stopped);
    for (int k = 0; k < done; ++k) governor.iteration_done();
    i += done;
    if (stopped) break;
  }
  return std::min(i, ph.n_iter - 1);
}

// Returns the last iteration index run (scikit-learn's `i`).
int gradient_descent(Objective& f, std::vector<double>& y, const Phase& ph, const TsneLayoutOptions& opt,
                     ThreadGovernor& governor) {
  if (f.method() == TsneMethod::BarnesHut) return gradient_descent_barnes_hut(f, y, ph, opt, governor);
  const int64_t np = static_cast<int64_t>(y.size());
  std::vector<double> update(y.size(), 0.0), gains(y.size(), 1.0);
  double best_error = std::numeric_limits<double>::max();
  const ThreadBudget* budget = followed_budget(governor);
  int best_iter = ph.it, i = ph.it;
  for (i = ph.it; i < ph.n_iter; ++i) {
    if ((i - ph.it) % kBudgetStretch == 0) follow_thread_budget(budget);
    const bool check = (i + 1) % kCheckEvery == 0;
    double error = 0.0;
    const double Z = f.evaluate(y, ph.exaggeration, check || i == ph.n_iter - 1, &error);
    const double inv_z = 1.0 / Z;
    // One pass: gradient, its norm (before the gains, as scikit-learn
    // reports it; only the progress checks read it), gains, momentum update
    // and step.
    const double norm2 = parallel_reduce_blocks(np, kBlock, 0.0, [&](int64_t s0, int64_t s1) {
      return descent_step(f.attraction().data(), f.repulsion().data(), update.data(), gains.data(), y.data(), s0, s1,
                          ph.exaggeration, inv_z, ph.momentum, opt.learning_rate, check);
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
    governor.iteration_done();
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
  ThreadGovernor governor(opt.adaptive_threads);
  // scikit-learn: the exploration phase stops early only through its own
  // progress check (with n_iter_without_progress = its length).
  const int explore = std::min(opt.exaggeration_iter, opt.max_iter);
  int it = -1;
  if (explore > 0)
    it = gradient_descent(f, y, {.it = 0, .n_iter = explore, .momentum = 0.5, .exaggeration = opt.early_exaggeration,
                                 .n_iter_without_progress = explore},
                          opt, governor);
  if (it + 1 < opt.max_iter)
    it = gradient_descent(f, y, {.it = it + 1, .n_iter = opt.max_iter, .momentum = 0.8, .exaggeration = 1.0,
                                 .n_iter_without_progress = opt.n_iter_without_progress},
                          opt, governor);
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
