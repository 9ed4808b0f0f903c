#pragma once
// ember-ckpt's text: quoting untrusted names, numbers that read back exactly, aligned tables,
// per-tensor statistics and a tensor's values printed as nested lists (as torch prints them).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ember/core/tensor.h"
#include "ember/core/value.h"
#include "ember/io/checkpoint_reader.h"

namespace ember::tools {

inline std::string quote(const std::string& s, size_t limit = 80) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') out += std::string("\\") + char(c);
    else if (c == '\n') out += "\\n";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else out += char(c);
  }
  out += "\"";
  if (s.size() > limit) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

// The shortest text that reads back as the same double; "1.0" rather than "1".
inline std::string number(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (std::isfinite(v) && s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

// Six significant digits, for statistics and printed values.
inline std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

inline std::string describe(const io::TensorInfo& t) {
  std::string s = std::string("tensor ") + dtype_name(t.dtype) + " " + shape_str(t.shape);
  if (!t.device.is_cpu()) s += " on " + t.device.str();
  return s;
}

inline std::string scalar_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None: return "none";
    case Value::Kind::Bool: return v.as_bool() ? "true" : "false";
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::Double: return number(v.as_double());
    case Value::Kind::String: return quote(v.as_string());
    case Value::Kind::Dict: return v.size() ? "dict of " + std::to_string(v.size()) : "{}";
    case Value::Kind::List: return v.size() ? "list of " + std::to_string(v.size()) : "[]";
    default: return v.kind_name();
  }
}

// Columns padded to their widest cell; numeric columns (right = true) aligned on the right.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right = {})
      : right_(std::move(right)) {
    right_.resize(header.size(), false);
    rows_.push_back(std::move(header));
  }
  void add(std::vector<std::string> row) {
    row.resize(rows_[0].size());
    rows_.push_back(std::move(row));
  }
  size_t size() const { return rows_.size() - 1; }
  std::string str(const std::string& indent = "  ") const {
    std::vector<size_t> width(rows_[0].size(), 0);
    for (const auto& r : rows_)
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    std::string out;
    for (const auto& r : rows_) {
      std::string line = indent;
      for (size_t i = 0; i < r.size(); ++i) {
        std::string pad(width[i] - r[i].size(), ' ');
        line += right_[i] ? pad + r[i] : r[i] + (i + 1 < r.size() ? pad : "");
        if (i + 1 < r.size()) line += "  ";
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Mean, std (with Bessel's correction, torch.std's default), min and max of the finite elements,
// and how many are NaN and how many infinite.
// An integer tensor's min and max are kept exact as well (imin, imax), to print every digit.
struct TensorStats {
  double mean = NAN, std = NAN, min = NAN, max = NAN;
  int64_t nan = 0, inf = 0;
  bool integer = false;
  int64_t imin = 0, imax = 0;
};

inline TensorStats tensor_stats(const Tensor& t) {
  TensorStats s;
  if (!is_floating(t.dtype()) && t.numel() > 0) {
    std::vector<int64_t> iv = t.to_vector<int64_t>();
    auto [lo, hi] = std::minmax_element(iv.begin(), iv.end());
    s.integer = true, s.imin = *lo, s.imax = *hi;
  }
  std::vector<double> v = t.to_vector<double>();
  double sum = 0;
  int64_t n = 0;
  for (double x : v) {
    if (std::isnan(x)) ++s.nan;
    else if (std::isinf(x)) ++s.inf;
    else {
      sum += x;
      ++n;
      s.min = n == 1 ? x : std::min(s.min, x);
      s.max = n == 1 ? x : std::max(s.max, x);
    }
  }
  if (n == 0) return s;
  s.mean = sum / double(n);
  double ss = 0;
  for (double x : v)
    if (std::isfinite(x)) ss += (x - s.mean) * (x - s.mean);
  s.std = n > 1 ? std::sqrt(ss / double(n - 1)) : NAN;
  return s;
}

// A tensor's values as nested lists, torch's way: past `threshold` elements, each dimension shows
// its first and last `edge` entries around "...".
// Integer tensors (int64, uint8, bool) print as integers, every digit: `v` holds int64_t for them.
inline std::string element_str(double v) { return short_number(v); }
inline std::string element_str(int64_t v) { return std::to_string(v); }

template <class T>
void print_values(const std::vector<T>& v, const Shape& shape, size_t dim, int64_t offset, int64_t threshold,
                  std::string& out, int depth = 0, int edge = 3) {
  if (shape.empty()) {
    out += element_str(v[size_t(offset)]);
    return;
  }
  int64_t n = shape[dim], inner = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
  bool cut = int64_t(v.size()) > threshold && n > 2 * edge;
  out += "[";
  for (int64_t i = 0; i < n; ++i) {
    if (cut && i == edge) {
      out += dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(size_t(depth + 1), ' ');
      i = n - edge - 1;
      continue;
    }
    if (dim + 1 == shape.size()) out += element_str(v[size_t(offset + i)]);
    else print_values(v, shape, dim + 1, offset + i * inner, threshold, out, depth + 1, edge);
    if (i + 1 < n) out += dim + 1 == shape.size() ? ", " : ",\n" + std::string(size_t(depth + 1), ' ');
  }
  out += "]";
}

}  // namespace ember::tools
