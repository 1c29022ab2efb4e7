#pragma once
// A typed n-dimensional array in row-major order: dense matrices, DataFrame
// columns, numeric uns entries and numeric scalars (rank 0) all use it, so
// that any numpy dtype read from a file is kept as it was.
#include <cstring>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "scanpp/core/dtype.hpp"
#include "scanpp/core/huge_pages.hpp"

namespace scanpp {

// std::allocator whose value-initialisation of a byte does nothing, so that
// resize() leaves new bytes unwritten (Array::uninitialized).
template <class T>
struct NoInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = NoInitAllocator<U>;
  };
  NoInitAllocator() = default;
  template <class U>
  NoInitAllocator(const NoInitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  // Large buffers get huge pages before anything writes them.
  T* allocate(size_t n) {
    T* p = std::allocator<T>::allocate(n);
    if (n * sizeof(T) >= kHugePageAdviceBytes) advise_huge_pages(p, n * sizeof(T));
    return p;
  }
};

class Array {
 public:
  Array() = default;
  Array(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
    bytes_.assign(static_cast<size_t>(size()) * dtype_size(dtype_), std::byte{0});
  }
  // Contents undefined until written: for outputs that a parallel loop fills
  // completely, so that the pages are first touched (and faulted in) by the
  // threads that write them instead of by one thread's zero-fill.
  static Array uninitialized(DType dtype, std::vector<int64_t> shape) {
    Array a;
    a.dtype_ = dtype;
    a.shape_ = std::move(shape);
    a.bytes_.resize(static_cast<size_t>(a.size()) * dtype_size(dtype));
    return a;
  }

  template <class T>
  static Array from_vector(const std::vector<T>& v, std::vector<int64_t> shape = {}) {
    if (shape.empty()) shape = {static_cast<int64_t>(v.size())};
    Array a(dtype_of<T>(), std::move(shape));
    if (static_cast<size_t>(a.size()) != v.size()) throw Error("Array::from_vector: size does not match shape");
    if (!v.empty()) std::memcpy(a.bytes_.data(), v.data(), v.size() * sizeof(T));
    return a;
  }
  template <class T>
  static Array scalar(T v) {
    Array a(dtype_of<T>(), {});
    std::memcpy(a.bytes_.data(), &v, sizeof(T));
    return a;
  }

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t size() const {
    return std::accumulate(shape_.begin(), shape_.end(), int64_t{1}, std::multiplies<>());
  }
  int64_t rows() const { return shape_.empty() ? 1 : shape_[0]; }
  int64_t cols() const { return shape_.size() < 2 ? 1 : size() / std::max<int64_t>(shape_[0], 1); }
  bool is_scalar() const { return shape_.empty(); }

  // Keeps the first n elements of a 1-D array. The buffer keeps its capacity:
  // shrinking would copy, and this exists to avoid a second copy.
  void truncate(int64_t n) {
    if (ndim() != 1 || n < 0 || n > size()) throw Error("Array::truncate: needs a 1-D array and 0 <= n <= size");
    bytes_.resize(static_cast<size_t>(n) * dtype_size(dtype_));
    shape_ = {n};
  }

  void* raw() { return bytes_.data(); }
  const void* raw() const { return bytes_.data(); }
  size_t nbytes() const { return bytes_.size(); }

  template <class T>
  std::span<T> as() {
    check<T>();
    return {reinterpret_cast<T*>(bytes_.data()), static_cast<size_t>(size())};
  }
  template <class T>
  std::span<const T> as() const {
    check<T>();
    return {reinterpret_cast<const T*>(bytes_.data()), static_cast<size_t>(size())};
  }
  template <class T>
  T scalar_value() const {
    return as<T>()[0];
  }
  // Any numeric element as double (for printing, comparisons, conversions).
  double get_double(int64_t i) const {
    return dispatch_dtype(dtype_, [&](auto t) {
      using T = decltype(t);
      return to_double(reinterpret_cast<const T*>(bytes_.data())[i]);
    });
  }

  // Converted copy; float to int truncates as numpy's astype does.
  Array astype(DType to) const {
    if (to == dtype_) return *this;
    Array out(to, shape_);
    dispatch_dtype(dtype_, [&](auto s) {
      using S = decltype(s);
      dispatch_dtype(to, [&](auto d) {
        using D = decltype(d);
        const S* src = reinterpret_cast<const S*>(bytes_.data());
        D* dst = reinterpret_cast<D*>(out.bytes_.data());
        const int64_t n = size();
        for (int64_t i = 0; i < n; ++i) {
          if constexpr (std::is_same_v<D, Bool8>) dst[i] = Bool8(to_double(src[i]) != 0.0);
          else if constexpr (std::is_same_v<S, Bool8>) dst[i] = static_cast<D>(src[i].v);
          else dst[i] = static_cast<D>(src[i]);
        }
      });
    });
    return out;
  }
  template <class T>
  std::vector<T> to_vector() const {
    Array c = astype(dtype_of<T>());
    auto s = c.as<T>();
    return {s.begin(), s.end()};
  }

  void reshape(std::vector<int64_t> shape) {
    int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
    if (n != size()) throw Error("Array::reshape: size mismatch");
    shape_ = std::move(shape);
  }

  // Rows (first axis) selected by index, in the given order.
  Array take_rows(std::span<const int64_t> idx) const {
    std::vector<int64_t> s = shape_;
    if (s.empty()) throw Error("Array::take_rows on a scalar");
    s[0] = static_cast<int64_t>(idx.size());
    Array out(dtype_, s);
    const size_t row_bytes = shape_[0] ? bytes_.size() / static_cast<size_t>(shape_[0]) : 0;
    for (size_t k = 0; k < idx.size(); ++k)
      std::memcpy(out.bytes_.data() + k * row_bytes, bytes_.data() + static_cast<size_t>(idx[k]) * row_bytes,
                  row_bytes);
    return out;
  }
  // Columns of a 2-D array selected by index.
  Array take_cols(std::span<const int64_t> idx) const {
    if (ndim() != 2) throw Error("Array::take_cols needs a 2-D array");
    Array out(dtype_, {shape_[0], static_cast<int64_t>(idx.size())});
    const size_t es = dtype_size(dtype_);
    for (int64_t r = 0; r < shape_[0]; ++r)
      for (size_t k = 0; k < idx.size(); ++k)
        std::memcpy(out.bytes_.data() + (static_cast<size_t>(r) * idx.size() + k) * es,
                    bytes_.data() + (static_cast<size_t>(r * shape_[1] + idx[k])) * es, es);
    return out;
  }

  bool operator==(const Array& o) const {
    return dtype_ == o.dtype_ && shape_ == o.shape_ && bytes_ == o.bytes_;
  }

 private:
  template <class T>
  void check() const {
    if (dtype_of<std::remove_const_t<T>>() != dtype_)
      throw Error(std::string("array holds ") + dtype_name(dtype_) + ", accessed as " +
                  dtype_name(dtype_of<std::remove_const_t<T>>()));
  }
  DType dtype_ = DType::Float32;
  std::vector<int64_t> shape_{0};
  std::vector<std::byte, NoInitAllocator<std::byte>> bytes_;
};

// Strings of any shape (h5ad string-array); 1-D in practice.
struct StringArray {
  std::vector<std::string> values;
  std::vector<int64_t> shape;  // empty means 1-D of values.size()
  bool operator==(const StringArray&) const = default;
};

}  // namespace scanpp
