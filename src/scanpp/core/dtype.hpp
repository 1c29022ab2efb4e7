#pragma once
// Element types of numeric arrays, mirroring the numpy dtypes h5ad files carry.
#include <cstdint>
#include <string>
#include <type_traits>

#include "scanpp/core/error.hpp"

namespace scanpp {

enum class DType : uint8_t { Bool, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float32, Float64 };

// Booleans are held as one byte, 0 or 1, as numpy does.
struct Bool8 {
  uint8_t v = 0;
  Bool8() = default;
  Bool8(bool b) : v(b ? 1 : 0) {}  // NOLINT: implicit by design
  operator bool() const { return v != 0; }
};
static_assert(sizeof(Bool8) == 1);

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<Bool8>() { return DType::Bool; }
template <> constexpr DType dtype_of<int8_t>() { return DType::Int8; }
template <> constexpr DType dtype_of<int16_t>() { return DType::Int16; }
template <> constexpr DType dtype_of<int32_t>() { return DType::Int32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<uint16_t>() { return DType::UInt16; }
template <> constexpr DType dtype_of<uint32_t>() { return DType::UInt32; }
template <> constexpr DType dtype_of<uint64_t>() { return DType::UInt64; }
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Bool: case DType::Int8: case DType::UInt8: return 1;
    case DType::Int16: case DType::UInt16: return 2;
    case DType::Int32: case DType::UInt32: case DType::Float32: return 4;
    default: return 8;
  }
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::UInt16: return "uint16";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

inline bool dtype_is_float(DType t) { return t == DType::Float32 || t == DType::Float64; }
inline bool dtype_is_integer(DType t) { return !dtype_is_float(t) && t != DType::Bool; }

// Calls f(T{}) with the C++ type behind a dtype.
template <class F>
decltype(auto) dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Bool: return f(Bool8{});
    case DType::Int8: return f(int8_t{});
    case DType::Int16: return f(int16_t{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::UInt16: return f(uint16_t{});
    case DType::UInt32: return f(uint32_t{});
    case DType::UInt64: return f(uint64_t{});
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
  }
  throw Error("unknown dtype");
}

template <class T>
inline double to_double(T v) {
  if constexpr (std::is_same_v<T, Bool8>) return v.v ? 1.0 : 0.0;
  else return static_cast<double>(v);
}

}  // namespace scanpp
