#include "scanpp/pp/loess.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "scanpp/core/error.hpp"

namespace scanpp::pp {

namespace {

// One node of the 1-D k-d tree (netlib's ehg124 arrays a, xi, lo, hi, c).
struct Cell {
  int64_t first = 0, last = 0;  // range of sorted points (inclusive)
  int lower = 0, upper = 0;     // vertex ids at the cell's ends
  bool split = false;
  double xi = 0;                // split value (points <= xi go to the low child)
  int lo = -1, hi = -1;         // children
};

// Value and slope at q of the tricube-weighted polynomial fit (ehg127): the
// nf nearest points, weights (1 - (|x - q| / h)^3)^3 with h the distance to
// the nf-th nearest, columns scaled to unit norm, Householder QR.
void vertex_fit(double q, const std::vector<double>& x, const std::vector<double>& y, int64_t nf, double span, int degree,
                double& value, double& slope) {
  const size_t n = x.size();
  std::vector<double> dist(n);
  for (size_t i = 0; i < n; ++i) dist[i] = (x[i] - q) * (x[i] - q);
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = i;
  std::nth_element(idx.begin(), idx.begin() + (nf - 1), idx.end(),
                   [&](size_t a, size_t b) { return dist[a] < dist[b]; });
  const double rho = dist[idx[static_cast<size_t>(nf - 1)]] * std::max(1.0, span);
  if (!(rho > 0)) throw ValueError("loess: the neighbourhood radius is zero (too many identical x values for the span)");
  const int k = degree + 1;
  const size_t m = static_cast<size_t>(nf);
  // Design matrix (column-major, m x k) and weighted response.
  std::vector<double> b(m * static_cast<size_t>(k)), eta(m);
  for (size_t r = 0; r < m; ++r) {
    const size_t i = idx[r];
    double w = std::sqrt(dist[i] / rho);
    const double t = 1 - w * w * w;
    w = std::sqrt(t * t * t);
    const double dx = x[i] - q;
    b[r] = w;
    if (k > 1) b[m + r] = w * dx;
    if (k > 2) b[2 * m + r] = w * dx * dx;
    eta[r] = w * y[i];
  }
  double colnor[3] = {1, 1, 1};
  for (int j = 0; j < k; ++j) {
    double s = 0;
    for (size_t r = 0; r < m; ++r) s += b[j * m + r] * b[j * m + r];
    s = std::sqrt(s);
    if (s > 0) {
      for (size_t r = 0; r < m; ++r) b[j * m + r] /= s;
      colnor[j] = s;
    }
  }
  // Householder QR without pivoting (LINPACK dqrdc), applying Q^T to eta.
  double rdiag[3] = {0, 0, 0};
  for (int l = 0; l < k; ++l) {
    double* col = &b[static_cast<size_t>(l) * m];
    double nrm = 0;
    for (size_t r = static_cast<size_t>(l); r < m; ++r) nrm += col[r] * col[r];
    nrm = std::sqrt(nrm);
    if (nrm == 0) {
      rdiag[l] = 0;
      continue;
    }
    if (col[l] != 0) nrm = std::copysign(nrm, col[l]);
    for (size_t r = static_cast<size_t>(l); r < m; ++r) col[r] /= nrm;
    col[l] += 1;
    for (int j = l + 1; j < k; ++j) {
      double* cj = &b[static_cast<size_t>(j) * m];
      double t = 0;
      for (size_t r = static_cast<size_t>(l); r < m; ++r) t -= col[r] * cj[r];
      t /= col[l];
      for (size_t r = static_cast<size_t>(l); r < m; ++r) cj[r] += t * col[r];
    }
    double t = 0;
    for (size_t r = static_cast<size_t>(l); r < m; ++r) t -= col[r] * eta[r];
    t /= col[l];
    for (size_t r = static_cast<size_t>(l); r < m; ++r) eta[r] += t * col[r];
    rdiag[l] = -nrm;
  }
  // R (upper triangle, diagonal in rdiag) solve; a singular R falls back to
  // the minimum-norm answer loess's pseudoinverse would give for that column.
  double coef[3] = {0, 0, 0};
  double rmax = 0;
  for (int j = 0; j < k; ++j) rmax = std::max(rmax, std::abs(rdiag[j]));
  const double tol = rmax * 100 * std::numeric_limits<double>::epsilon();
  for (int j = k - 1; j >= 0; --j) {
    double s = eta[static_cast<size_t>(j)];
    for (int c = j + 1; c < k; ++c) s -= b[static_cast<size_t>(c) * m + static_cast<size_t>(j)] * coef[c];
    coef[j] = std::abs(rdiag[j]) > tol ? s / rdiag[j] : 0.0;
  }
  value = coef[0] / colnor[0];
  slope = k > 1 ? coef[1] / colnor[1] : 0.0;
}

}  // namespace

std::vector<double> loess_fit(const std::vector<double>& x, const std::vector<double>& y, const LoessOptions& o) {
  const int64_t n = static_cast<int64_t>(x.size());
  if (n == 0) throw ValueError("loess: no data points");
  if (y.size() != x.size()) throw ValueError("loess: x and y differ in length");
  if (o.degree < 0 || o.degree > 2) throw ValueError("loess: degree must be 0, 1 or 2");
  if (!(o.span > 0)) throw ValueError("loess: span must be positive");
  for (size_t i = 0; i < x.size(); ++i)
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) throw ValueError("loess: x and y must be finite");
  // netlib loess_workspace: nf = min(n, floor(n * span + 1e-5)).
  const int64_t nf = std::min<int64_t>(n, static_cast<int64_t>(std::floor(static_cast<double>(n) * o.span + 1e-5)));
  if (nf <= 0) throw ValueError("loess: span is too small");
  if (o.degree + 1 > nf - 1) throw ValueError("loess: span too small for the polynomial degree (fewer points than needed)");

  std::vector<double> s = x;
  std::sort(s.begin(), s.end());
  // Bounding box expanded by 0.5% (ehg126).
  const double alpha = s.front(), beta = s.back();
  const double mu = 0.005 * std::max(beta - alpha, 1e-10 * std::max(std::abs(alpha), std::abs(beta)) + 1e-30);
  std::vector<double> verts{alpha - mu, beta + mu};
  const double fc = std::floor(static_cast<double>(n) * (o.span * o.cell));
  const int64_t nvmax = std::max<int64_t>(200, n), ncmax = nvmax;

  // Tree build (ehg124), cells processed in creation order.
  std::vector<Cell> cells(1);
  cells[0].first = 0;
  cells[0].last = n - 1;
  cells[0].lower = 0;
  cells[0].upper = 1;
  for (size_t p = 0; p < cells.size(); ++p) {
    const int64_t l = cells[p].first, u = cells[p].last;
    const double diam = std::abs(verts[static_cast<size_t>(cells[p].upper)] - verts[static_cast<size_t>(cells[p].lower)]);
    bool leaf = static_cast<double>(u - l + 1) <= fc || diam <= 0.0;
    if (!leaf)
      leaf = ncmax < static_cast<int64_t>(cells.size()) + 2 ||
             static_cast<double>(nvmax) < static_cast<double>(verts.size()) + 0.5;
    int64_t m = 0;
    if (!leaf) {
      // Median split (1-based midpoint as in the Fortran); ties move the split
      // to the nearest gap, alternating right and left.
      const int64_t l1 = l + 1, u1 = u + 1;
      int64_t m1 = (l1 + u1) / 2;
      int64_t off = 0;
      while (!(m1 + off >= u1 || m1 + off < l1)) {
        if (s[static_cast<size_t>(m1 + off - 1)] == s[static_cast<size_t>(m1 + off)]) {
          off = -off;
          if (off >= 0) off += 1;
        } else {
          m1 += off;
          break;
        }
      }
      m = m1 - 1;
      const double t = s[static_cast<size_t>(m)];
      leaf = verts[static_cast<size_t>(cells[p].lower)] == t || verts[static_cast<size_t>(cells[p].upper)] == t;
    }
    if (leaf) continue;
    const double t = s[static_cast<size_t>(m)];
    int vid = -1;
    for (size_t v = 0; v < verts.size(); ++v)
      if (verts[v] == t) {
        vid = static_cast<int>(v);
        break;
      }
    if (vid < 0) {
      verts.push_back(t);
      vid = static_cast<int>(verts.size()) - 1;
    }
    Cell lo, hi;
    lo.first = l;
    lo.last = m;
    lo.lower = cells[p].lower;
    lo.upper = vid;
    hi.first = m + 1;
    hi.last = u;
    hi.lower = vid;
    hi.upper = cells[p].upper;
    cells[p].split = true;
    cells[p].xi = t;
    cells[p].lo = static_cast<int>(cells.size());
    cells[p].hi = static_cast<int>(cells.size()) + 1;
    cells.push_back(lo);
    cells.push_back(hi);
  }

  // Local fits at the vertices (ehg139/ehg127).
  std::vector<double> val(verts.size()), slope(verts.size());
  for (size_t v = 0; v < verts.size(); ++v) vertex_fit(verts[v], x, y, nf, o.span, o.degree, val[v], slope[v]);

  // Cubic Hermite interpolation inside each leaf (ehg128).
  std::vector<double> fit(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double z = x[i];
    size_t j = 0;
    while (cells[j].split) j = static_cast<size_t>(z <= cells[j].xi ? cells[j].lo : cells[j].hi);
    const size_t ll = static_cast<size_t>(cells[j].lower), ur = static_cast<size_t>(cells[j].upper);
    const double width = verts[ur] - verts[ll];
    const double h = (z - verts[ll]) / width;
    const double phi0 = (1 - h) * (1 - h) * (1 + 2 * h);
    const double phi1 = h * h * (3 - 2 * h);
    const double psi0 = h * (1 - h) * (1 - h);
    const double psi1 = h * h * (h - 1);
    fit[i] = phi0 * val[ll] + phi1 * val[ur] + (psi0 * slope[ll] + psi1 * slope[ur]) * width;
  }
  return fit;
}

}  // namespace scanpp::pp
