// FFT-accelerated interpolation of t-SNE's repulsion (FIt-SNE, Linderman,
// Rachh, Hoskins, Steinerberger & Kluger, Nature Methods 2019).
//
// Both sums over all pairs are convolutions of point charges with a smooth
// kernel: Σ_j K_ij (for Z) and Σ_j K_ij² (y_i − y_j) = y_i Σ_j K_ij² −
// Σ_j K_ij² y_j. Charges are spread onto an equispaced grid (p Lagrange nodes
// per box and dimension), the grid is convolved with the kernel by FFT (the
// Toeplitz matrix embedded in a circulant of twice the size), and the grid
// potentials are interpolated back. FIt-SNE derives Z from K² convolutions of
// the charges 1, y, |y|²; convolving with K itself avoids the cancellation of
// the |y|² terms far from the origin at the same cost (four inverse
// transforms). Coordinates are centred first for the same reason.
#include <fftw3.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "scanpp/core/error.hpp"
#include "scanpp/core/parallel.hpp"
#include "scanpp/tl/tsne_gradient.hpp"

namespace scanpp::tl {

namespace {

// Beyond this the grid would take gigabytes; boxes then grow wider than one
// unit, which only costs accuracy on embeddings far larger than t-SNE makes.
constexpr int kMaxBoxes = 400;

// The smallest count ≥ want whose only prime factors are 2, 3 and 5, so that
// the padded grid (6 nodes per box) is fast for FFTW.
int smooth_count(int want) {
  for (int b = std::max(want, 1);; ++b) {
    int r = b;
    for (int f : {2, 3, 5})
      while (r % f == 0) r /= f;
    if (r == 1) return b;
  }
}

// Widths on a ladder of quarter powers of two at or above w, so that the
// kernel's spectrum is recomputed only when the embedding has changed size by
// ~19 %.
double width_rung(double w) { return std::exp2(std::ceil(4.0 * std::log2(w)) / 4.0); }

// Boxes per dimension and box width for points spanning `extent`. Small
// embeddings get min_boxes boxes across (a little more than the extent);
// larger ones boxes of width 1 (FIt-SNE's one interval per unit), their count
// rounded up to a 5-smooth size so that the kernel's spectrum only changes
// when the count does; beyond kMaxBoxes units, wider boxes on the ladder.
std::pair<int, double> choose_boxes(double extent, int min_boxes) {
  if (extent <= min_boxes) return {min_boxes, width_rung(extent / min_boxes)};
  if (extent <= kMaxBoxes) return {smooth_count(static_cast<int>(std::ceil(extent))), 1.0};
  const double w = width_rung(extent / kMaxBoxes);
  return {smooth_count(static_cast<int>(std::ceil(extent / w))), w};
}

}  // namespace

// The charge grids are zero outside their first m x m quadrant and only that
// quadrant of the potentials is read, so the 2-D transforms of the charges
// run as 1-D passes that skip the zero rows: forward, r2c along the m
// non-zero rows, then complex transforms down all n2/2 + 1 columns; inverse,
// the columns, then c2r along the first m rows only (about a quarter less
// work than full 2-D transforms). Each pass is cut into fixed chunks of
// kChunk rows or columns, run in parallel: the same plans on the same data
// whatever the thread count. FFTW_UNALIGNED keeps the codelets the same for
// every chunk's offset.
constexpr int kChunk = 16;

struct TsneFftRepulsion::Plans {
  // One batched 1-D transform over kChunk rows or columns, and the one for
  // the remainder.
  struct Pass {
    fftw_plan full = nullptr, rem = nullptr;
    int total = 0;
    int n_chunks() const { return (total + kChunk - 1) / kChunk; }
    fftw_plan plan(int chunk) const { return (chunk + 1) * kChunk <= total ? full : rem; }
  };
  int n2 = 0;  // side of the padded grid
  fftw_plan r2c = nullptr;  // full 2-D, for the kernels
  Pass row_fwd, col_fwd, col_inv, row_inv;
  std::array<double*, 5> real{};         // 3 charge grids + 2 kernels; reused for the 4 potentials
  std::array<fftw_complex*, 4> spec{};   // spectra of the charges, and the Z product
  std::array<fftw_complex*, 2> kspec{};  // spectra of K and K² (kept while the grid stays the same)
  double kernel_h = -1.0;                // node spacing the kernel spectra were computed for
  // Per-point scratch, kept between calls (large vectors would otherwise be
  // fresh, page-faulting memory every iteration).
  std::vector<int32_t> box_x, box_y;
  std::vector<double> wx, wy, z_point;
  std::vector<int64_t> col_ptr, order, next;

  static void destroy(fftw_plan& pl) {
    if (pl) fftw_destroy_plan(pl);
    pl = nullptr;
  }
  void release() {
    destroy(r2c);
    for (Pass* ps : {&row_fwd, &col_fwd, &col_inv, &row_inv}) destroy(ps->full), destroy(ps->rem), ps->total = 0;
    for (auto*& p : real) fftw_free(p), p = nullptr;
    for (auto*& p : spec) fftw_free(p), p = nullptr;
    for (auto*& p : kspec) fftw_free(p), p = nullptr;
    kernel_h = -1.0;
    n2 = 0;
  }
  void ensure(int size) {
    if (size == n2) return;
    release();
    const size_t nr = static_cast<size_t>(size) * static_cast<size_t>(size);
    const int nh = size / 2 + 1;
    const size_t nc = static_cast<size_t>(size) * static_cast<size_t>(nh);
    for (auto*& p : real) p = static_cast<double*>(fftw_malloc(sizeof(double) * nr));
    for (auto*& p : spec) p = static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * nc));
    for (auto*& p : kspec) p = static_cast<fftw_complex*>(fftw_malloc(sizeof(fftw_complex) * nc));
    for (auto* p : real)
      if (!p) throw Error("tsne: out of memory for the FFT grid");
    for (auto* p : spec)
      if (!p) throw Error("tsne: out of memory for the FFT grid");
    for (auto* p : kspec)
      if (!p) throw Error("tsne: out of memory for the FFT grid");
    // FFTW_ESTIMATE neither touches the arrays nor depends on timing, so the
    // plans (and the results) are the same on every run.
    const unsigned flags = FFTW_ESTIMATE | FFTW_UNALIGNED;
    r2c = fftw_plan_dft_r2c_2d(size, size, real[0], spec[0], FFTW_ESTIMATE);
    const int m = size / 2;
    int len = size;
    auto batch = [&](Pass& ps, int total, auto&& make) {
      ps.total = total;
      ps.full = make(kChunk);
      if (total % kChunk) ps.rem = make(total % kChunk);
      if (!ps.full || (total % kChunk && !ps.rem)) throw Error("tsne: FFTW could not plan the transforms");
    };
    batch(row_fwd, m, [&](int k) {
      return fftw_plan_many_dft_r2c(1, &len, k, real[0], nullptr, 1, size, spec[0], nullptr, 1, nh, flags);
    });
    batch(col_fwd, nh, [&](int k) {
      return fftw_plan_many_dft(1, &len, k, spec[0], nullptr, nh, 1, spec[0], nullptr, nh, 1, FFTW_FORWARD, flags);
    });
    batch(col_inv, nh, [&](int k) {
      return fftw_plan_many_dft(1, &len, k, spec[0], nullptr, nh, 1, spec[0], nullptr, nh, 1, FFTW_BACKWARD, flags);
    });
    batch(row_inv, m, [&](int k) {
      return fftw_plan_many_dft_c2r(1, &len, k, spec[0], nullptr, 1, nh, real[0], nullptr, 1, size, flags);
    });
    if (!r2c) throw Error("tsne: FFTW could not plan the transforms");
    n2 = size;
  }
  // Forward transforms of the charge grids g (rows ≥ m of real[g] unused).
  void forward(int n_grids) {
    const int m = n2 / 2, nh = n2 / 2 + 1;
    const int rc = row_fwd.n_chunks(), cc = col_fwd.n_chunks();
    parallel_for(
        n_grids * rc,
        [&](int64_t t) {
          const int g = static_cast<int>(t / rc), c = static_cast<int>(t % rc);
          fftw_execute_dft_r2c(row_fwd.plan(c), real[g] + static_cast<size_t>(c) * kChunk * n2,
                               spec[g] + static_cast<size_t>(c) * kChunk * nh);
          if (c == 0) {
            // The zero rows' transforms are zero.
            fftw_complex* z = spec[g] + static_cast<size_t>(m) * nh;
            std::fill(&z[0][0], &z[0][0] + 2 * static_cast<size_t>(n2 - m) * nh, 0.0);
          }
        },
        1);
    parallel_for(
        n_grids * cc,
        [&](int64_t t) {
          const int g = static_cast<int>(t / cc), c = static_cast<int>(t % cc);
          fftw_complex* at = spec[g] + static_cast<size_t>(c) * kChunk;
          fftw_execute_dft(col_fwd.plan(c), at, at);
        },
        1);
  }
  // Inverse transforms of spec[0..n_grids) into the first m rows of real[g].
  void inverse(int n_grids) {
    const int nh = n2 / 2 + 1;
    const int rc = row_inv.n_chunks(), cc = col_inv.n_chunks();
    parallel_for(
        n_grids * cc,
        [&](int64_t t) {
          const int g = static_cast<int>(t / cc), c = static_cast<int>(t % cc);
          fftw_complex* at = spec[g] + static_cast<size_t>(c) * kChunk;
          fftw_execute_dft(col_inv.plan(c), at, at);
        },
        1);
    parallel_for(
        n_grids * rc,
        [&](int64_t t) {
          const int g = static_cast<int>(t / rc), c = static_cast<int>(t % rc);
          fftw_execute_dft_c2r(row_inv.plan(c), spec[g] + static_cast<size_t>(c) * kChunk * nh,
                               real[g] + static_cast<size_t>(c) * kChunk * n2);
        },
        1);
  }
  ~Plans() { release(); }
};

TsneFftRepulsion::TsneFftRepulsion(int n_interpolation_points, int min_boxes)
    : p_(n_interpolation_points), min_boxes_(min_boxes), plans_(std::make_unique<Plans>()) {
  if (p_ < 1 || p_ > 8) throw ValueError("tsne: the number of interpolation points must be in 1..8");
  if (min_boxes_ < 1) throw ValueError("tsne: min_boxes must be positive");
}

TsneFftRepulsion::~TsneFftRepulsion() = default;

double TsneFftRepulsion::operator()(std::span<const double> y, std::span<double> rep) {
  const int64_t n = static_cast<int64_t>(y.size() / 2);
  if (n == 0) return 0.0;
  const int p = p_;
  double lo = y[0], hi = y[0], mx = 0.0, my = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min({lo, y[2 * i], y[2 * i + 1]});
    hi = std::max({hi, y[2 * i], y[2 * i + 1]});
  }
  // Centre of the square box (not the mean: it must not depend on summation order).
  mx = my = (lo + hi) / 2.0;
  const double extent = std::max(hi - lo, 1e-12 * std::max(1.0, std::fabs(lo)));
  const auto [n_boxes, box_width] = choose_boxes(extent, min_boxes_);
  last_n_boxes_ = n_boxes;
  const int m = n_boxes * p;         // nodes per dimension
  const double h = box_width / p;    // node spacing
  const int n2 = 2 * m;
  plans_->ensure(n2);
  Plans& pl = *plans_;

  // Lagrange weights of every point on the p nodes of its box, per dimension;
  // nodes sit at (k + 1/2)/p of the box.
  std::vector<double> t(static_cast<size_t>(p));
  for (int k = 0; k < p; ++k) t[k] = (k + 0.5) / p;
  std::vector<double> denom(static_cast<size_t>(p), 1.0);
  for (int k = 0; k < p; ++k)
    for (int l = 0; l < p; ++l)
      if (l != k) denom[k] *= t[k] - t[l];
  std::vector<int32_t>& box_x = pl.box_x;
  std::vector<int32_t>& box_y = pl.box_y;
  std::vector<double>& wx = pl.wx;
  std::vector<double>& wy = pl.wy;
  box_x.resize(static_cast<size_t>(n));
  box_y.resize(static_cast<size_t>(n));
  wx.resize(static_cast<size_t>(n) * p);
  wy.resize(static_cast<size_t>(n) * p);
  parallel_blocks(n, 1024, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      for (int d = 0; d < 2; ++d) {
        const double u = (y[2 * i + d] - lo) / box_width;
        const int b = std::clamp(static_cast<int>(std::floor(u)), 0, n_boxes - 1);
        const double r = u - b;
        double* w = (d == 0 ? wx.data() : wy.data()) + i * p;
        for (int k = 0; k < p; ++k) {
          double v = 1.0;
          for (int l = 0; l < p; ++l)
            if (l != k) v *= r - t[l];
          w[k] = v / denom[k];
        }
        (d == 0 ? box_x : box_y)[i] = b;
      }
    }
  });

  // Spread the charges 1, x, y (centred) onto the padded grids. Points are
  // bucketed by box column so that each column's nodes are written by one
  // task, in point order: deterministic in parallel.
  const size_t grid = static_cast<size_t>(n2) * static_cast<size_t>(n2);
  std::vector<int64_t>& col_ptr = pl.col_ptr;
  col_ptr.assign(static_cast<size_t>(n_boxes) + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++col_ptr[box_x[i] + 1];
  for (int b = 0; b < n_boxes; ++b) col_ptr[b + 1] += col_ptr[b];
  std::vector<int64_t>& order = pl.order;
  order.resize(static_cast<size_t>(n));
  {
    std::vector<int64_t>& next = pl.next;
    next.assign(col_ptr.begin(), col_ptr.end() - 1);
    for (int64_t i = 0; i < n; ++i) order[next[box_x[i]]++] = i;
  }
  double* g0 = pl.real[0];
  double* gx = pl.real[1];
  double* gy = pl.real[2];
  parallel_for(3, [&](int64_t c) { std::fill(pl.real[c], pl.real[c] + static_cast<size_t>(m) * n2, 0.0); }, 1);
  parallel_for(
      n_boxes,
      [&](int64_t b) {
        for (int64_t q = col_ptr[b]; q < col_ptr[b + 1]; ++q) {
          const int64_t i = order[q];
          const double cx = y[2 * i] - mx, cy = y[2 * i + 1] - my;
          for (int kx = 0; kx < p; ++kx) {
            const size_t row = static_cast<size_t>(box_x[i] * p + kx) * n2;
            for (int ky = 0; ky < p; ++ky) {
              const size_t at = row + static_cast<size_t>(box_y[i] * p + ky);
              const double w = wx[i * p + kx] * wy[i * p + ky];
              g0[at] += w;
              gx[at] += w * cx;
              gy[at] += w * cy;
            }
          }
        }
      },
      1);

  // Kernels on the circulant: offset a for a < m, a − 2m above m (index m is
  // never reached by a difference of two nodes). FFTW's transforms are
  // unnormalised: the kernel spectra carry the 1/grid factor.
  const size_t nc = static_cast<size_t>(n2) * static_cast<size_t>(n2 / 2 + 1);
  if (pl.kernel_h != h) {
    double* k1 = pl.real[3];
    double* k2 = pl.real[4];
    const double scale = 1.0 / static_cast<double>(grid);
    parallel_blocks(n2, 16, [&](int64_t a0, int64_t a1) {
      for (int64_t a = a0; a < a1; ++a) {
        const double da = static_cast<double>(a <= m ? a : a - n2) * h;
        for (int b = 0; b < n2; ++b) {
          const double db = static_cast<double>(b <= m ? b : b - n2) * h;
          const double k = 1.0 / (1.0 + da * da + db * db);
          k1[static_cast<size_t>(a) * n2 + b] = k * scale;
          k2[static_cast<size_t>(a) * n2 + b] = k * k * scale;
        }
      }
    });
    parallel_for(2, [&](int64_t c) { fftw_execute_dft_r2c(pl.r2c, pl.real[3 + c], pl.kspec[c]); }, 1);
    pl.kernel_h = h;
  }
  pl.forward(3);

  // Products: spec[3] ← Ŵ0·K̂ (Z), spec[0] ← Ŵ0·K̂², spec[1] ← Ŵx·K̂², spec[2] ← Ŵy·K̂².
  parallel_blocks(static_cast<int64_t>(nc), 8192, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s) {
      auto mul = [](const fftw_complex& a, const fftw_complex& b, fftw_complex& out) {
        const double re = a[0] * b[0] - a[1] * b[1], im = a[0] * b[1] + a[1] * b[0];
        out[0] = re;
        out[1] = im;
      };
      mul(pl.spec[0][s], pl.kspec[0][s], pl.spec[3][s]);
      mul(pl.spec[0][s], pl.kspec[1][s], pl.spec[0][s]);
      mul(pl.spec[1][s], pl.kspec[1][s], pl.spec[1][s]);
      mul(pl.spec[2][s], pl.kspec[1][s], pl.spec[2][s]);
    }
  });
  pl.inverse(4);

  // Interpolate the potentials back to the points.
  const double* u0 = pl.real[0];
  const double* ux = pl.real[1];
  const double* uy = pl.real[2];
  const double* uz = pl.real[3];
  std::vector<double>& z_point = pl.z_point;
  z_point.resize(static_cast<size_t>(n));
  parallel_blocks(n, 1024, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      double s0 = 0.0, sx = 0.0, sy = 0.0, sz = 0.0;
      for (int kx = 0; kx < p; ++kx) {
        const size_t row = static_cast<size_t>(box_x[i] * p + kx) * n2;
        for (int ky = 0; ky < p; ++ky) {
          const size_t at = row + static_cast<size_t>(box_y[i] * p + ky);
          const double w = wx[i * p + kx] * wy[i * p + ky];
          s0 += w * u0[at];
          sx += w * ux[at];
          sy += w * uy[at];
          sz += w * uz[at];
        }
      }
      const double cx = y[2 * i] - mx, cy = y[2 * i + 1] - my;
      rep[2 * i] = cx * s0 - sx;
      rep[2 * i + 1] = cy * s0 - sy;
      z_point[i] = sz - 1.0;  // the sum includes the point itself (K_ii = 1)
    }
  });
  double Z = 0.0;
  for (double v : z_point) Z += v;
  return Z;
}

double tsne_repulsion_fft(std::span<const double> y, std::span<double> rep) {
  TsneFftRepulsion f;
  return f(y, rep);
}

}  // namespace scanpp::tl
