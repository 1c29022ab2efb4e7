#include "scanpp/core/numpy_sort.hpp"

#include <numeric>
#include <utility>

namespace scanpp {

namespace {

// numpy 1.24's introsort: median-of-3 quicksort, insertion sort for 16 or fewer
// elements, heapsort past the depth limit; NaNs sort last.
bool np_less(double a, double b) { return a < b || (b != b && a == a); }

void np_aheapsort(const double* v, int64_t* tosort, int64_t n) {
  int64_t* a = tosort - 1;  // 1-based heap indexing
  int64_t i, j, l, tmp;
  for (l = n >> 1; l > 0; --l) {
    tmp = a[l];
    for (i = l, j = l << 1; j <= n;) {
      if (j < n && np_less(v[a[j]], v[a[j + 1]])) j += 1;
      if (np_less(v[tmp], v[a[j]])) {
        a[i] = a[j];
        i = j;
        j += j;
      } else {
        break;
      }
    }
    a[i] = tmp;
  }
  for (; n > 1;) {
    tmp = a[n];
    a[n] = a[1];
    n -= 1;
    for (i = 1, j = 2; j <= n;) {
      if (j < n && np_less(v[a[j]], v[a[j + 1]])) j++;
      if (np_less(v[tmp], v[a[j]])) {
        a[i] = a[j];
        i = j;
        j += j;
      } else {
        break;
      }
    }
    a[i] = tmp;
  }
}

}  // namespace

std::vector<int64_t> numpy_argsort(const std::vector<double>& values) {
  const int64_t num = static_cast<int64_t>(values.size());
  std::vector<int64_t> idx(values.size());
  std::iota(idx.begin(), idx.end(), int64_t{0});
  if (num < 2) return idx;
  const double* v = values.data();
  int64_t* pl = idx.data();
  int64_t* pr = pl + num - 1;
  int64_t* stack[128];
  int64_t** sptr = stack;
  int depth[128];
  int* psdepth = depth;
  int cdepth = 0;
  for (uint64_t u = static_cast<uint64_t>(num); u >>= 1;) ++cdepth;
  cdepth *= 2;
  for (;;) {
    if (cdepth < 0) {
      np_aheapsort(v, pl, pr - pl + 1);
    } else {
      while ((pr - pl) > 15) {  // numpy SMALL_QUICKSORT
        int64_t* pm = pl + ((pr - pl) >> 1);
        if (np_less(v[*pm], v[*pl])) std::swap(*pm, *pl);
        if (np_less(v[*pr], v[*pm])) std::swap(*pr, *pm);
        if (np_less(v[*pm], v[*pl])) std::swap(*pm, *pl);
        const double vp = v[*pm];
        int64_t* pi = pl;
        int64_t* pj = pr - 1;
        std::swap(*pm, *pj);
        for (;;) {
          do ++pi;
          while (np_less(v[*pi], vp));
          do --pj;
          while (np_less(vp, v[*pj]));
          if (pi >= pj) break;
          std::swap(*pi, *pj);
        }
        int64_t* pk = pr - 1;
        std::swap(*pi, *pk);
        if (pi - pl < pr - pi) {
          *sptr++ = pi + 1;
          *sptr++ = pr;
          pr = pi - 1;
        } else {
          *sptr++ = pl;
          *sptr++ = pi - 1;
          pl = pi + 1;
        }
        *psdepth++ = --cdepth;
      }
      for (int64_t* pi = pl + 1; pi <= pr; ++pi) {
        const int64_t vi = *pi;
        const double vp = v[vi];
        int64_t* pj = pi;
        int64_t* pk = pi - 1;
        while (pj > pl && np_less(vp, v[*pk])) *pj-- = *pk--;
        *pj = vi;
      }
    }
    if (sptr == stack) break;
    pr = *(--sptr);
    pl = *(--sptr);
    cdepth = *(--psdepth);
  }
  return idx;
}

}  // namespace scanpp
