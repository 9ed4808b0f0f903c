#pragma once
// A restricted unpickler and a small pickler: just enough of Python's pickle for the data.pkl of a
// PyTorch weights file. Loading never executes anything from the file. The only globals known are
// the ones a weights file needs: collections.OrderedDict, torch._utils._rebuild_tensor_v2 (and
// _rebuild_tensor, _rebuild_parameter), torch.Size and the torch.*Storage types; any other GLOBAL
// or STACK_GLOBAL is refused with an error naming it, and REDUCE/BUILD/NEWOBJ only apply those.
// Every length is checked against the input left before anything is allocated from it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ember/core/value.h"

namespace ember::io::pickle {

// A storage a tensor views: record data/<key> of the archive, `numel` elements of `dtype`.
struct StorageRef {
  std::string key;
  DType dtype = kFloat32;
  std::string location;  // "cpu", "cuda:0", ...
  uint64_t numel = 0;
};

// A tensor as the pickle describes it: a strided view into storages[storage].
struct TensorRef {
  std::string path;  // its place in the tree (io/checkpoint_reader.h paths)
  size_t storage = 0;
  uint64_t offset = 0;  // in elements
  Shape shape;
  std::vector<int64_t> stride;
};

struct Unpickled {
  Value tree;  // every tensor left undefined; `tensors` describes them, in tree order
  std::vector<StorageRef> storages;
  std::vector<TensorRef> tensors;
  int protocol = 0;
};

// Unpickles `data` (protocol 2 to 5). `what` names the input in errors ("model.pth: data.pkl").
// Dict keys must be strings or ints; int keys become their decimal string ("0"), as PyTorch's
// optimizer state keys. Tuples become lists. Throws ember::Error on anything else.
Unpickled unpickle(const uint8_t* data, size_t size, const std::string& what);

// What the pickler writes for a tensor: the storage record that holds its bytes.
struct StorageRecord {
  std::string key;
  uint64_t numel = 0;    // of the whole storage
  uint64_t offset = 0;   // of the tensor, in elements
  std::string location;  // "cpu", "cuda:0"
};

// Pickles `value` with protocol 2, as torch.save does, readable by torch.load(weights_only=True).
// `record` is called for each tensor, in tree order, with its path. Dicts whose values are all
// tensors are written as collections.OrderedDict (as a state dict); the "state" dict beside
// "param_groups" in an optimizer state dict is written with int keys where its keys are decimal.
// Strings and keys must be valid UTF-8.
using RecordFn = std::function<StorageRecord(const std::string& path, const Tensor& t)>;
std::string pickle_value(const Value& value, const RecordFn& record);

// PyTorch's storage type name for a dtype: "FloatStorage".
const char* storage_type_name(DType dtype);

}  // namespace ember::io::pickle
