#include "ember/io/checkpoint_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "ember/io/atomic_file.h"
#include "ember/io/format.h"
#include "ember/io/text.h"

namespace ember::io {

std::string escape_key(const std::string& key) {
  // An empty key gets a component of its own: joined bare, {"": {"a": x}} and {"a": y} would both
  // put a tensor at "a".
  if (key.empty()) return "~2";
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string child_path(const std::string& parent, const std::string& escaped_component) {
  return parent.empty() ? escaped_component : parent + "/" + escaped_component;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  if (path.empty()) return parts;
  std::string cur;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '/') {
      parts.push_back(std::move(cur));
      cur.clear();
    } else if (c == '~' && i + 1 < path.size() && path[i + 1] == '2' && cur.empty() &&
               (i + 2 == path.size() || path[i + 2] == '/')) {
      ++i;  // "~2" alone: the empty key
    } else if (c == '~') {
      char next = i + 1 < path.size() ? path[i + 1] : '\0';
      EMBER_CHECK(next == '0' || next == '1', "invalid path \"", path, "\": '~' at position ", i,
                  " must be followed by 0 (for '~') or 1 (for '/')");
      cur += next == '0' ? '~' : '/';
      ++i;
    } else {
      cur += c;
    }
  }
  parts.push_back(std::move(cur));
  return parts;
}

const Value& find_path(const Value& tree, const std::string& path) {
  const Value* node = &tree;
  std::string so_far;
  for (const std::string& part : split_path(path)) {
    if (node->is_dict()) {
      const Value* child = node->as_dict().find(part);
      EMBER_CHECK(child, "key \"", part, "\" not found", so_far.empty() ? "" : " in \"" + so_far + "\"");
      node = child;
    } else if (node->is_list()) {
      const auto& items = node->as_list();
      // A plain non-negative decimal integer: no sign, no spaces, no leading zeros ("+0", " 0" and
      // "00" name nothing, as they would in a path that was built from the tree).
      bool plain = !part.empty() && part.size() <= 19 && (part == "0" || part[0] != '0') &&
                   std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
      unsigned long long idx = plain ? std::stoull(part) : 0;
      EMBER_CHECK(plain && idx < items.size(), "index \"", part, "\" not found in list \"", so_far, "\" of size ",
                  items.size(), plain ? "" : " (a list index is a plain non-negative integer)");
      node = &items[size_t(idx)];
    } else {
      EMBER_FAIL("\"", so_far, "\" is ", a_or_an(node->kind_name()), ", so it has no key \"", part, "\"");
    }
    so_far = child_path(so_far, escape_key(part));
  }
  return *node;
}

Device parse_recorded_device(const std::string& location, const std::string& where) {
  if (location == "cpu" || location == "cuda") return location == "cpu" ? kCPU : Device(DeviceType::CUDA, 0);
  if (location.rfind("cuda:", 0) == 0) {
    std::string digits = location.substr(5);
    bool ok = !digits.empty() && digits.size() <= 3 &&
              std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    int index = ok ? std::stoi(digits) : -1;
    EMBER_CHECK(ok && index <= kMaxDeviceIndex, where, ": device \"", location, "\" is not cuda:N with N from 0 to ",
                kMaxDeviceIndex);
    return Device(DeviceType::CUDA, index);
  }
  // torch.save also records places Ember has no device for (mps, xla): they load on the CPU.
  return kCPU;
}

void check_bool_bytes(const Tensor& t, const std::string& file, const std::string& shown_name) {
  const auto* p = static_cast<const uint8_t*>(t.raw_data());
  for (int64_t i = 0; i < t.numel(); ++i)
    EMBER_CHECK(p[i] <= 1, file, ": tensor ", shown_name, ": bool element ", i, " holds the byte ", int(p[i]),
                " (a bool must be 0 or 1)");
}

std::vector<Tensor> CheckpointReader::read_tensors(const std::vector<size_t>& which) {
  std::vector<Tensor> out;
  out.reserve(which.size());
  for (size_t i : which) out.push_back(read_tensor(i));
  return out;
}

namespace {
struct Filler {
  CheckpointReader& reader;
  bool keep_recorded;
  Device target;
  std::unordered_map<std::string, size_t> index;
  std::vector<std::pair<Value*, size_t>> leaves;  // each tensor leaf and its table entry, in tree order

  void collect(Value& node, const std::string& path) {
    if (node.is_dict()) {
      for (auto& [key, child] : node.as_dict()) collect(child, child_path(path, escape_key(key)));
    } else if (node.is_list()) {
      auto& items = node.as_list();
      for (size_t i = 0; i < items.size(); ++i) collect(items[i], child_path(path, std::to_string(i)));
    } else if (node.is_tensor()) {
      auto it = index.find(path);
      EMBER_CHECK(it != index.end(), "load: ", reader.path(), ": no tensor table entry for \"", path, "\"");
      leaves.emplace_back(&node, it->second);
    }
  }

  Device destination(const TensorInfo& info) const { return keep_recorded ? info.device : target; }

  void fill(Value& root, const std::string& path) {
    collect(root, path);
    const auto& table = reader.tensors();
    bool all_cpu = true;
    for (const auto& leaf : leaves) all_cpu = all_cpu && destination(table[leaf.second]).is_cpu();
    if (all_cpu) {
      // All at once, so the reader can read them side by side.
      std::vector<size_t> which;
      for (const auto& leaf : leaves) which.push_back(leaf.second);
      std::vector<Tensor> tensors = reader.read_tensors(which);
      for (size_t k = 0; k < leaves.size(); ++k) *leaves[k].first = Value(std::move(tensors[k]));
    } else {
      // One at a time, so that no more than one tensor waits on the host for its device.
      for (const auto& [node, i] : leaves) *node = Value(place(reader.read_tensor(i), table[i]));
    }
  }

  Tensor place(Tensor t, const TensorInfo& info) {
    Device dev = destination(info);
    if (dev.is_cpu()) return t;
    try {
      return t.to(dev);
    } catch (const Error& e) {
      if (keep_recorded)
        EMBER_FAIL("load: ", reader.path(), ": tensor \"", info.name, "\" was saved on ", dev.str(),
                   ", which is not available here (", e.what(), "); pass map_location=\"cpu\" to load it on the CPU");
      EMBER_FAIL("load: ", reader.path(), ": cannot move tensor \"", info.name, "\" to ", dev.str(), ": ", e.what());
    }
  }
};
}  // namespace

Value load_checkpoint(CheckpointReader& reader, const std::string& map_location, const std::string& subtree) {
  Filler filler{reader, map_location.empty(), kCPU, {}, {}};
  if (!map_location.empty()) {
    try {
      filler.target = Device(map_location);
    } catch (const Error& e) {
      EMBER_FAIL("load: invalid map_location \"", map_location, "\" (expected \"\", \"cpu\" or \"cuda:N\"): ", e.what());
    }
  }
  const auto& table = reader.tensors();
  for (size_t i = 0; i < table.size(); ++i)
    EMBER_CHECK(filler.index.emplace(table[i].name, i).second, "load: ", reader.path(), ": two tensors share the name \"",
                table[i].name, "\"; each tensor needs a name of its own");
  Value out;
  try {
    out = find_path(reader.skeleton(), subtree);
  } catch (const Error& e) {
    EMBER_FAIL(reader.path(), ": ", e.what());
  }
  filler.fill(out, subtree);
  return out;
}

}  // namespace ember::io
