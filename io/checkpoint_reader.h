#pragma once
// What tools and ember::load need from a checkpoint file, whatever its format: the value tree with
// its tensors left out (the skeleton), a table describing each tensor, and reading one tensor at a
// time. The native format implements it (io/format.h); importers for other formats add readers.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/value.h"

namespace ember::io {

struct TensorInfo {
  std::string name;  // the tensor's path in the tree, e.g. "model_state_dict/conv1.weight"
  DType dtype = kFloat32;
  Shape shape;
  Device device;       // where it lived when saved
  uint64_t offset = 0;  // of its bytes in the file
  uint64_t nbytes = 0;
  bool has_checksum = false;
  uint32_t crc32 = 0;
};

// The highest device index a reader accepts ("cuda:127"): PyTorch keeps a device index in an int8.
inline constexpr int kMaxDeviceIndex = 127;
// A device as a file records it ("cpu", "cuda", "cuda:N" with N in [0, kMaxDeviceIndex]); anything
// else is an error naming `where`. Places Ember has no device for ("mps", "xla:0") are the CPU.
Device parse_recorded_device(const std::string& location, const std::string& where);

class CheckpointReader {
 public:
  virtual ~CheckpointReader() = default;
  virtual std::string format() const = 0;  // "ember v1", ...
  virtual const std::string& path() const = 0;
  virtual uint64_t file_size() const = 0;
  // The tree with every tensor undefined; a tensor leaf's path names its entry in tensors().
  virtual const Value& skeleton() const = 0;
  virtual const std::vector<TensorInfo>& tensors() const = 0;
  // Tensor i on the CPU, its checksum verified (a mismatch throws naming the tensor).
  virtual Tensor read_tensor(size_t i) = 0;
  // The listed tensors, as read_tensor would give them; a reader may read them side by side.
  virtual std::vector<Tensor> read_tensors(const std::vector<size_t>& which);
  // Empty when tensor i's bytes are whole and match their checksum, else what is wrong.
  virtual std::string check_tensor(size_t i) = 0;
};

// For readers of formats that store bools as bytes: throws "<file>: tensor <shown_name>: bool
// element i holds the byte B (a bool must be 0 or 1)" at the first byte of `t` that is neither.
void check_bool_bytes(const Tensor& t, const std::string& file, const std::string& shown_name);

// The whole tree with tensors read and placed per `map_location`: "" keeps each recorded device,
// "cpu" puts everything on the CPU, "cuda:N" moves everything there. Only tensors under `subtree`
// (a path, "" for the whole tree) are read; the result is that subtree.
Value load_checkpoint(CheckpointReader& reader, const std::string& map_location = "",
                      const std::string& subtree = "");

// Paths: dict keys and list indices joined by '/'; inside a key, '~' is written "~0" and '/' "~1"
// (as in JSON Pointer), so keys holding dots or slashes stay unambiguous; an empty key is "~2", so
// no two nodes share a path. The root's path is "".
std::string escape_key(const std::string& key);
std::string child_path(const std::string& parent, const std::string& escaped_component);
// The components of a path, unescaped; throws on a malformed escape ("~" not followed by 0 or 1).
std::vector<std::string> split_path(const std::string& path);
// The node at `path` in `tree`; throws naming the first component that is missing.
const Value& find_path(const Value& tree, const std::string& path);

// Calls f(path, value) for every node of `tree`, depth-first, parents before children.
template <class F>
void walk_tree(const Value& tree, F&& f, const std::string& path = "") {
  f(path, tree);
  if (tree.is_dict()) {
    for (const auto& [key, child] : tree.as_dict()) walk_tree(child, f, child_path(path, escape_key(key)));
  } else if (tree.is_list()) {
    const auto& items = tree.as_list();
    for (size_t i = 0; i < items.size(); ++i) walk_tree(items[i], f, child_path(path, std::to_string(i)));
  }
}

}  // namespace ember::io
