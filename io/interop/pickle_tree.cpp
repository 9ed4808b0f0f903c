// The arena of unpickled objects as a Value tree: the second half of io/unpickler.cpp's work.
#include "ember/io/checkpoint_reader.h"
#include "ember/io/interop/pickle_detail.h"

namespace ember::io::pickle::detail {

namespace {

constexpr int kMaxDepth = 128;  // nesting of containers in the loaded tree

class TreeBuilder {
 public:
  TreeBuilder(const std::vector<Obj>& objs, size_t input_size, const std::string& what,
              std::vector<TensorRef>& tensors)
      : objs_(objs), what_(what), tensors_(tensors), on_path_(objs.size(), 0),
        nodes_left_(2 * input_size + 1024), chars_left_(4 * input_size + (size_t(1) << 20)) {}

  // The path of the node being converted, joined only when needed (for a tensor or an error):
  // building every node's path would let shared references multiply long keys into gigabytes.
  std::string joined_path() const {
    std::string p;
    for (const std::string& part : path_) p = child_path(p, part);
    return p;
  }
  std::string where() const {
    std::string p = joined_path();
    if (p.empty()) return "the top level";
    std::string quoted(1, '"');
    quoted += printable(p, 200);
    return quoted += '"';
  }
  // Shared references may repeat objects, but the tree they expand into stays proportional to the
  // input: in nodes, and in the bytes of its strings, keys and tensor paths.
  void charge(size_t nodes, size_t chars) {
    EMBER_CHECK(nodes <= nodes_left_ && chars <= chars_left_, what_,
                ": the pickle's shared references expand into too large a tree");
    nodes_left_ -= nodes;
    chars_left_ -= chars;
  }

  Value convert(uint32_t id, int depth) {
    const Obj& o = objs_[id];
    charge(1, 0);
    EMBER_CHECK(depth <= kMaxDepth, what_, ": the data nests deeper than ", kMaxDepth, " levels at ", where());
    switch (o.kind) {
      case Kind::None: return Value();
      case Kind::Bool: return Value(o.i != 0);
      case Kind::Int: return Value(o.i);
      case Kind::Float: return Value(o.d);
      case Kind::Str: charge(0, o.s.size()); return Value(o.s);
      case Kind::Tensor: {
        std::string path = joined_path();
        charge(0, path.size());
        tensors_.push_back({std::move(path), size_t(o.i), o.offset, o.shape, o.stride});
        return Value(Tensor());
      }
      case Kind::Global:
        EMBER_FAIL(what_, ": ", where(), " is the bare global ", printable(o.s), ", not data");
      case Kind::Storage:
        EMBER_FAIL(what_, ": ", where(), " is a bare storage, not a tensor; Ember loads tensors only");
      default: break;
    }
    EMBER_CHECK(!on_path_[id], what_, ": the data contains itself at ", where(), " (a reference cycle)");
    on_path_[id] = 1;
    Value result;
    if (o.kind == Kind::Dict) {
      Value::Dict dict;
      std::unordered_map<std::string, bool> seen;  // key -> it was an int
      for (size_t k = 0; k < o.items.size(); k += 2) {
        const Obj& key = objs_[o.items[k]];
        bool is_int = key.kind == Kind::Int;
        std::string name = is_int ? std::to_string(key.i) : key.s;
        charge(0, 2 * name.size());  // the key, and its escaped form in the path
        auto [it, fresh] = seen.emplace(name, is_int);
        EMBER_CHECK(fresh, what_, ": the dict at ", where(), " has both the int key ", name, " and the str key \"",
                    printable(name), "\"");
        path_.push_back(escape_key(name));
        dict.insert(name, convert(o.items[k + 1], depth + 1));
        path_.pop_back();
      }
      result = Value(std::move(dict));
    } else {
      Value::List list;
      list.reserve(o.items.size());
      for (size_t k = 0; k < o.items.size(); ++k) {
        path_.push_back(std::to_string(k));
        list.push_back(convert(o.items[k], depth + 1));
        path_.pop_back();
      }
      result = Value(std::move(list));
    }
    on_path_[id] = 0;
    return result;
  }

 private:
  const std::vector<Obj>& objs_;
  const std::string& what_;
  std::vector<TensorRef>& tensors_;
  std::vector<uint8_t> on_path_;   // objects being converted: meeting one again is a cycle
  std::vector<std::string> path_;  // escaped components of the node being converted
  size_t nodes_left_, chars_left_;
};

}  // namespace

Value build_tree(const std::vector<Obj>& objs, uint32_t root, size_t input_size, const std::string& what,
                 std::vector<TensorRef>& tensors) {
  return TreeBuilder(objs, input_size, what, tensors).convert(root, 0);
}

}  // namespace ember::io::pickle::detail
