#pragma once
// Internals of the unpickler shared by io/unpickler.cpp (the stack machine) and io/pickle_tree.cpp
// (the conversion to a Value tree); not part of the public API.
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "ember/io/interop/pickle.h"
#include "ember/io/text.h"

namespace ember::io::pickle::detail {


enum class Kind : uint8_t { None, Bool, Int, Float, Str, List, Tuple, Dict, Global, Storage, Tensor };
enum class Global : uint8_t { OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter, Size, StorageType };

struct Obj {
  explicit Obj(Kind k = Kind::None) : kind(k) {}
  Kind kind;
  Global global = Global::OrderedDict;
  bool ordered = false;     // Dict made by collections.OrderedDict (may take a BUILD)
  bool has_dtype = true;    // StorageType: false for torch.storage.TypedStorage, which names none
  DType dtype = kUInt8;     // StorageType
  int64_t i = 0;            // Bool, Int; Storage: index into storages
  double d = 0;             // Float
  std::string s;            // Str; Global: its dotted name
  std::vector<uint32_t> items;  // List, Tuple; Dict: key, value, key, value, ...
  std::unordered_map<uint32_t, size_t> index;  // Dict: interned typed key -> pair number
  uint64_t offset = 0;      // Tensor: storage index in `i`, then offset, shape and stride
  Shape shape;
  std::vector<int64_t> stride;
};

inline const char* kind_name(Kind k) {
  static const char* const kNames[] = {"None", "bool", "int",    "float",   "str",   "list",
                                       "tuple", "dict", "global", "storage", "tensor"};
  return kNames[int(k)];
}

// The Value tree of the object `root` of `objs`, with each tensor left undefined and described in
// `tensors`. `input_size` (of the pickle) bounds how far shared references may expand it; `what`
// names the input in errors.
Value build_tree(const std::vector<Obj>& objs, uint32_t root, size_t input_size, const std::string& what,
                 std::vector<TensorRef>& tensors);

}  // namespace ember::io::pickle::detail
