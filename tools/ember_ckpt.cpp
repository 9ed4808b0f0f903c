// ember-ckpt: inspect, compare, verify and cut up checkpoint files.
// Everything format-specific sits behind io::CheckpointReader (io/checkpoint_reader.h), so a reader
// for another format (PyTorch .pth, safetensors) plugs in through io::open_checkpoint alone.
#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "ember/io/checkpoint_reader.h"
#include "ember/io/native_reader.h"
#include "ember/io/interop/onnx.h"
#include "ember/io/interop/pth.h"
#include "ember/io/interop/pth_reader.h"
#include "ember/io/interop/safetensors.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/text.h"
#include "tools/ckpt_diff.h"
#include "tools/ckpt_text.h"

using namespace ember;
using namespace ember::tools;
using io::CheckpointReader;
using io::TensorInfo;
using io::a_or_an;
using io::count_of;
using io::hex32;

namespace {

constexpr int kOk = 0, kDifferent = 1, kUsage = 2;

const char* kHelp = R"(usage: ember-ckpt COMMAND ARGS...

Commands:
  inspect FILE [--stats] [--key PATTERN]
                         print the values that are not tensors, then one table of the tensors
                         (name, dtype, shape, bytes, checksum status) and totals; exit 1 if a
                         checksum fails. --stats adds each tensor's mean, std, min and max (of its
                         finite elements) and its counts of NaN and Inf. --key keeps the entries
                         under a key ("model_state_dict") or matching a pattern ("*bias")
  show FILE KEY [--all]  print the value at KEY: a tensor's elements as nested lists (past 1000
                         elements, the first and last 3 of each dimension; --all: every element)
  diff A B [--atol X] [--rtol Y]
                         print keys only in A (-), only in B (+), and changes (~): kinds, values,
                         dtypes, shapes, and each differing tensor's largest absolute difference.
                         Exit 0 when the trees match and every tensor element and float value
                         agrees within |a - b| <= atol + rtol * |b| (torch.allclose's rule; the
                         default 0, 0 asks for identical bits)
  verify FILE            check the file's structure and every tensor's checksum
                         (exit 0 only when the file is whole and every checksum matches)
  extract FILE KEY OUT [--to FORMAT]
                         save the subtree at KEY as a standalone file OUT, e.g.
                           ember-ckpt extract ckpt.ember model_state_dict model.safetensors
  convert IN OUT [--to FORMAT] [--key KEY] [--plain-floats]
                         write IN (or its subtree at KEY) in another format, refusing with the
                         reason what that format cannot hold (safetensors holds only a flat dict of
                         tensors and string metadata); a .pth's floats are written as 0-dim float64
                         tensors, which torch.load(weights_only=True) of PyTorch 1.13 loads; with
                         --plain-floats as Python floats (PyTorch >= 2.0 or weights_only=False).
                         --floats-as-tensors, the default, is still accepted

FILE, A, B and IN may each be an Ember checkpoint, a PyTorch .pth (torch.save) or a safetensors
file: the format is recognised by the file's content, never by its name. OUT's format is FORMAT
(ember, pth or safetensors), else its extension's: .ember, .pth or .pt, .safetensors; a FORMAT that
contradicts OUT's extension is refused.

Keys are paths: dict keys and list indices joined by '/', with '~' written "~0" and '/' written
"~1" inside a key ("model_state_dict/conv1.weight", "history/0").

Exit codes: 0 success, 1 differences or damage found (or the file could not be read), 2 bad usage.
)";

// A bad command line; main prints it with the usage hint and exits 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// One command's arguments: positional ones, and --name [value] options it declares.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // value "" for a switch
  bool has(const std::string& name) const { return options.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = options.find(name);
    return it == options.end() ? fallback : it->second;
  }
  // A tolerance: a finite number >= 0.
  double tolerance(const std::string& name) const {
    if (!has(name)) return 0;
    const std::string& v = options.at(name);
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !std::isfinite(x) || x < 0)
      throw UsageError(name + ": expected a number >= 0, found '" + v + "'");
    return x;
  }
};

// Splits a command's arguments. `with_value` and `switches` list its options; anything else that
// starts with "--" is named as unknown; `form` is the command's usage line.
Args parse_args(const std::vector<std::string>& args, const std::string& cmd, std::vector<std::string> with_value,
                std::vector<std::string> switches, size_t positional, const std::string& form) {
  Args a;
  auto known = [](const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  };
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      std::string name = arg, value;
      bool inline_value = false;
      if (auto eq = arg.find('='); eq != std::string::npos) name = arg.substr(0, eq), value = arg.substr(eq + 1), inline_value = true;
      if (known(with_value, name)) {
        if (!inline_value) {
          if (i + 1 >= args.size()) throw UsageError(cmd + ": " + name + " needs a value");
          value = args[++i];
        }
        a.options[name] = value;
      } else if (known(switches, name) && !inline_value) {
        a.options[name] = "";
      } else {
        std::string list;
        for (const auto& o : with_value) list += (list.empty() ? "" : ", ") + o;
        for (const auto& o : switches) list += (list.empty() ? "" : ", ") + o;
        throw UsageError(cmd + ": unknown option '" + name + "'" +
                         (list.empty() ? " (it takes none)" : " (it takes " + list + ")"));
      }
    } else {
      a.positional.push_back(arg);
    }
  }
  if (a.positional.size() != positional) throw UsageError("usage: ember-ckpt " + form);
  return a;
}

// The node at `key` in `tree`. A missing key is named with the keys that do exist there.
const Value& resolve_key(const Value& tree, const std::string& key, const std::string& file) {
  const Value* node = &tree;
  std::string so_far;
  for (const std::string& part : io::split_path(key)) {
    std::string where = so_far.empty() ? "" : " in \"" + so_far + "\"";
    if (node->is_dict()) {
      const Value* child = node->as_dict().find(part);
      if (!child) {
        std::string keys;
        size_t shown = 0;
        for (const auto& [k, v] : node->as_dict()) {
          if (shown++ == 20) { keys += ", ... (" + std::to_string(node->size() - 20) + " more)"; break; }
          keys += (keys.empty() ? "" : ", ") + quote(k);
        }
        EMBER_FAIL(file, ": key ", quote(part), " not found", where,
                   node->size() ? "; the keys there are " + keys : std::string("; the dict there is empty"));
      }
      node = child;
    } else if (node->is_list()) {
      bool digits = !part.empty() && part.size() < 19 && part.find_first_not_of("0123456789") == std::string::npos;
      size_t idx = digits ? size_t(std::stoull(part)) : 0;
      EMBER_CHECK(digits && idx < node->size(), file, ": index ", quote(part), " not found", where, ": the list holds ",
                  count_of(node->size(), "item"), node->size() ? ", indices 0 to " + std::to_string(node->size() - 1) : "");
      node = &node->as_list()[idx];
    } else {
      EMBER_FAIL(file, ": \"", so_far, "\" is ", a_or_an(node->kind_name()),
                 node->is_tensor() ? "" : " (" + scalar_str(*node) + ")", ", so it has no key ", quote(part));
    }
    so_far = io::child_path(so_far, io::escape_key(part));
  }
  return *node;
}

// --key PATTERN: a key and everything under it, or, with * ? [ in it, paths that match the pattern.
bool key_matches(const std::string& path, const std::string& pattern) {
  if (pattern.empty()) return true;
  if (pattern.find_first_of("*?[") != std::string::npos) return fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
  return path == pattern || path.rfind(pattern + "/", 0) == 0;
}

// A non-empty list of numbers, strings, bools or nones: shown on one line.
bool scalar_list(const Value& v) {
  if (!v.is_list() || v.size() == 0) return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (v.at(i).is_dict() || v.at(i).is_list() || v.at(i).is_tensor()) return false;
  return true;
}

std::string list_str(const Value& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i == 20) {
      out += ", ... (" + count_of(v.size(), "item") + ")";
      break;
    }
    out += (i ? ", " : "") + scalar_str(v.at(i));
  }
  return out + "]";
}

// An ONNX file's graph, node by node: operator(inputs) -> outputs; its initializers follow as tensors.
void print_onnx_graph(const io::OnnxGraph& g) {
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + (v[i].empty() ? std::string("<none>") : v[i]);
    return s;
  };
  std::cout << "graph: producer " << (g.producer.empty() ? "unknown" : quote(g.producer)) << ", ir_version "
            << g.ir_version << ", opset";
  for (const auto& [domain, version] : g.opsets) std::cout << " " << (domain.empty() ? "ai.onnx" : domain) << ":" << version;
  std::cout << "\n  inputs: " << join(g.inputs) << "\n  outputs: " << join(g.outputs) << "\n  "
            << count_of(g.nodes.size(), "node") << ":\n";
  for (const auto& n : g.nodes)
    std::cout << "    " << (n.domain.empty() ? "" : n.domain + ".") << n.op_type << "(" << join(n.inputs) << ") -> "
              << join(n.outputs) << "\n";
}

int cmd_inspect(const std::string& file, bool stats, const std::string& pattern) {
  auto reader = io::open_checkpoint(file);
  const auto& table = reader->tensors();
  std::cout << file << ": " << reader->format() << ", " << count_of(reader->file_size(), "byte") << "\n";
  if (auto* st = dynamic_cast<io::SafetensorsReader*>(reader.get()); st && !st->metadata().empty()) {
    std::cout << "metadata:\n";
    for (const auto& [key, value] : st->metadata()) std::cout << "  " << quote(key) << ": " << quote(value) << "\n";
  }
  if (auto* ox = dynamic_cast<io::OnnxReader*>(reader.get())) print_onnx_graph(ox->graph());
  // The values that are not tensors (and empty containers), one line each; a list of numbers on one line.
  Table values({"key", "value"});
  size_t matched = 0;
  std::function<void(const Value&, const std::string&)> add = [&](const Value& v, const std::string& path) {
    if (v.is_dict()) {
      for (const auto& [key, child] : v.as_dict()) add(child, io::child_path(path, io::escape_key(key)));
      if (v.size()) return;
    } else if (v.is_list() && !scalar_list(v)) {
      for (size_t i = 0; i < v.size(); ++i) add(v.at(i), io::child_path(path, std::to_string(i)));
      if (v.size()) return;
    }
    if (path.empty() || v.is_tensor() || !key_matches(path, pattern)) return;
    ++matched;
    values.add({path, v.is_list() ? list_str(v) : scalar_str(v)});
  };
  add(reader->skeleton(), "");
  if (values.size()) std::cout << "values:\n" << values.str();

  std::vector<std::string> header = {"tensor", "dtype", "shape", "bytes", "checksum"};
  std::vector<bool> right = {false, false, false, true, false};
  if (stats) {
    for (const char* h : {"mean", "std", "min", "max", "nan", "inf"}) header.push_back(h);
    right.insert(right.end(), 6, true);
  }
  Table tensors(header, right);
  uint64_t bytes = 0, elements = 0;
  size_t bad = 0, shown = 0, checked = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    const TensorInfo& t = table[i];
    if (!key_matches(t.name, pattern)) continue;
    ++shown;
    std::string problem = reader->check_tensor(i);
    std::string status = !t.has_checksum ? "none" : problem.empty() ? "ok " + hex32(t.crc32) : "BAD: " + problem;
    bad += !problem.empty();
    checked += t.has_checksum;
    bytes += t.nbytes;
    elements += uint64_t(shape_numel(t.shape));
    std::vector<std::string> row = {quote(t.name, 200), dtype_name(t.dtype),
                                    shape_str(t.shape) + (t.device.is_cpu() ? "" : " " + t.device.str()),
                                    std::to_string(t.nbytes), status};
    if (stats && problem.empty()) {
      TensorStats s = tensor_stats(reader->read_tensor(i));
      for (double x : {s.mean, s.std, s.min, s.max}) row.push_back(std::isnan(x) ? "-" : short_number(x));
      if (s.integer) row[row.size() - 2] = std::to_string(s.imin), row.back() = std::to_string(s.imax);
      row.push_back(std::to_string(s.nan));
      row.push_back(std::to_string(s.inf));
    }
    tensors.add(row);
  }
  if (!pattern.empty() && matched + shown == 0)
    throw std::runtime_error(file + ": nothing matches --key " + quote(pattern) + "; " +
                             (reader->skeleton().is_dict() && reader->skeleton().size()
                                  ? "the top-level keys are " + [&] {
                                      std::string k;
                                      for (const auto& [key, v] : reader->skeleton().as_dict())
                                        k += (k.empty() ? "" : ", ") + quote(key);
                                      return k;
                                    }()
                                  : std::string("the file holds no keys")));
  if (tensors.size()) std::cout << "tensors:\n" << tensors.str();
  std::cout << "total: " << count_of(shown, "tensor") << ", " << count_of(elements, "element") << ", "
            << count_of(bytes, "byte") << " of tensor data; ";
  // safetensors and ONNX have no checksums: their tensors are counted as checked for what they can be
  // (a bool tensor's bytes), not as checksums that matched.
  if (checked == 0 && shown > 0)
    std::cout << "no checksums (this format has none), " << bad << " bad\n";
  else
    std::cout << shown - bad << " checksum" << (shown - bad == 1 ? "" : "s") << " ok, " << bad << " bad\n";
  return bad ? kDifferent : kOk;
}

int cmd_show(const std::string& file, const std::string& key, bool all) {
  auto reader = io::open_checkpoint(file);
  const Value& node = resolve_key(reader->skeleton(), key, file);
  auto index = tensor_index(*reader);
  if (!node.is_tensor()) {
    if (node.is_dict() || node.is_list()) {
      Table entries({"key", "value"});
      io::walk_tree(node, [&](const std::string& path, const Value& v) {
        if (path.empty() || ((v.is_dict() || v.is_list()) && v.size() > 0)) return;
        std::string full = io::child_path(key, path);
        entries.add({path, v.is_tensor() ? describe(reader->tensors()[index.at(full)]) : scalar_str(v)});
      });
      std::cout << key << ": " << scalar_str(node) << "\n" << entries.str();
    } else {
      std::cout << key << ": " << scalar_str(node) << "\n";
    }
    return kOk;
  }
  size_t i = index.at(key);
  Tensor t = reader->read_tensor(i);
  std::string out;
  if (is_floating(t.dtype())) print_values(t.to_vector<double>(), t.shape(), 0, 0, all ? INT64_MAX : 1000, out);
  else print_values(t.to_vector<int64_t>(), t.shape(), 0, 0, all ? INT64_MAX : 1000, out);
  std::cout << key << ": " << describe(reader->tensors()[i]) << "\n" << out << "\n";
  return kOk;
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
  // With no tensors, only a format that has checksums (Ember's, a .pth's zip) may say they all match.
  bool checksums = std::any_of(table.begin(), table.end(), [](const TensorInfo& t) { return t.has_checksum; }) ||
                   (table.empty() && (dynamic_cast<io::NativeReader*>(reader.get()) || dynamic_cast<io::PthReader*>(reader.get())));
  std::cout << file << ": OK (" << reader->format() << ", " << table.size() << " tensors, " << reader->file_size()
            << (checksums ? " bytes, every checksum matches)\n" : " bytes, layout valid; this format has no checksums)\n");
  return kOk;
}

int cmd_diff(const std::string& file_a, const std::string& file_b, double atol, double rtol) {
  auto a = io::open_checkpoint(file_a);
  auto b = io::open_checkpoint(file_b);
  Differ differ(*a, *b, atol, rtol);
  differ.diff(a->skeleton(), b->skeleton(), "");
  if (differ.differences == 0) {
    if (differ.close == 0) std::cout << "identical\n";
    else
      std::cout << "equal within atol " << number(atol) << ", rtol " << number(rtol) << " ("
                << count_of(differ.close, "entry", "entries") << " not bit-identical, max abs difference "
                << number(differ.close_max) << ")\n";
    return kOk;
  }
  std::cout << count_of(differ.differences, "difference") << "\n";
  return kDifferent;
}

// The format OUT is written in: --to, else OUT's extension; a --to that contradicts a known
// extension is refused, as is an unknown extension without --to.
std::string output_format(const std::string& out, const std::string& to) {
  if (!to.empty() && to != "ember" && to != "pth" && to != "safetensors")
    throw UsageError("--to must be ember, pth or safetensors, not '" + to + "'");
  std::string ext = std::filesystem::path(out).extension().string();
  std::string by_ext = ext == ".ember" ? "ember" : ext == ".pth" || ext == ".pt" ? "pth" : ext == ".safetensors" ? "safetensors" : "";
  if (!to.empty() && !by_ext.empty() && to != by_ext)
    throw UsageError("--to " + to + " contradicts the extension of " + out + " (" + ext + " is " + by_ext +
                     "): name the file for its format");
  if (to.empty() && by_ext.empty())
    throw UsageError("cannot tell the format of " + out + " from its extension" +
                     (ext.empty() ? std::string() : " '" + ext + "'") +
                     ": name it .ember, .pth or .safetensors, or give --to ember|pth|safetensors");
  return to.empty() ? by_ext : to;
}

// The tree (or its subtree at `key`) with every tensor read; GPU tensors where no GPU is come to the CPU.
Value read_tree(CheckpointReader& reader, const std::string& key) {
  if (!key.empty()) resolve_key(reader.skeleton(), key, reader.path());  // names the keys that exist
  try {
    return io::load_checkpoint(reader, "", key);
  } catch (const Error& e) {
    if (std::string(e.what()).find("map_location=\"cpu\"") == std::string::npos) throw;
    std::cerr << "ember-ckpt: note: GPU tensors are written as CPU tensors (no GPU here)\n";
    return io::load_checkpoint(reader, "cpu", key);
  }
}

// Writes `tree` to `out` as `format`; the number of tensors written.
size_t write_tree(const Value& tree, const std::string& out, const std::string& format, CheckpointReader& reader,
                  bool floats_as_tensors) {
  auto* st = dynamic_cast<io::SafetensorsReader*>(&reader);
  if (format == "ember") {
    save(tree, out);
  } else if (format == "pth") {
    io::PthWriteOptions options;
    options.floats_as_tensors = floats_as_tensors;
    io::write_pth(tree, out, options);
  } else {
    io::StringMap metadata;
    if (st) metadata = st->metadata();
    else metadata.insert("format", "pt");  // what loaders of PyTorch-named weights look for
    io::write_safetensors(tree, out, metadata);
  }
  if (st && format != "safetensors" && !st->metadata().empty())
    std::cerr << "ember-ckpt: note: the safetensors metadata (" << count_of(st->metadata().size(), "entry", "entries")
              << ") has no place in " << a_or_an(format) << " file and is dropped\n";
  size_t tensors = 0;
  io::walk_tree(tree, [&](const std::string&, const Value& v) { tensors += v.is_tensor(); });
  return tensors;
}

int cmd_extract(const std::string& file, const std::string& key, const std::string& out, const std::string& to) {
  std::string format = output_format(out, to);
  auto reader = io::open_checkpoint(file);
  Value sub = read_tree(*reader, key);
  size_t tensors = write_tree(sub, out, format, *reader, true);
  std::cout << "wrote " << out << ": " << format << ", " << (key.empty() ? "(root)" : key) << ", "
            << count_of(tensors, "tensor") << "\n";
  return kOk;
}

int cmd_convert(const std::string& in, const std::string& out, const std::string& to, const std::string& key,
                const Args& flags) {
  std::string format = output_format(out, to);
  for (const char* flag : {"--floats-as-tensors", "--plain-floats"})
    if (flags.has(flag) && format != "pth") throw UsageError(std::string(flag) + " applies to --to pth only");
  if (flags.has("--floats-as-tensors") && flags.has("--plain-floats"))
    throw UsageError("--floats-as-tensors and --plain-floats contradict each other");
  const bool floats_as_tensors = !flags.has("--plain-floats");
  auto reader = io::open_checkpoint(in);
  Value tree = read_tree(*reader, key);
  size_t tensors = write_tree(tree, out, format, *reader, floats_as_tensors);
  std::cout << "wrote " << out << ": " << format << ", " << (key.empty() ? "" : key + ", ")
            << count_of(tensors, "tensor") << " (from " << reader->format() << ")\n";
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
  try {
    if (cmd == "inspect") {
      Args a = parse_args(args, cmd, {"--key"}, {"--stats"}, 1, "inspect FILE [--stats] [--key PATTERN]");
      return cmd_inspect(a.positional[0], a.has("--stats"), a.get("--key"));
    }
    if (cmd == "show") {
      Args a = parse_args(args, cmd, {}, {"--all"}, 2, "show FILE KEY [--all]");
      return cmd_show(a.positional[0], a.positional[1], a.has("--all"));
    }
    if (cmd == "verify") {
      Args a = parse_args(args, cmd, {}, {}, 1, "verify FILE");
      return cmd_verify(a.positional[0]);
    }
    if (cmd == "diff") {
      Args a = parse_args(args, cmd, {"--atol", "--rtol"}, {}, 2, "diff A B [--atol X] [--rtol Y]");
      return cmd_diff(a.positional[0], a.positional[1], a.tolerance("--atol"), a.tolerance("--rtol"));
    }
    if (cmd == "extract") {
      Args a = parse_args(args, cmd, {"--to"}, {}, 3, "extract FILE KEY OUT [--to ember|pth|safetensors]");
      return cmd_extract(a.positional[0], a.positional[1], a.positional[2], a.get("--to"));
    }
    if (cmd == "convert") {
      Args a = parse_args(args, cmd, {"--to", "--key"}, {"--floats-as-tensors", "--plain-floats"}, 2,
                          "convert IN OUT [--to ember|pth|safetensors] [--key KEY] [--plain-floats]");
      return cmd_convert(a.positional[0], a.positional[1], a.get("--to"), a.get("--key"), a);
    }
    return usage_error("unknown command '" + cmd + "' (known: inspect, show, diff, verify, extract, convert)");
  } catch (const UsageError& e) {
    return usage_error(e.what());
  } catch (const std::exception& e) {  // ember::Error above all; anything else is reported the same way
    std::cerr << "ember-ckpt: " << e.what() << "\n";
    return kDifferent;
  }
}
