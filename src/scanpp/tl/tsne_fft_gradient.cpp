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

// FIt-SNE's box counts: sizes whose grids (3 nodes per box, doubled) factor
// into small primes.
constexpr std::array<int, 20> kAllowedBoxes = {25,  36,  50,  55,  60,  65,  70,  75,  80,  85,
                                               90,  96,  100, 110, 120, 130, 140, 150, 175, 200};
// Beyond this the grid would take gigabytes; boxes then grow wider than one
// unit, which only costs accuracy on embeddings far larger than t-SNE makes.
constexpr int kMaxBoxes = 400;

// Boxes per dimension and box width for points spanning `extent`. Small
// embeddings get min_boxes boxes across (a little more than the extent); larger ones boxes of width 1 (FIt-SNE's
// one interval per unit), their count rounded up to an FFT-friendly size so
// that the kernel's spectrum only changes when the count does.
std::pair<int, double> choose_boxes(double extent, int min_boxes) {
  if (extent <= min_boxes) {
    // Widths on a ladder of quarter powers of two, so that the kernel's
    // spectrum is recomputed only when the embedding has grown by ~19 %.
    const double rung = std::ceil(4.0 * std::log2(extent / min_boxes)) / 4.0;
    return {min_boxes, std::exp2(rung)};
  }
  if (extent > kMaxBoxes) return {kMaxBoxes, extent / kMaxBoxes};
  const int want = static_cast<int>(std::ceil(extent));
  for (int b : kAllowedBoxes)
    if (b >= want) return {b, 1.0};
  return {want, 1.0};
}

}  // namespace

struct TsneFftRepulsion::Plans {
  int n2 = 0;  // side of the padded grid
  fftw_plan r2c = nullptr, c2r = nullptr;
  std::array<double*, 5> real{};         // 3 charge grids + 2 kernels; reused for the 4 potentials
  std::array<fftw_complex*, 4> spec{};   // spectra of the charges, and the Z product
  std::array<fftw_complex*, 2> kspec{};  // spectra of K and K² (kept while the grid stays the same)
  double kernel_h = -1.0;                // node spacing the kernel spectra were computed for
  void release() {
    if (r2c) fftw_destroy_plan(r2c);
    if (c2r) fftw_destroy_plan(c2r);
    for (auto*& p : real) fftw_free(p), p = nullptr;
    for (auto*& p : spec) fftw_free(p), p = nullptr;
    for (auto*& p : kspec) fftw_free(p), p = nullptr;
    r2c = c2r = nullptr;
    kernel_h = -1.0;
    n2 = 0;
  }
  void ensure(int size) {
    if (size == n2) return;
    release();
    const size_t nr = static_cast<size_t>(size) * static_cast<size_t>(size);
    const size_t nc = static_cast<size_t>(size) * static_cast<size_t>(size / 2 + 1);
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
    r2c = fftw_plan_dft_r2c_2d(size, size, real[0], spec[0], FFTW_ESTIMATE);
    c2r = fftw_plan_dft_c2r_2d(size, size, spec[0], real[0], FFTW_ESTIMATE);
    if (!r2c || !c2r) throw Error("tsne: FFTW could not plan the transforms");
    n2 = size;
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
  std::vector<int32_t> box_x(static_cast<size_t>(n)), box_y(static_cast<size_t>(n));
  std::vector<double> wx(static_cast<size_t>(n) * p), wy(static_cast<size_t>(n) * p);
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
  std::vector<int64_t> col_ptr(static_cast<size_t>(n_boxes) + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++col_ptr[box_x[i] + 1];
  for (int b = 0; b < n_boxes; ++b) col_ptr[b + 1] += col_ptr[b];
  std::vector<int64_t> order(static_cast<size_t>(n));
  {
    std::vector<int64_t> next(col_ptr.begin(), col_ptr.end() - 1);
    for (int64_t i = 0; i < n; ++i) order[next[box_x[i]]++] = i;
  }
  double* g0 = pl.real[0];
  double* gx = pl.real[1];
  double* gy = pl.real[2];
  parallel_for(3, [&](int64_t c) { std::fill(pl.real[c], pl.real[c] + grid, 0.0); }, 1);
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
  parallel_for(3, [&](int64_t c) { fftw_execute_dft_r2c(pl.r2c, pl.real[c], pl.spec[c]); }, 1);

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
  parallel_for(4, [&](int64_t c) { fftw_execute_dft_c2r(pl.c2r, pl.spec[c], pl.real[c]); }, 1);

  // Interpolate the potentials back to the points.
  const double* u0 = pl.real[0];
  const double* ux = pl.real[1];
  const double* uy = pl.real[2];
  const double* uz = pl.real[3];
  std::vector<double> z_point(static_cast<size_t>(n));
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
