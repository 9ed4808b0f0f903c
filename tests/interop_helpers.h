#pragma once
// Helpers for the PyTorch / safetensors interop tests: loading by detected format, exact comparison
// of value trees, MNIST pixels from the fixtures, and hand-made zip archives.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ember/io/atomic_file.h"
#include "ember/io/interop/detect.h"
#include "ember/io/interop/pth.h"
#include "ember/io/interop/pth_reader.h"
#include "ember/io/interop/safetensors.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/interop/zip.h"
#include "io_helpers.h"

namespace ember::test {

inline std::string fixture_path(const std::string& name) { return std::string(EMBER_FIXTURE_DIR) + "/" + name; }

// Every load in these tests goes through ember::load, which recognises the format by content.
inline Value load_file(const std::string& path, const std::string& map_location = "cpu") {
  return ember::load(path, map_location);
}

// Where two trees differ, bit for bit (doubles and tensor bytes compared as bits); "" if identical.
inline std::string tree_difference(const Value& a, const Value& b, const std::string& path = "") {
  std::string at = path.empty() ? "(root)" : path;
  if (a.kind() != b.kind()) return at + ": " + a.kind_name() + " vs " + b.kind_name();
  switch (a.kind()) {
    case Value::Kind::None: return "";
    case Value::Kind::Bool: return a.as_bool() == b.as_bool() ? "" : at + ": bools differ";
    case Value::Kind::Int: return a.as_int() == b.as_int() ? "" : at + ": ints differ";
    case Value::Kind::Double: {
      double x = a.as_double(), y = b.as_double();
      return std::memcmp(&x, &y, 8) == 0 ? "" : at + ": doubles differ";
    }
    case Value::Kind::String: return a.as_string() == b.as_string() ? "" : at + ": strings differ";
    case Value::Kind::Tensor: {
      const Tensor &x = a.as_tensor(), &y = b.as_tensor();
      if (x.dtype() != y.dtype() || x.shape() != y.shape()) return at + ": tensor dtype or shape differs";
      Tensor hx = x.cpu(), hy = y.cpu();
      if (hx.nbytes() && std::memcmp(hx.raw_data(), hy.raw_data(), hx.nbytes()) != 0) return at + ": tensor bytes differ";
      return "";
    }
    case Value::Kind::List:
      if (a.size() != b.size()) return at + ": list sizes differ";
      for (size_t i = 0; i < a.size(); ++i) {
        std::string d = tree_difference(a.at(i), b.at(i), io::child_path(path, std::to_string(i)));
        if (!d.empty()) return d;
      }
      return "";
    case Value::Kind::Dict: {
      if (a.as_dict().keys() != b.as_dict().keys()) return at + ": dict keys (or their order) differ";
      for (const auto& [key, child] : a.as_dict()) {
        std::string d = tree_difference(child, b.at(key), io::child_path(path, io::escape_key(key)));
        if (!d.empty()) return d;
      }
      return "";
    }
  }
  return at + ": unknown kind";
}

// A batch of MNIST images from a fixture's raw pixels, normalised as Ember's MNIST dataset does.
inline Tensor mnist_batch(const nlohmann::json& pixels) {
  Tensor raw = tensor_from_json(pixels);
  std::vector<int64_t> px = raw.to_vector<int64_t>();
  std::vector<float> x(px.size());
  for (size_t i = 0; i < px.size(); ++i) x[i] = (float(px[i]) / 255.0f - float(0.1307)) / float(0.3081);
  return from_vector(x, raw.shape());
}

// A zip archive of stored entries, in order, written with Ember's own zip writer.
inline void write_archive(const std::string& path, const std::vector<std::pair<std::string, std::string>>& entries) {
  io::AtomicFile file(path);
  io::ZipWriter zip(file);
  for (const auto& [name, data] : entries) zip.add(name, data.data(), data.size());
  zip.finish();
  file.commit(false);
}

inline std::string as_string(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

}  // namespace ember::test
