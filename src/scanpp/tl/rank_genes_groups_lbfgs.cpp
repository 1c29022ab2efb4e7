// L-BFGS in compact form for tl.rank_genes_groups(method='logreg').
//
// With S = [s_0 .. s_{m-1}], Y = [y_0 .. y_{m-1}] (oldest first), R the
// upper triangle of S^T Y, D its diagonal and gamma = s·y / y·y of the
// newest pair, the inverse-Hessian approximation times g is
//   H g = gamma g + S v - gamma Y q,   q = R^-1 S^T g,
//   v = R^-T ((D + gamma Y^T Y) q - gamma Y^T g)
// (Byrd, Nocedal & Schnabel 1994), the same direction as the two-loop
// recursion. Each iteration reads the history twice instead of 2m
// dependent passes: once to combine the direction (with the trial point and
// the objective's preparation of each block), once for the dot products the
// next direction needs (S^T g, Y^T g and the new pair's S^T y, Y^T y), in
// the same visit of each block as the objective's gradient there and the new
// pair. Both run over the objective's fixed blocks in parallel, partial sums
// added in block order.
#include "scanpp/tl/rank_genes_groups_lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "scanpp/core/parallel.hpp"

// See the vectors below: no fused multiply-adds in any clone.
#pragma GCC optimize("fp-contract=off")

namespace scanpp::tl::detail {

namespace {

// Eight doubles as GCC's generic vectors: one AVX-512 register in the
// "avx512f" clones, two AVX2 or four SSE2 registers in the others. Products
// and sums are never fused (fp-contract off: the AVX-512 clone would fuse
// them), so every clone rounds alike and the fit is the same bit for bit on
// any x86-64 CPU. Vectors are loaded and stored through memcpy and passed by
// reference only (by value their ABI would differ between the clones).
typedef double d8 __attribute__((vector_size(64)));
typedef float f8 __attribute__((vector_size(32)));

[[gnu::always_inline]] inline void load(d8& v, const double* p) { std::memcpy(&v, p, sizeof v); }
[[gnu::always_inline]] inline void load(d8& v, const float* p) {
  f8 f;
  std::memcpy(&f, p, sizeof f);
  v = __builtin_convertvector(f, d8);
}
[[gnu::always_inline]] inline void store(double* p, const d8& v) { std::memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline void store(float* p, const d8& v) {
  const f8 f = __builtin_convertvector(v, f8);
  std::memcpy(p, &f, sizeof f);
}
[[gnu::always_inline]] inline double lanes(const d8& a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}


// Over the block [q0, q1) of the history vectors: out = [S^T g, Y^T g,
// S^T ynew, Y^T ynew] (count values each; the last two when ynew is given),
// then g·g and max |g|.
[[gnu::target_clones("avx512f", "avx2", "default")]] void history_dots(const float* const* S, const float* const* Y,
                                                                      int count, const double* g,
                                                                      const float* ynew, int64_t q0, int64_t q1,
                                                                      double* out) {
  // Two chains of sums per product (the adder's latency), even and odd
  // vectors of eight, added at the end.
  const int64_t n16 = q0 + (q1 - q0) / 16 * 16;
  for (int i = 0; i < count; ++i) {
    for (int which = 0; which < 2; ++which) {
      const float* v = which == 0 ? S[i] : Y[i];
      d8 dg0 = {}, dg1 = {}, dy0 = {}, dy1 = {};
      double tg = 0, ty = 0;
      if (ynew) {
        for (int64_t q = q0; q < n16; q += 16) {
          d8 x0, x1, g0, g1, y0, y1;
          load(x0, v + q);
          load(x1, v + q + 8);
          load(g0, g + q);
          load(g1, g + q + 8);
          load(y0, ynew + q);
          load(y1, ynew + q + 8);
          dg0 += x0 * g0;
          dg1 += x1 * g1;
          dy0 += x0 * y0;
          dy1 += x1 * y1;
        }
      } else {
        for (int64_t q = q0; q < n16; q += 16) {
          d8 x0, x1, g0, g1;
          load(x0, v + q);
          load(x1, v + q + 8);
          load(g0, g + q);
          load(g1, g + q + 8);
          dg0 += x0 * g0;
          dg1 += x1 * g1;
        }
      }
      for (int64_t q = n16; q < q1; ++q) {
        tg += static_cast<double>(v[q]) * g[q];
        if (ynew) ty += static_cast<double>(v[q]) * static_cast<double>(ynew[q]);
      }
      out[which * count + i] = lanes(dg0 + dg1) + tg;
      out[(2 + which) * count + i] = lanes(dy0 + dy1) + ty;
    }
  }
  const int64_t n8 = q0 + (q1 - q0) / 8 * 8;
  d8 gg = {}, gm = {};
  double tg = 0, tm = 0;
  for (int64_t q = q0; q < n8; q += 8) {
    d8 x;
    load(x, g + q);
    gg += x * x;
    const d8 ax = x < 0 ? -x : x;
    gm = gm < ax ? ax : gm;
  }
  for (int64_t q = n8; q < q1; ++q) {
    tg += g[q] * g[q];
    tm = std::max(tm, std::abs(g[q]));
  }
  out[4 * count] = lanes(gg) + tg;
  double m = tm;
  for (int l = 0; l < 8; ++l) m = std::max(m, gm[l]);
  out[4 * count + 1] = m;
}

// dir = -(gamma g + S v - gamma Y q) over [q0, q1) and xnew = x + step dir.
[[gnu::target_clones("avx512f", "avx2", "default")]] void combine(const float* const* S, const float* const* Y,
                                                                 int count, const double* v, const double* q,
                                                                 double gamma, const double* g, const double* x,
                                                                 double step, double* dir, double* xnew, int64_t q0,
                                                                 int64_t q1) {
  const int64_t n8 = q0 + (q1 - q0) / 8 * 8;
  for (int64_t e = q0; e < n8; e += 8) {
    d8 gv;
    load(gv, g + e);
    store(dir + e, gamma * gv);
  }
  for (int64_t e = n8; e < q1; ++e) dir[e] = gamma * g[e];
  for (int i = 0; i < count; ++i) {
    const double vs = v[i], vy = gamma * q[i];
    const float* s = S[i];
    const float* y = Y[i];
    for (int64_t e = q0; e < n8; e += 8) {
      d8 d, sv, yv;
      load(d, dir + e);
      load(sv, s + e);
      load(yv, y + e);
      store(dir + e, (d + vs * sv) - vy * yv);
    }
    for (int64_t e = n8; e < q1; ++e)
      dir[e] = (dir[e] + vs * static_cast<double>(s[e])) - vy * static_cast<double>(y[e]);
  }
  for (int64_t e = q0; e < n8; e += 8) {
    d8 d, xv;
    load(d, dir + e);
    load(xv, x + e);
    d = -d;
    store(dir + e, d);
    store(xnew + e, xv + step * d);
  }
  for (int64_t e = n8; e < q1; ++e) {
    dir[e] = -dir[e];
    xnew[e] = x[e] + step * dir[e];
  }
}

// s = x1 - x0 and y = g1 - g0 stored as float over [q0, q1).
[[gnu::target_clones("avx512f", "avx2", "default")]] void differences(const double* x1, const double* x0,
                                                                     const double* g1, const double* g0, float* s,
                                                                     float* y, int64_t q0, int64_t q1) {
  const int64_t n8 = q0 + (q1 - q0) / 8 * 8;
  for (int64_t e = q0; e < n8; e += 8) {
    d8 a, b, c, d;
    load(a, x1 + e);
    load(b, x0 + e);
    load(c, g1 + e);
    load(d, g0 + e);
    store(s + e, a - b);
    store(y + e, c - d);
  }
  for (int64_t e = n8; e < q1; ++e) {
    s[e] = static_cast<float>(x1[e] - x0[e]);
    y[e] = static_cast<float>(g1[e] - g0[e]);
  }
}

// The correction pairs: m + 1 buffers (one spare, so that a rejected pair
// never overwrites a kept one), the products s_a·y_b, y_a·y_b between
// buffers a, b, and each buffer's s·g, y·g with the current gradient.
struct History {
  int m = 0;
  std::vector<std::vector<float>> s, y;
  std::vector<int> order;  // buffers of the kept pairs, oldest first
  int spare = 0;
  std::vector<double> sy, yy;  // (m + 1) x (m + 1)
  std::vector<double> sg, yg;  // m + 1
  double& SY(int a, int b) { return sy[static_cast<size_t>(a * (m + 1) + b)]; }
  double& YY(int a, int b) { return yy[static_cast<size_t>(a * (m + 1) + b)]; }
};

// The direction's coefficients for the kept pairs: -H g = -(gamma g + S v
// - gamma Y q); returns the slope g·(-H g) (count x count triangular solves).
double direction_coefficients(History& h, double gg, double& gamma, std::vector<double>& q, std::vector<double>& v) {
  const int count = static_cast<int>(h.order.size());
  q.assign(static_cast<size_t>(count), 0.0);
  v.assign(static_cast<size_t>(count), 0.0);
  gamma = 1.0;
  if (count == 0) return -gg;
  const int nb = h.order.back();
  gamma = h.SY(nb, nb) / h.YY(nb, nb);
  auto R = [&](int i, int j) { return h.SY(h.order[i], h.order[j]); };  // i <= j
  std::vector<double> ag(static_cast<size_t>(count)), bg(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    ag[i] = h.sg[h.order[i]];  // S^T g
    bg[i] = h.yg[h.order[i]];  // Y^T g
  }
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
  return -(gamma * gg + sv - gamma * sq);
}

}  // namespace

LbfgsResult lbfgs_minimise_blocks(const LbfgsBlockObjective& f, std::vector<double>& x, const LbfgsOptions& opt) {
  const int64_t dim = static_cast<int64_t>(x.size());
  const int64_t B = std::max<int64_t>(1, f.block);
  const int64_t nb = (dim + B - 1) / B;
  LbfgsResult res;
  History h;
  h.m = std::max(1, opt.memory);
  h.s.assign(static_cast<size_t>(h.m + 1), std::vector<float>(static_cast<size_t>(dim)));
  h.y = h.s;
  h.spare = h.m;
  h.order.reserve(static_cast<size_t>(h.m));
  h.sy.assign(static_cast<size_t>((h.m + 1) * (h.m + 1)), 0.0);
  h.yy = h.sy;
  h.sg.assign(static_cast<size_t>(h.m + 1), 0.0);
  h.yg = h.sg;

  std::vector<double> g(static_cast<size_t>(dim)), x_new(static_cast<size_t>(dim)), g_new(g), dir(g);
  std::vector<double> parts, dots;
  std::vector<const float*> S, Y;
  // The gradient pass at xa (after value(xa)) into ga; with `pair`, the new
  // pair (xa - x, ga - g) goes into the spare buffer. dots: the kept pairs'
  // and then the new pair's s·ga, y·ga, s·y_new, y·y_new (cn values each),
  // ga·ga and max |ga|.
  auto gradient_pass = [&](const std::vector<double>& xa, std::vector<double>& ga, bool pair) {
    S.clear();
    Y.clear();
    for (int b : h.order) {
      S.push_back(h.s[b].data());
      Y.push_back(h.y[b].data());
    }
    float* sp = h.s[h.spare].data();
    float* yp = h.y[h.spare].data();
    if (pair) {
      S.push_back(sp);
      Y.push_back(yp);
    }
    const int cn = static_cast<int>(S.size());
    const int width = 4 * cn + 2;
    parts.assign(static_cast<size_t>(nb * width), 0.0);
    parallel_blocks(dim, B, [&](int64_t a, int64_t b) {
      f.gradient(xa, ga, a, b);
      if (pair) differences(xa.data(), x.data(), ga.data(), g.data(), sp, yp, a, b);
      history_dots(S.data(), Y.data(), cn, ga.data(), pair ? yp : nullptr, a, b, parts.data() + (a / B) * width);
    });
    dots.assign(static_cast<size_t>(width), 0.0);
    for (int64_t blk = 0; blk < nb; ++blk)
      for (int w = 0; w < width; ++w)
        dots[w] = w < width - 1 ? dots[w] + parts[blk * width + w] : std::max(dots[w], parts[blk * width + w]);
    return cn;
  };

  parallel_blocks(dim, B, [&](int64_t a, int64_t b) { f.prepare(x, a, b); });
  double fx = f.value(x);
  gradient_pass(x, g, false);
  double gg = dots[0], gmax = dots[1];
  std::vector<double> q, v;
  for (int it = 0; it < opt.max_iter; ++it) {
    if (gmax <= opt.tol) {
      res.converged = true;
      break;
    }
    double gamma = 1.0;
    double slope = direction_coefficients(h, gg, gamma, q, v);
    if (!h.order.empty() && !(slope < 0)) {  // not a descent direction: restart from steepest descent
      h.order.clear();
      slope = direction_coefficients(h, gg, gamma, q, v);
    }
    const int used = static_cast<int>(h.order.size());
    S.clear();
    Y.clear();
    for (int b : h.order) {
      S.push_back(h.s[b].data());
      Y.push_back(h.y[b].data());
    }
    // Without history the first step is scaled to unit length.
    double step = used == 0 ? std::min(1.0, 1.0 / std::sqrt(gg)) : 1.0;
    parallel_blocks(dim, B, [&](int64_t a, int64_t b) {
      combine(S.data(), Y.data(), used, v.data(), q.data(), gamma, g.data(), x.data(), step, dir.data(),
              x_new.data(), a, b);
      f.prepare(x_new, a, b);
    });
    double f_new = 0;
    bool accepted = false;
    for (int ls = 0; ls < 50; ++ls) {
      if (ls > 0)
        parallel_blocks(dim, B, [&](int64_t a, int64_t b) {
          for (int64_t e = a; e < b; ++e) x_new[e] = x[e] + step * dir[e];
          f.prepare(x_new, a, b);
        });
      f_new = f.value(x_new);
      if (f_new <= fx + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    res.iterations = it + 1;
    if (!accepted) break;
    const std::vector<int> before = h.order;
    const int cn = gradient_pass(x_new, g_new, true);
    const int sb = h.spare;
    for (int i = 0; i < cn; ++i) {
      const int b = i + 1 < cn ? before[i] : sb;
      h.sg[b] = dots[i];
      h.yg[b] = dots[cn + i];
    }
    gg = dots[4 * cn];
    gmax = dots[4 * cn + 1];
    // The new pair is kept if its curvature is positive.
    const double sy = dots[3 * cn - 1], yy = dots[4 * cn - 1];
    if (sy > 1e-12 * yy) {
      h.SY(sb, sb) = sy;
      h.YY(sb, sb) = yy;
      for (int i = 0; i + 1 < cn; ++i) {
        const int b = before[i];
        h.SY(b, sb) = dots[2 * cn + i];
        h.YY(b, sb) = h.YY(sb, b) = dots[3 * cn + i];
      }
      if (static_cast<int>(h.order.size()) == h.m) {
        h.spare = h.order.front();
        h.order.erase(h.order.begin());
      } else {
        // A free buffer: one not in order and not sb.
        std::vector<bool> taken(static_cast<size_t>(h.m + 1), false);
        for (int b : h.order) taken[static_cast<size_t>(b)] = true;
        taken[static_cast<size_t>(sb)] = true;
        h.spare = static_cast<int>(std::find(taken.begin(), taken.end(), false) - taken.begin());
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
  if (!res.converged) res.converged = gmax <= opt.tol;
  return res;
}

LbfgsResult lbfgs_minimise(const LbfgsObjective& f, std::vector<double>& x, const LbfgsOptions& opt) {
  // One block: the objective's functions run on the calling thread.
  std::vector<double> grad;
  LbfgsBlockObjective b;
  b.block = std::max<int64_t>(1, static_cast<int64_t>(x.size()));
  b.prepare = [](const std::vector<double>&, int64_t, int64_t) {};
  b.value = [&](const std::vector<double>& xv) { return f.value(xv); };
  b.gradient = [&](const std::vector<double>& xv, std::vector<double>& out, int64_t a, int64_t e) {
    f.gradient(xv, grad);
    std::copy(grad.begin() + a, grad.begin() + e, out.begin() + a);
  };
  return lbfgs_minimise_blocks(b, x, opt);
}

}  // namespace scanpp::tl::detail
