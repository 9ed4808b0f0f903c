#pragma once
// Element types. float64 exists for gradcheck; int64 for labels and counters; uint8 for raw images.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ember/core/error.h"

namespace ember {

enum class DType : uint8_t { Float32 = 0, Float64 = 1, Int64 = 2, UInt8 = 3, Bool = 4 };

constexpr DType kFloat32 = DType::Float32;
constexpr DType kFloat64 = DType::Float64;
constexpr DType kInt64 = DType::Int64;
constexpr DType kUInt8 = DType::UInt8;
constexpr DType kBool = DType::Bool;

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
    case DType::Bool: return 1;
  }
  EMBER_FAIL("unknown dtype code ", int(t));
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
  }
  return "unknown";
}

// Parses "float32", "float64", "int64", "uint8", "bool"; throws on anything else.
inline DType dtype_from_name(const std::string& name) {
  for (DType t : {kFloat32, kFloat64, kInt64, kUInt8, kBool})
    if (name == dtype_name(t)) return t;
  EMBER_FAIL("unknown dtype '", name, "' (known: float32, float64, int64, uint8, bool)");
}

inline bool is_floating(DType t) { return t == kFloat32 || t == kFloat64; }

// The dtype two operands of different dtypes meet in, as torch.promote_types: for Ember's dtypes
// the order bool < uint8 < int64 < float32 < float64, the larger wins (int64 + float32 is float32).
inline DType promote_types(DType a, DType b) {
  auto rank = [](DType t) {
    switch (t) {
      case DType::Bool: return 0;
      case DType::UInt8: return 1;
      case DType::Int64: return 2;
      case DType::Float32: return 3;
      case DType::Float64: return 4;
    }
    EMBER_FAIL("unknown dtype code ", int(t));
  };
  return rank(a) >= rank(b) ? a : b;
}

template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = kFloat32; };
template <> struct dtype_of<double> { static constexpr DType value = kFloat64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = kInt64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = kUInt8; };
template <> struct dtype_of<bool> { static constexpr DType value = kBool; };

// Calls f(T{}) with T the C++ type of `t`: EMBER_DISPATCH over all dtypes.
template <class F>
decltype(auto) dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    case DType::Int64: return f(int64_t{});
    case DType::UInt8: return f(uint8_t{});
    case DType::Bool: return f(bool{});
  }
  EMBER_FAIL("unknown dtype code ", int(t));
}

// Same, for the floating types only; `op` names the caller in the error.
template <class F>
decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  if (t == kFloat32) return f(float{});
  if (t == kFloat64) return f(double{});
  EMBER_FAIL(op, ": expected a float32 or float64 tensor, found ", dtype_name(t));
}

}  // namespace ember
