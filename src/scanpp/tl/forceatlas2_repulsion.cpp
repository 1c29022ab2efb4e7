#include "scanpp/tl/forceatlas2_repulsion.hpp"

#include <cstring>

namespace scanpp::tl {

namespace {

// Eight float lanes as a GCC vector: each operation is IEEE per lane and
// ISO C++ does not contract to FMA, so the AVX2 clone and the plain one give
// the same bits.
using Lanes = float __attribute__((vector_size(kForceAtlas2Lanes * sizeof(float))));

// by reference: returning a vector type by value warns about its ABI
inline void load(Lanes& v, const float* p) { std::memcpy(&v, p, sizeof v); }

}  // namespace

__attribute__((target_clones("avx2", "default"))) void forceatlas2_repulsion_sums(const MortonQuadtree::List& list,
                                                                                   const float* px, const float* py,
                                                                                   int np, double* fx, double* fy) {
  const float* lx = list.x.data();
  const float* ly = list.y.data();
  const float* lw = list.w.data();
  const int64_t m = list.n;
  // squared distances below this are the point itself or a coincident one;
  // it also keeps w / d² finite in float
  const Lanes near = Lanes{} + 1e-30f;
  for (int p = 0; p < np; ++p) {
    const Lanes xi = Lanes{} + px[p], yi = Lanes{} + py[p];
    Lanes sx{}, sy{};
    for (int64_t j = 0; j < m; j += kForceAtlas2Lanes) {
      Lanes x, y, w;
      load(x, lx + j);
      load(y, ly + j);
      load(w, lw + j);
      const Lanes dx = xi - x, dy = yi - y;
      const Lanes d2 = dx * dx + dy * dy;
      const Lanes far = d2 > near ? d2 : Lanes{} + 1.0f;
      const Lanes f = d2 > near ? w / far : Lanes{};
      sx += f * dx;
      sy += f * dy;
    }
    double ax = 0.0, ay = 0.0;
    for (int l = 0; l < kForceAtlas2Lanes; ++l) {
      ax += static_cast<double>(sx[l]);
      ay += static_cast<double>(sy[l]);
    }
    fx[p] = ax;
    fy[p] = ay;
  }
}

}  // namespace scanpp::tl
