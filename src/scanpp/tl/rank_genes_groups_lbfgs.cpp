// L-BFGS in compact form for tl.rank_genes_groups(method='logreg').
//
// With S = [s_0 .. s_{m-1}], Y = [y_0 .. y_{m-1}] (oldest first), R the
// upper triangle of S^T Y, D its diagonal and gamma = s·y / y·y of the
// newest pair, the inverse-Hessian approximation times g is
//   H g = gamma g + S v - gamma Y q,   q = R^-1 S^T g,
//   v = R^-T ((D + gamma Y^T Y) q - gamma Y^T g)
// (Byrd, Nocedal & Schnabel 1994), the same direction as the two-loop
// recursion. Each iteration reads the history twice, once for the dot
// products S^T g, Y^T g (and the newest pair's S^T y, Y^T y) and once to
// combine the direction, instead of 2m dependent passes: both passes run
// over fixed blocks in parallel, partial sums added in block order.
#include "scanpp/tl/rank_genes_groups_lbfgs.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "scanpp/core/parallel.hpp"

namespace scanpp::tl::detail {

namespace {

// Generic vectors (AVX2 in the "avx2" clones, SSE2 pairs otherwise) and
// AVX2 intrinsics: no FMA anywhere, so every path rounds alike and the
// result is the same bit for bit on any x86-64 CPU. Passed by reference only.
typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8), may_alias));
typedef float v4f __attribute__((vector_size(16)));
typedef float v4fu __attribute__((vector_size(16), aligned(4), may_alias));

[[gnu::always_inline]] inline const v4du& at4(const double* p) { return *reinterpret_cast<const v4du*>(p); }
[[gnu::always_inline]] inline v4du& at4(double* p) { return *reinterpret_cast<v4du*>(p); }
[[gnu::always_inline]] inline const v4fu& at4(const float* p) { return *reinterpret_cast<const v4fu*>(p); }
[[gnu::always_inline]] inline v4fu& at4(float* p) { return *reinterpret_cast<v4fu*>(p); }
[[gnu::always_inline]] inline double lanes(const v4d& a) { return (a[0] + a[1]) + (a[2] + a[3]); }

constexpr int64_t kBlock = 4096;  // elements per block of the parallel passes

// Dot products of the block [q0, q1) of the history vectors with g (and
// with the newest y when ynew is given): out = [S^T g, Y^T g, S^T ynew,
// Y^T ynew] (count values each). GCC 12 widens a vector of four floats in
// two halves, so where AVX2 is available the kernel below does the same
// products and sums, in the same order, with the one instruction for it.
void pair_dots_generic(const float* const* S, const float* const* Y, int count, const double* g, const float* ynew,
                       int64_t q0, int64_t q1, double* out) {
  const int64_t n4 = q0 + (q1 - q0) / 4 * 4;
  for (int i = 0; i < count; ++i) {
    for (int which = 0; which < 2; ++which) {
      const float* v = which == 0 ? S[i] : Y[i];
      v4d dg = {0, 0, 0, 0}, dy = dg;
      double tg = 0, ty = 0;
      for (int64_t q = q0; q < n4; q += 4) {
        const v4d x = __builtin_convertvector(at4(v + q), v4d);
        dg += x * at4(g + q);
        if (ynew) dy += x * __builtin_convertvector(at4(ynew + q), v4d);
      }
      for (int64_t q = n4; q < q1; ++q) {
        tg += static_cast<double>(v[q]) * g[q];
        if (ynew) ty += static_cast<double>(v[q]) * static_cast<double>(ynew[q]);
      }
      out[which * count + i] = lanes(dg) + tg;
      out[(2 + which) * count + i] = lanes(dy) + ty;
    }
  }
}

__attribute__((target("avx2"), always_inline)) inline double lanes_avx2(const __m256d& a) {
  alignas(32) double t[4];
  _mm256_store_pd(t, a);
  return (t[0] + t[1]) + (t[2] + t[3]);
}

__attribute__((target("avx2"))) void pair_dots_avx2(const float* const* S, const float* const* Y, int count,
                                                    const double* g, const float* ynew, int64_t q0, int64_t q1,
                                                    double* out) {
  const int64_t n4 = q0 + (q1 - q0) / 4 * 4;
  for (int i = 0; i < count; ++i) {
    for (int which = 0; which < 2; ++which) {
      const float* v = which == 0 ? S[i] : Y[i];
      __m256d dg = _mm256_setzero_pd(), dy = dg;
      double tg = 0, ty = 0;
      if (ynew) {
        for (int64_t q = q0; q < n4; q += 4) {
          const __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(v + q));
          dg = _mm256_add_pd(dg, _mm256_mul_pd(x, _mm256_loadu_pd(g + q)));
          dy = _mm256_add_pd(dy, _mm256_mul_pd(x, _mm256_cvtps_pd(_mm_loadu_ps(ynew + q))));
        }
      } else {
        for (int64_t q = q0; q < n4; q += 4)
          dg = _mm256_add_pd(dg, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(v + q)), _mm256_loadu_pd(g + q)));
      }
      for (int64_t q = n4; q < q1; ++q) {
        tg += static_cast<double>(v[q]) * g[q];
        if (ynew) ty += static_cast<double>(v[q]) * static_cast<double>(ynew[q]);
      }
      out[which * count + i] = lanes_avx2(dg) + tg;
      out[(2 + which) * count + i] = lanes_avx2(dy) + ty;
    }
  }
}

// g·g and max |g| over [q0, q1) into out[0], out[1].
[[gnu::target_clones("avx2", "default")]] void gradient_norms(const double* g, int64_t q0, int64_t q1, double* out) {
  const int64_t n4 = q0 + (q1 - q0) / 4 * 4;
  v4d gg = {0, 0, 0, 0}, gm = gg;
  double tg = 0, tm = 0;
  for (int64_t q = q0; q < n4; q += 4) {
    const v4d x = at4(g + q);
    gg += x * x;
    const v4d ax = x < 0 ? -x : x;
    gm = gm < ax ? ax : gm;
  }
  for (int64_t q = n4; q < q1; ++q) {
    tg += g[q] * g[q];
    tm = std::max(tm, std::abs(g[q]));
  }
  out[0] = lanes(gg) + tg;
  out[1] = std::max({gm[0], gm[1], gm[2], gm[3], tm});
}

void history_dots(const float* const* S, const float* const* Y, int count, const double* g, const float* ynew,
                  int64_t q0, int64_t q1, double* out) {
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  if (has_avx2) pair_dots_avx2(S, Y, count, g, ynew, q0, q1, out);
  else pair_dots_generic(S, Y, count, g, ynew, q0, q1, out);
  gradient_norms(g, q0, q1, out + 4 * count);
}

// dir = -(gamma g + S v - gamma Y q) over [q0, q1) and xnew = x + step dir.
void combine_generic(const float* const* S, const float* const* Y, int count, const double* v, const double* q,
                     double gamma, const double* g, const double* x, double step, double* dir, double* xnew,
                     int64_t q0, int64_t q1) {
  const int64_t n4 = q0 + (q1 - q0) / 4 * 4;
  const v4d gv = v4d{0, 0, 0, 0} + gamma;
  for (int64_t e = q0; e < n4; e += 4) at4(dir + e) = gv * at4(g + e);
  for (int64_t e = n4; e < q1; ++e) dir[e] = gamma * g[e];
  for (int i = 0; i < count; ++i) {
    const v4d vs = v4d{0, 0, 0, 0} + v[i];
    const v4d vy = v4d{0, 0, 0, 0} + gamma * q[i];
    const float* s = S[i];
    const float* y = Y[i];
    for (int64_t e = q0; e < n4; e += 4)
      at4(dir + e) = (at4(dir + e) + vs * __builtin_convertvector(at4(s + e), v4d)) -
                     vy * __builtin_convertvector(at4(y + e), v4d);
    for (int64_t e = n4; e < q1; ++e)
      dir[e] = (dir[e] + v[i] * static_cast<double>(s[e])) - gamma * q[i] * static_cast<double>(y[e]);
  }
  const v4d st = v4d{0, 0, 0, 0} + step;
  for (int64_t e = q0; e < n4; e += 4) {
    const v4d d = -at4(dir + e);
    at4(dir + e) = d;
    at4(xnew + e) = at4(x + e) + st * d;
  }
  for (int64_t e = n4; e < q1; ++e) {
    dir[e] = -dir[e];
    xnew[e] = x[e] + step * dir[e];
  }
}

__attribute__((target("avx2"))) void combine_avx2(const float* const* S, const float* const* Y, int count,
                                                  const double* v, const double* q, double gamma, const double* g,
                                                  const double* x, double step, double* dir, double* xnew,
                                                  int64_t q0, int64_t q1) {
  const int64_t n4 = q0 + (q1 - q0) / 4 * 4;
  const __m256d gv = _mm256_set1_pd(gamma);
  for (int64_t e = q0; e < n4; e += 4) _mm256_storeu_pd(dir + e, _mm256_mul_pd(gv, _mm256_loadu_pd(g + e)));
  for (int64_t e = n4; e < q1; ++e) dir[e] = gamma * g[e];
  for (int i = 0; i < count; ++i) {
    const __m256d vs = _mm256_set1_pd(v[i]);
    const __m256d vy = _mm256_set1_pd(gamma * q[i]);
    const float* s = S[i];
    const float* y = Y[i];
    for (int64_t e = q0; e < n4; e += 4) {
      const __m256d t = _mm256_add_pd(_mm256_loadu_pd(dir + e), _mm256_mul_pd(vs, _mm256_cvtps_pd(_mm_loadu_ps(s + e))));
      _mm256_storeu_pd(dir + e, _mm256_sub_pd(t, _mm256_mul_pd(vy, _mm256_cvtps_pd(_mm_loadu_ps(y + e)))));
    }
    for (int64_t e = n4; e < q1; ++e)
      dir[e] = (dir[e] + v[i] * static_cast<double>(s[e])) - gamma * q[i] * static_cast<double>(y[e]);
  }
  const __m256d st = _mm256_set1_pd(step);
  const __m256d sign = _mm256_set1_pd(-0.0);
  for (int64_t e = q0; e < n4; e += 4) {
    const __m256d d = _mm256_xor_pd(_mm256_loadu_pd(dir + e), sign);
    _mm256_storeu_pd(dir + e, d);
    _mm256_storeu_pd(xnew + e, _mm256_add_pd(_mm256_loadu_pd(x + e), _mm256_mul_pd(st, d)));
  }
  for (int64_t e = n4; e < q1; ++e) {
    dir[e] = -dir[e];
    xnew[e] = x[e] + step * dir[e];
  }
}

void combine(const float* const* S, const float* const* Y, int count, const double* v, const double* q,
             double gamma, const double* g, const double* x, double step, double* dir, double* xnew, int64_t q0,
             int64_t q1) {
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  if (has_avx2) combine_avx2(S, Y, count, v, q, gamma, g, x, step, dir, xnew, q0, q1);
  else combine_generic(S, Y, count, v, q, gamma, g, x, step, dir, xnew, q0, q1);
}

// s = x1 - x0 and y = g1 - g0 stored as float over [q0, q1); out = the
// partial s·y and y·y of the stored (rounded) values.
[[gnu::target_clones("avx2", "default")]] void differences(const double* x1, const double* x0, const double* g1,
                                                          const double* g0, float* s, float* y, int64_t q0,
                                                          int64_t q1, double* out) {
  const int64_t n4 = q0 + (q1 - q0) / 4 * 4;
  v4d sy = {0, 0, 0, 0}, yy = sy;
  double tsy = 0, tyy = 0;
  for (int64_t e = q0; e < n4; e += 4) {
    const v4d ds = at4(x1 + e) - at4(x0 + e);
    const v4d dy = at4(g1 + e) - at4(g0 + e);
    at4(s + e) = __builtin_convertvector(ds, v4f);
    at4(y + e) = __builtin_convertvector(dy, v4f);
    const v4d rs = __builtin_convertvector(at4(s + e), v4d);
    const v4d ry = __builtin_convertvector(at4(y + e), v4d);
    sy += rs * ry;
    yy += ry * ry;
  }
  for (int64_t e = n4; e < q1; ++e) {
    s[e] = static_cast<float>(x1[e] - x0[e]);
    y[e] = static_cast<float>(g1[e] - g0[e]);
    tsy += static_cast<double>(s[e]) * static_cast<double>(y[e]);
    tyy += static_cast<double>(y[e]) * static_cast<double>(y[e]);
  }
  out[0] = lanes(sy) + tsy;
  out[1] = lanes(yy) + tyy;
}

// Partial results of `width` values per fixed block, combined in block
// order: added, except the last n_max values, whose maximum is taken.
template <class F>
std::vector<double> block_combine(int64_t n, int width, int n_max, F&& partial) {
  const int64_t nb = (n + kBlock - 1) / kBlock;
  std::vector<double> parts(static_cast<size_t>(nb * width));
  parallel_blocks(n, kBlock, [&](int64_t a, int64_t b) { partial(a, b, parts.data() + (a / kBlock) * width); });
  std::vector<double> out(static_cast<size_t>(width), 0.0);
  for (int64_t blk = 0; blk < nb; ++blk)
    for (int w = 0; w < width; ++w)
      out[w] = w < width - n_max ? out[w] + parts[blk * width + w] : std::max(out[w], parts[blk * width + w]);
  return out;
}

// The correction pairs: m + 1 buffers (one spare, so that a rejected pair
// never overwrites a kept one) and the products s_a·y_b, y_a·y_b between
// buffers a, b.
struct History {
  int m = 0;
  std::vector<std::vector<float>> s, y;
  std::vector<int> order;  // buffers of the kept pairs, oldest first
  int spare = 0;
  std::vector<double> sy, yy;  // (m + 1) x (m + 1)
  double& SY(int a, int b) { return sy[static_cast<size_t>(a * (m + 1) + b)]; }
  double& YY(int a, int b) { return yy[static_cast<size_t>(a * (m + 1) + b)]; }
};

}  // namespace

LbfgsResult lbfgs_minimise(const LbfgsObjective& f, std::vector<double>& x, const LbfgsOptions& opt) {
  const int64_t dim = static_cast<int64_t>(x.size());
  LbfgsResult res;
  History h;
  h.m = std::max(1, opt.memory);
  h.s.assign(static_cast<size_t>(h.m + 1), std::vector<float>(static_cast<size_t>(dim)));
  h.y = h.s;
  h.spare = h.m;
  h.order.reserve(static_cast<size_t>(h.m));
  h.sy.assign(static_cast<size_t>((h.m + 1) * (h.m + 1)), 0.0);
  h.yy = h.sy;

  std::vector<double> g, x_new(static_cast<size_t>(dim)), g_new, dir(static_cast<size_t>(dim));
  double fx = f.value(x);
  f.gradient(x, g);
  bool has_new = false;  // the newest pair's products with the others are still to be taken
  std::vector<const float*> S, Y;
  for (int it = 0; it < opt.max_iter; ++it) {
    const int count = static_cast<int>(h.order.size());
    S.clear();
    Y.clear();
    for (int b : h.order) {
      S.push_back(h.s[b].data());
      Y.push_back(h.y[b].data());
    }
    const float* ynew = has_new ? Y.back() : nullptr;
    const std::vector<double> dots = block_combine(dim, 4 * count + 2, 1, [&](int64_t a, int64_t b, double* out) {
      history_dots(S.data(), Y.data(), count, g.data(), ynew, a, b, out);
    });
    if (dots[4 * count + 1] <= opt.tol) {
      res.converged = true;
      break;
    }
    const double* ag = dots.data();              // S^T g
    const double* bg = dots.data() + count;      // Y^T g
    const double gg = dots[4 * count];
    if (has_new) {
      const int nb = h.order.back();
      for (int i = 0; i + 1 < count; ++i) {
        const int b = h.order[i];
        h.SY(b, nb) = dots[2 * count + i];
        const double yy = dots[3 * count + i];
        h.YY(b, nb) = yy;
        h.YY(nb, b) = yy;
      }
    }
    // The direction's coefficients (count x count triangular solves).
    double gamma = 1.0, slope = -gg;
    std::vector<double> q(static_cast<size_t>(count)), v(static_cast<size_t>(count));
    if (count > 0) {
      const int nb = h.order.back();
      gamma = h.SY(nb, nb) / h.YY(nb, nb);
      auto R = [&](int i, int j) { return h.SY(h.order[i], h.order[j]); };  // i <= j
      for (int i = count; i-- > 0;) {
        double t = ag[i];
        for (int j = i + 1; j < count; ++j) t -= R(i, j) * q[j];
        q[i] = t / R(i, i);
      }
      std::vector<double> w(static_cast<size_t>(count));
      for (int i = 0; i < count; ++i) {
        double t = 0;
        for (int j = 0; j < count; ++j) t += h.YY(h.order[i], h.order[j]) * q[j];
        w[i] = R(i, i) * q[i] + gamma * t - gamma * bg[i];
      }
      for (int i = 0; i < count; ++i) {
        double t = w[i];
        for (int j = 0; j < i; ++j) t -= R(j, i) * v[j];
        v[i] = t / R(i, i);
      }
      double sv = 0, sq = 0;
      for (int i = 0; i < count; ++i) {
        sv += v[i] * ag[i];
        sq += q[i] * bg[i];
      }
      slope = -(gamma * gg + sv - gamma * sq);
    }
    int used = count;
    if (count > 0 && !(slope < 0)) {  // not a descent direction: restart from steepest descent
      h.order.clear();
      used = 0;
      gamma = 1.0;
      slope = -gg;
    }
    // Without history the first step is scaled to unit length.
    double step = used == 0 ? std::min(1.0, 1.0 / std::sqrt(gg)) : 1.0;
    parallel_blocks(dim, kBlock, [&](int64_t a, int64_t b) {
      combine(S.data(), Y.data(), used, v.data(), q.data(), gamma, g.data(), x.data(), step, dir.data(),
              x_new.data(), a, b);
    });
    double f_new = 0;
    bool accepted = false;
    for (int ls = 0; ls < 50; ++ls) {
      if (ls > 0)
        parallel_blocks(dim, kBlock, [&](int64_t a, int64_t b) {
          for (int64_t e = a; e < b; ++e) x_new[e] = x[e] + step * dir[e];
        });
      f_new = f.value(x_new);
      if (f_new <= fx + 1e-4 * step * slope) {
        f.gradient(x_new, g_new);
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    res.iterations = it + 1;
    if (!accepted) break;
    // The new pair goes into the spare buffer; kept if its curvature is positive.
    const int sb = h.spare;
    float* sp = h.s[sb].data();
    float* yp = h.y[sb].data();
    const std::vector<double> cur = block_combine(dim, 2, 0, [&](int64_t a, int64_t b, double* out) {
      differences(x_new.data(), x.data(), g_new.data(), g.data(), sp, yp, a, b, out);
    });
    has_new = cur[0] > 1e-12 * cur[1];
    if (has_new) {
      h.SY(sb, sb) = cur[0];
      h.YY(sb, sb) = cur[1];
      if (static_cast<int>(h.order.size()) == h.m) {
        h.spare = h.order.front();
        h.order.erase(h.order.begin());
      } else {
        // A free buffer: one not in order and not sb.
        std::vector<bool> used_buf(static_cast<size_t>(h.m + 1), false);
        for (int b : h.order) used_buf[static_cast<size_t>(b)] = true;
        used_buf[static_cast<size_t>(sb)] = true;
        h.spare = static_cast<int>(std::find(used_buf.begin(), used_buf.end(), false) - used_buf.begin());
      }
      h.order.push_back(sb);
    }
    const double rel = (fx - f_new) / std::max({std::abs(fx), std::abs(f_new), 1.0});
    x.swap(x_new);
    g.swap(g_new);
    fx = f_new;
    if (rel <= 64 * 2.220446049250313e-16) {  // scipy's ftol = 64 eps
      res.converged = true;
      break;
    }
  }
  if (!res.converged) {
    double gmax = 0;
    for (double v : g) gmax = std::max(gmax, std::abs(v));
    res.converged = gmax <= opt.tol;
  }
  return res;
}

}  // namespace scanpp::tl::detail
