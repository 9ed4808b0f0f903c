// ember-ckpt: inspect, compare, verify and cut up checkpoint files.
// Everything format-specific sits behind io::CheckpointReader (io/checkpoint_reader.h), so a reader
// for another format (PyTorch .pth, safetensors) plugs in through io::open_checkpoint alone.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <unordered_map>

#include "ember/io/checkpoint_reader.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/interop/pth.h"
#include "ember/io/interop/safetensors.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/text.h"

using namespace ember;
using io::CheckpointReader;
using io::TensorInfo;
using io::hex32;

namespace {

constexpr int kOk = 0, kDifferent = 1, kUsage = 2;

const char* kHelp = R"(usage: ember-ckpt COMMAND ARGS...

Commands:
  inspect FILE           print the tree, then each tensor's name, dtype, shape, bytes and checksum
                         status, then totals (exit 1 if a checksum fails)
  diff A B               print keys only in A (-), only in B (+), and changes (~): kinds, values,
                         dtypes, shapes, and each differing tensor's largest absolute difference
                         (exit 0 only when the two hold identical trees and identical tensor bits)
  verify FILE            check the file's structure and every tensor's checksum
                         (exit 0 only when the file is whole and every checksum matches)
  extract FILE KEY OUT   save the subtree at KEY as a standalone checkpoint OUT, e.g.
                           ember-ckpt extract ckpt.ember model_state_dict model.ember
  convert IN OUT --to ember|pth|safetensors [--floats-as-tensors]
                         write IN in another format, refusing with the reason what that format
                         cannot hold (safetensors holds only a flat dict of tensors and string
                         metadata: extract a checkpoint's model_state_dict first); with
                         --floats-as-tensors a .pth's floats become 0-dim float64 tensors, which
                         torch.load(weights_only=True) before PyTorch 2.0 needs

FILE, A, B and IN may each be an Ember checkpoint, a PyTorch .pth (torch.save) or a safetensors
file: the format is recognised by the file's content, never by its name.

Keys are paths: dict keys and list indices joined by '/', with '~' written "~0" and '/' written
"~1" inside a key ("model_state_dict/conv1.weight", "history/0").

Exit codes: 0 success, 1 differences or damage found (or the file could not be read), 2 bad usage.
)";

std::string quote(const std::string& s, size_t limit = 80) {
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

std::string number(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (std::isfinite(v) && s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string describe(const TensorInfo& t) {
  std::string s = std::string("tensor ") + dtype_name(t.dtype) + " " + shape_str(t.shape);
  if (!t.device.is_cpu()) s += " on " + t.device.str();
  return s;
}

std::string scalar_str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::None: return "none";
    case Value::Kind::Bool: return v.as_bool() ? "true" : "false";
    case Value::Kind::Int: return std::to_string(v.as_int());
    case Value::Kind::Double: return number(v.as_double());
    case Value::Kind::String: return quote(v.as_string());
    default: return v.kind_name();
  }
}

struct TablePrinter {
  const CheckpointReader& reader;
  std::unordered_map<std::string, size_t> index;

  explicit TablePrinter(const CheckpointReader& r) : reader(r) {
    for (size_t i = 0; i < r.tensors().size(); ++i) index.emplace(r.tensors()[i].name, i);
  }

  void print(const Value& v, const std::string& path, int indent, std::ostream& os) const {
    std::string pad(size_t(indent) * 2, ' ');
    constexpr size_t kMaxItems = 50;
    if (v.is_dict()) {
      if (v.size() == 0) { os << "{}\n"; return; }
      os << "{\n";
      size_t shown = 0;
      for (const auto& [key, child] : v.as_dict()) {
        if (shown++ == kMaxItems) { os << pad << "  ... (" << v.size() - kMaxItems << " more keys)\n"; break; }
        os << pad << "  " << quote(key) << ": ";
        print(child, io::child_path(path, io::escape_key(key)), indent + 1, os);
      }
      os << pad << "}\n";
    } else if (v.is_list()) {
      if (v.size() == 0) { os << "[]\n"; return; }
      os << "[\n";
      for (size_t i = 0; i < v.size(); ++i) {
        if (i == kMaxItems) { os << pad << "  ... (" << v.size() - kMaxItems << " more items)\n"; break; }
        os << pad << "  " << i << ": ";
        print(v.at(i), io::child_path(path, std::to_string(i)), indent + 1, os);
      }
      os << pad << "]\n";
    } else if (v.is_tensor()) {
      auto it = index.find(path);
      os << (it == index.end() ? std::string("tensor (missing from the table)") : describe(reader.tensors()[it->second]))
         << "\n";
    } else {
      os << scalar_str(v) << "\n";
    }
  }
};

int cmd_inspect(const std::string& file) {
  auto reader = io::open_checkpoint(file);
  const auto& table = reader->tensors();
  std::cout << file << ": " << reader->format() << ", " << reader->file_size() << " bytes\n";
  if (auto* st = dynamic_cast<io::SafetensorsReader*>(reader.get()); st && !st->metadata().empty()) {
    std::cout << "metadata:\n";
    for (const auto& [key, value] : st->metadata()) std::cout << "  " << quote(key) << ": " << quote(value) << "\n";
  }
  TablePrinter(*reader).print(reader->skeleton(), "", 0, std::cout);

  std::cout << "\ntensors:\n";
  uint64_t bytes = 0, elements = 0;
  size_t bad = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    const TensorInfo& t = table[i];
    std::string problem = reader->check_tensor(i);
    std::string status = !t.has_checksum ? "no checksum" : problem.empty() ? "ok " + hex32(t.crc32) : "BAD: " + problem;
    bad += !problem.empty();
    bytes += t.nbytes;
    elements += uint64_t(shape_numel(t.shape));
    std::cout << "  " << quote(t.name, 200) << "  " << dtype_name(t.dtype) << "  " << shape_str(t.shape) << "  "
              << t.nbytes << " bytes" << (t.device.is_cpu() ? "" : "  " + t.device.str()) << "  " << status << "\n";
  }
  std::cout << "\ntotal: " << table.size() << " tensors, " << elements << " elements, " << bytes
            << " bytes of tensor data; " << table.size() - bad << " checksums ok, " << bad << " bad\n";
  return bad ? kDifferent : kOk;
}

int cmd_verify(const std::string& file) {
  std::unique_ptr<CheckpointReader> reader;
  try {
    reader = io::open_checkpoint(file);
  } catch (const Error& e) {
    std::cout << file << ": INVALID: " << e.what() << "\n";
    return kDifferent;
  }
  size_t bad = 0;
  const auto& table = reader->tensors();
  for (size_t i = 0; i < table.size(); ++i) {
    std::string problem = reader->check_tensor(i);
    if (!problem.empty()) {
      std::cout << "BAD " << quote(table[i].name, 200) << ": " << problem << "\n";
      ++bad;
    }
  }
  if (bad) {
    std::cout << file << ": DAMAGED: " << bad << " of " << table.size() << " tensors fail their checksum\n";
    return kDifferent;
  }
  bool checksums = std::any_of(table.begin(), table.end(), [](const TensorInfo& t) { return t.has_checksum; });
  std::cout << file << ": OK (" << reader->format() << ", " << table.size() << " tensors, " << reader->file_size()
            << (checksums || table.empty() ? " bytes, every checksum matches)\n"
                                           : " bytes, layout valid; this format has no checksums)\n");
  return kOk;
}

// Elements whose bits differ, and the largest |a - b| among them as doubles (NaN if one side is NaN).
struct TensorDelta {
  double max_abs = 0;
  int64_t differing = 0;
};
TensorDelta tensor_delta(const Tensor& a, const Tensor& b) {
  TensorDelta d;
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  const auto* ra = static_cast<const uint8_t*>(a.raw_data());
  const auto* rb = static_cast<const uint8_t*>(b.raw_data());
  size_t width = dtype_size(a.dtype());
  for (size_t i = 0; i < va.size(); ++i) {
    if (std::memcmp(ra + i * width, rb + i * width, width) == 0) continue;  // same bits (NaN == NaN here)
    ++d.differing;
    double diff = std::fabs(va[i] - vb[i]);
    if (std::isnan(diff)) d.max_abs = diff;  // sticky: a NaN on one side only is the biggest news
    else if (!std::isnan(d.max_abs)) d.max_abs = std::max(d.max_abs, diff);
  }
  return d;
}

struct Differ {
  CheckpointReader& a;
  CheckpointReader& b;
  std::unordered_map<std::string, size_t> ia, ib;
  size_t differences = 0;

  Differ(CheckpointReader& ra, CheckpointReader& rb) : a(ra), b(rb) {
    for (size_t i = 0; i < a.tensors().size(); ++i) ia.emplace(a.tensors()[i].name, i);
    for (size_t i = 0; i < b.tensors().size(); ++i) ib.emplace(b.tensors()[i].name, i);
  }

  std::string shown(const std::string& path) const { return path.empty() ? "(root)" : path; }
  void report(char mark, const std::string& path, const std::string& what) {
    ++differences;
    std::cout << mark << " " << shown(path) << ": " << what << "\n";
  }
  std::string summary(const Value& v, CheckpointReader& r, const std::unordered_map<std::string, size_t>& idx,
                      const std::string& path) const {
    if (v.is_tensor()) return describe(r.tensors()[idx.at(path)]);
    if (v.is_dict() || v.is_list()) return std::string(v.kind_name()) + " of " + std::to_string(v.size());
    return scalar_str(v);
  }

  void diff(const Value& x, const Value& y, const std::string& path) {
    if (x.kind() != y.kind()) {
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
    } else {
      bool same = x.is_double() ? bits(x.as_double()) == bits(y.as_double())
                  : x.is_string() ? x.as_string() == y.as_string()
                                  : scalar_str(x) == scalar_str(y);
      if (!same) report('~', path, scalar_str(x) + " -> " + scalar_str(y));
    }
  }

  static uint64_t bits(double v) {
    uint64_t u;
    std::memcpy(&u, &v, 8);
    return u;
  }

  void diff_tensor(const std::string& path) {
    size_t i = ia.at(path), j = ib.at(path);
    const TensorInfo &ta = a.tensors()[i], &tb = b.tensors()[j];
    if (ta.dtype != tb.dtype || ta.shape != tb.shape) {
      report('~', path, describe(ta) + " -> " + describe(tb));
      return;
    }
    if (ta.device != tb.device) report('~', path, "device " + ta.device.str() + " -> " + tb.device.str());
    TensorDelta d = tensor_delta(a.read_tensor(i), b.read_tensor(j));
    if (d.differing)
      report('~', path, std::to_string(d.differing) + " of " + std::to_string(shape_numel(ta.shape)) +
                            " elements differ, max abs difference " + number(d.max_abs));
  }
};

int cmd_diff(const std::string& file_a, const std::string& file_b) {
  auto a = io::open_checkpoint(file_a);
  auto b = io::open_checkpoint(file_b);
  Differ differ(*a, *b);
  differ.diff(a->skeleton(), b->skeleton(), "");
  if (differ.differences == 0) {
    std::cout << "identical\n";
    return kOk;
  }
  std::cout << differ.differences << " difference" << (differ.differences == 1 ? "" : "s") << "\n";
  return kDifferent;
}

int cmd_extract(const std::string& file, const std::string& key, const std::string& out) {
  auto reader = io::open_checkpoint(file);
  Value sub;
  try {
    sub = io::load_checkpoint(*reader, "", key);
  } catch (const Error& e) {
    // Tensors recorded on a GPU this machine lacks: extract them through the CPU.
    if (std::string(e.what()).find("map_location=\"cpu\"") == std::string::npos) throw;
    std::cerr << "ember-ckpt: note: GPU tensors are written as CPU tensors (no GPU here)\n";
    sub = io::load_checkpoint(*reader, "cpu", key);
  }
  save(sub, out);
  size_t tensors = 0;
  io::walk_tree(sub, [&](const std::string&, const Value& v) { tensors += v.is_tensor(); });
  std::cout << "wrote " << out << ": " << (key.empty() ? "(root)" : key) << ", " << tensors << " tensors\n";
  return kOk;
}

int cmd_convert(const std::string& in, const std::string& out, const std::string& to, bool floats_as_tensors) {
  if (to != "ember" && to != "pth" && to != "safetensors")
    throw std::invalid_argument("--to must be ember, pth or safetensors, not '" + to + "'");
  if (floats_as_tensors && to != "pth") throw std::invalid_argument("--floats-as-tensors applies to --to pth only");
  auto reader = io::open_checkpoint(in);
  Value tree;
  try {
    tree = io::load_checkpoint(*reader, "");
  } catch (const Error& e) {
    // Tensors recorded on a GPU this machine lacks: convert them through the CPU.
    if (std::string(e.what()).find("map_location=\"cpu\"") == std::string::npos) throw;
    std::cerr << "ember-ckpt: note: GPU tensors are written as CPU tensors (no GPU here)\n";
    tree = io::load_checkpoint(*reader, "cpu");
  }
  auto* st = dynamic_cast<io::SafetensorsReader*>(reader.get());
  if (to == "ember") {
    save(tree, out);
  } else if (to == "pth") {
    io::PthWriteOptions options;
    options.floats_as_tensors = floats_as_tensors;
    io::write_pth(tree, out, options);
  } else {
    io::StringMap metadata;
    if (st) metadata = st->metadata();
    else metadata.insert("format", "pt");  // what loaders of PyTorch-named weights look for
    io::write_safetensors(tree, out, metadata);
  }
  if (st && to != "safetensors" && !st->metadata().empty())
    std::cerr << "ember-ckpt: note: the safetensors metadata (" << st->metadata().size()
              << " entries) has no place in a " << to << " file and is dropped\n";
  size_t tensors = 0;
  io::walk_tree(tree, [&](const std::string&, const Value& v) { tensors += v.is_tensor(); });
  std::cout << "wrote " << out << ": " << to << ", " << tensors << " tensors (from " << reader->format() << ")\n";
  return kOk;
}

int usage_error(const std::string& msg) {
  std::cerr << "ember-ckpt: " << msg << "\nrun 'ember-ckpt --help' for usage\n";
  return kUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("missing command");
  const std::string& cmd = args[0];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kHelp;
    return kOk;
  }
  auto expect_args = [&](size_t n, const char* form) {
    if (args.size() != n + 1) throw std::invalid_argument(std::string("usage: ember-ckpt ") + form);
  };
  try {
    if (cmd == "inspect") {
      expect_args(1, "inspect FILE");
      return cmd_inspect(args[1]);
    }
    if (cmd == "verify") {
      expect_args(1, "verify FILE");
      return cmd_verify(args[1]);
    }
    if (cmd == "diff") {
      expect_args(2, "diff A B");
      return cmd_diff(args[1], args[2]);
    }
    if (cmd == "extract") {
      expect_args(3, "extract FILE KEY OUT");
      return cmd_extract(args[1], args[2], args[3]);
    }
    if (cmd == "convert") {
      std::vector<std::string> positional;
      std::string to;
      bool floats_as_tensors = false;
      for (size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--to" && i + 1 < args.size()) to = args[++i];
        else if (args[i].rfind("--to=", 0) == 0) to = args[i].substr(5);
        else if (args[i] == "--floats-as-tensors") floats_as_tensors = true;
        else positional.push_back(args[i]);
      }
      if (positional.size() != 2 || to.empty())
        throw std::invalid_argument("usage: ember-ckpt convert IN OUT --to ember|pth|safetensors [--floats-as-tensors]");
      return cmd_convert(positional[0], positional[1], to, floats_as_tensors);
    }
    return usage_error("unknown command '" + cmd + "' (known: inspect, diff, verify, extract, convert)");
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {  // ember::Error above all; anything else is reported the same way
    std::cerr << "ember-ckpt: " << e.what() << "\n";
    return kDifferent;
  }
}
