#pragma once
// Transparent huge pages for large fresh buffers. A new buffer's pages are
// faulted in one by one when first written; in this VM each 4 KiB fault costs
// about a microsecond, so copying an 18 MB matrix spent more time in faults
// than in the copy. Where the kernel's THP mode is "madvise" (the default),
// asking for huge pages over a buffer that is about to be written makes that
// one fault per 2 MiB. Contents and results are unaffected; where THP is off,
// or the buffer is already resident, the advice changes nothing.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace scanpp {

// Fresh buffers from this size on are worth the advice (smaller ones hold at
// most one 2 MiB-aligned page, and often none).
inline constexpr size_t kHugePageAdviceBytes = size_t{4} << 20;

// Advises huge pages over the 2 MiB-aligned part of [p, p + bytes). Call it
// before the buffer is first written (after an uninitialised allocation).
inline void advise_huge_pages(const void* p, size_t bytes) {
  constexpr uintptr_t k2M = uintptr_t{2} << 20;
  const auto b = reinterpret_cast<uintptr_t>(p);
  const uintptr_t a = (b + k2M - 1) & ~(k2M - 1), e = (b + bytes) & ~(k2M - 1);
  if (e > a) madvise(reinterpret_cast<void*>(a), e - a, MADV_HUGEPAGE);
}

// v.resize(n) for a vector about to grow from empty to a large size: its
// zero-fill then writes huge pages (one fault per 2 MiB instead of one per
// 4 KiB), for outputs that std::vector's type must hold.
template <class Vector>
void resize_on_huge_pages(Vector& v, size_t n) {
  if (v.capacity() < n) {
    v.reserve(n);
    advise_huge_pages(v.data(), v.capacity() * sizeof(typename Vector::value_type));
  }
  v.resize(n);
}

}  // namespace scanpp
