#pragma once
// ember-ckpt diff: two value trees compared key by key, tensors element by element. Integers (int
// values, int64, uint8 and bool tensors) are compared as integers, never widened to doubles, so
// 2^53 + 1 and 2^53 differ as they do on disk.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <unordered_map>

#include "ember/io/checkpoint_reader.h"
#include "tools/ckpt_text.h"

namespace ember::tools {

inline std::unordered_map<std::string, size_t> tensor_index(const io::CheckpointReader& r) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < r.tensors().size(); ++i) index.emplace(r.tensors()[i].name, i);
  return index;
}

// torch.allclose's rule, |a - b| <= atol + rtol * |b|: for doubles in double, for integers in long
// double, whose 64-bit mantissa holds every int64 and every |a - b| of two of them exactly.
template <class T> bool within(T x, T y, double atol, double rtol) {
  if (std::isnan(x) || std::isnan(y)) return false;  // bitwise-equal NaNs never get here
  if (std::isinf(x) || std::isinf(y)) return x == y;
  return std::fabs(x - y) <= T(atol) + T(rtol) * std::fabs(y);
}

// |a - b| of two integers, exact over the whole int64 range.
inline uint64_t int_distance(int64_t a, int64_t b) {
  return a >= b ? uint64_t(a) - uint64_t(b) : uint64_t(b) - uint64_t(a);
}

// Elements whose bits differ, those beyond the tolerance, and the largest |a - b| among them (NaN
// if one side is NaN); for integer tensors, that largest difference as an integer.
struct TensorDelta {
  double max_abs = 0;
  uint64_t max_abs_int = 0;
  int64_t differing = 0;
  int64_t beyond = 0;
};

// Compares in blocks of elements widened to double (or int64), so the extra memory is a block's,
// not a second and third copy of the tensors at eight bytes an element.
inline TensorDelta tensor_delta(const Tensor& a, const Tensor& b, double atol, double rtol) {
  constexpr int64_t kBlock = 1 << 16;
  TensorDelta d;
  const auto* ra = static_cast<const uint8_t*>(a.raw_data());
  const auto* rb = static_cast<const uint8_t*>(b.raw_data());
  const size_t width = dtype_size(a.dtype());
  const bool integer = !is_floating(a.dtype());
  for (int64_t start = 0; start < a.numel(); start += kBlock) {
    const int64_t n = std::min(kBlock, a.numel() - start);
    const uint8_t *pa = ra + size_t(start) * width, *pb = rb + size_t(start) * width;
    if (std::memcmp(pa, pb, size_t(n) * width) == 0) continue;
    if (integer) {
      std::vector<int64_t> va = from_blob(pa, {n}, a.dtype()).to_vector<int64_t>();
      std::vector<int64_t> vb = from_blob(pb, {n}, b.dtype()).to_vector<int64_t>();
      for (size_t i = 0; i < size_t(n); ++i) {
        if (va[i] == vb[i]) continue;
        ++d.differing;
        d.beyond += !within(static_cast<long double>(va[i]), static_cast<long double>(vb[i]), atol, rtol);
        d.max_abs_int = std::max(d.max_abs_int, int_distance(va[i], vb[i]));
      }
      continue;
    }
    std::vector<double> va = from_blob(pa, {n}, a.dtype()).to_vector<double>();
    std::vector<double> vb = from_blob(pb, {n}, b.dtype()).to_vector<double>();
    for (int64_t i = 0; i < n; ++i) {
      if (std::memcmp(pa + size_t(i) * width, pb + size_t(i) * width, width) == 0) continue;  // NaN == NaN here
      ++d.differing;
      d.beyond += !within(va[size_t(i)], vb[size_t(i)], atol, rtol);
      double diff = std::fabs(va[size_t(i)] - vb[size_t(i)]);
      if (std::isnan(diff)) d.max_abs = diff;  // sticky: a NaN on one side only is the biggest news
      else if (!std::isnan(d.max_abs)) d.max_abs = std::max(d.max_abs, diff);
    }
  }
  d.max_abs = std::max(d.max_abs, double(d.max_abs_int));
  return d;
}

// A number as the file holds it: an integer (an int value, an integer tensor's element) or a double.
struct Number {
  bool integer = false;
  int64_t i = 0;
  double d = 0;

  long double wide() const { return integer ? static_cast<long double>(i) : static_cast<long double>(d); }
  std::string str() const { return integer ? std::to_string(i) : number(d); }
  // The same number: two integers equal, two doubles bit for bit, an integer and a double equal in
  // value (PyTorch's 0-dim float tensor for Ember's int), -0.0 aside.
  bool same(const Number& o) const {
    if (integer && o.integer) return i == o.i;
    if (!integer && !o.integer) return std::memcmp(&d, &o.d, 8) == 0;
    double f = integer ? o.d : d;
    return wide() == o.wide() && !(f == 0 && std::signbit(f));
  }
};

// The value of a 0-dim (or one-element) tensor, exact for every dtype.
inline Number element(const Tensor& t) {
  Number n;
  n.integer = !is_floating(t.dtype());
  if (n.integer) n.i = t.to_vector<int64_t>()[0];
  else n.d = t.to_vector<double>()[0];
  return n;
}

struct Differ {
  io::CheckpointReader& a;
  io::CheckpointReader& b;
  double atol, rtol;
  std::unordered_map<std::string, size_t> ia, ib;
  size_t differences = 0;
  size_t close = 0;  // values and tensors that differ, but within the tolerance
  double close_max = 0;

  Differ(io::CheckpointReader& ra, io::CheckpointReader& rb, double at, double rt)
      : a(ra), b(rb), atol(at), rtol(rt), ia(tensor_index(ra)), ib(tensor_index(rb)) {}

  std::string shown(const std::string& path) const { return path.empty() ? "(root)" : path; }
  void report(char mark, const std::string& path, const std::string& what) {
    ++differences;
    std::cout << mark << " " << shown(path) << ": " << what << "\n";
  }
  std::string summary(const Value& v, io::CheckpointReader& r, const std::unordered_map<std::string, size_t>& idx,
                      const std::string& path) const {
    if (v.is_tensor()) return describe(r.tensors()[idx.at(path)]);
    if (v.is_dict() || v.is_list()) return std::string(v.kind_name()) + " of " + std::to_string(v.size());
    return scalar_str(v);
  }

  // A number as itself; a 0-dim tensor as its dtype and shape, then its value.
  std::string side(const Value& v, io::CheckpointReader& r, const std::unordered_map<std::string, size_t>& idx,
                   const std::string& path, const Number& n) const {
    return v.is_tensor() ? summary(v, r, idx, path) + " " + n.str() : n.str();
  }

  // A number, or a 0-dim tensor's value: PyTorch keeps an optimizer's lr or a loss as a 0-dim tensor
  // where Ember keeps a number (docs/interop.md), and the two forms of one value are not a difference.
  bool number_of(const Value& v, io::CheckpointReader& r, const std::unordered_map<std::string, size_t>& idx,
                 const std::string& path, Number& out) const {
    if (v.is_int()) {
      out.integer = true;
      out.i = v.as_int();
      return true;
    }
    if (v.is_double()) {
      out.d = v.as_double();
      return true;
    }
    if (!v.is_tensor() || !r.tensors()[idx.at(path)].shape.empty()) return false;
    out = element(r.read_tensor(idx.at(path)));
    return true;
  }

  void diff(const Value& x, const Value& y, const std::string& path) {
    if (x.kind() != y.kind()) {
      Number vx, vy;
      if (number_of(x, a, ia, path, vx) && number_of(y, b, ib, path, vy)) {
        if (vx.same(vy)) return;
        if (within(vx.wide(), vy.wide(), atol, rtol)) note_close(double(std::fabs(vx.wide() - vy.wide())));
        else report('~', path, side(x, a, ia, path, vx) + " -> " + side(y, b, ib, path, vy));
        return;
      }
      report('~', path, summary(x, a, ia, path) + " -> " + summary(y, b, ib, path));
      return;
    }
    if (x.is_dict()) {
      for (const auto& [key, child] : x.as_dict()) {
        std::string p = io::child_path(path, io::escape_key(key));
        if (!y.as_dict().contains(key)) report('-', p, summary(child, a, ia, p));
        else diff(child, y.as_dict().at(key), p);
      }
      for (const auto& [key, child] : y.as_dict()) {
        std::string p = io::child_path(path, io::escape_key(key));
        if (!x.as_dict().contains(key)) report('+', p, summary(child, b, ib, p));
      }
    } else if (x.is_list()) {
      for (size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
        std::string p = io::child_path(path, std::to_string(i));
        if (i >= y.size()) report('-', p, summary(x.at(i), a, ia, p));
        else if (i >= x.size()) report('+', p, summary(y.at(i), b, ib, p));
        else diff(x.at(i), y.at(i), p);
      }
    } else if (x.is_tensor()) {
      diff_tensor(path);
    } else if (x.is_double()) {
      if (bits(x.as_double()) == bits(y.as_double())) return;
      if (!within(x.as_double(), y.as_double(), atol, rtol)) report('~', path, scalar_str(x) + " -> " + scalar_str(y));
      else note_close(std::fabs(x.as_double() - y.as_double()));
    } else {
      // Ints compare as int64 (scalar_str prints them exactly), strings byte for byte.
      bool same = x.is_string() ? x.as_string() == y.as_string() : x.is_int() ? x.as_int() == y.as_int()
                                                                             : scalar_str(x) == scalar_str(y);
      if (!same) report('~', path, scalar_str(x) + " -> " + scalar_str(y));
    }
  }

  void note_close(double diff) {
    ++close;
    close_max = std::max(close_max, diff);
  }

  static uint64_t bits(double v) {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    return u;
  }

  void diff_tensor(const std::string& path) {
    size_t i = ia.at(path), j = ib.at(path);
    const io::TensorInfo &ta = a.tensors()[i], &tb = b.tensors()[j];
    if (ta.dtype != tb.dtype || ta.shape != tb.shape) {
      report('~', path, describe(ta) + " -> " + describe(tb));
      return;
    }
    if (ta.device != tb.device) report('~', path, "device " + ta.device.str() + " -> " + tb.device.str());
    Tensor x = a.read_tensor(i), y = b.read_tensor(j);
    TensorDelta d = tensor_delta(x, y, atol, rtol);
    if (!d.differing) return;
    if (!d.beyond) {
      note_close(d.max_abs);
      return;
    }
    std::string max_abs = is_floating(ta.dtype) ? number(d.max_abs) : std::to_string(d.max_abs_int);
    if (x.numel() == 1)  // a 0-dim tensor (a step count, a loss) is shown by its value
      report('~', path, describe(ta) + " " + element(x).str() + " -> " + element(y).str());
    else
      report('~', path, std::to_string(d.beyond) + " of " + std::to_string(shape_numel(ta.shape)) +
                            " elements differ" + (atol > 0 || rtol > 0 ? " beyond the tolerance" : "") +
                            ", max abs difference " + max_abs);
  }
};

}  // namespace ember::tools
