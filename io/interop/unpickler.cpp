// The restricted unpickler: a stack machine over a small arena of objects (so a pickle that refers
// to itself cannot leak or loop) and a whitelist of globals. io/pickle_tree.cpp turns the arena into
// a Value tree; io/pickle.cpp is the pickler, which writes.
#include <cstring>
#include <unordered_map>

#include "ember/io/interop/pickle_detail.h"

namespace ember::io::pickle {

namespace {

using namespace detail;

constexpr size_t kMaxRank = 64;
// What the unpickler may hold (objects, items, memo, keys) for a pickle of n bytes: 64 MiB + 64 n.
// A state dict's pickle takes about 40 n, a pickle of nothing but new objects at most 200 n.
constexpr uint64_t kBaseBudget = uint64_t(64) << 20;
constexpr uint64_t kBudgetPerByte = 64;

struct StorageType {
  const char* name;
  DType dtype;
};
constexpr StorageType kStorageTypes[] = {{"FloatStorage", kFloat32}, {"DoubleStorage", kFloat64},
                                         {"LongStorage", kInt64},     {"ByteStorage", kUInt8},
                                         {"BoolStorage", kBool}};
// Storage types PyTorch has and Ember cannot hold, with the dtype they would give.
constexpr const char* kUnsupportedStorages[][2] = {
    {"HalfStorage", "float16"},         {"BFloat16Storage", "bfloat16"},   {"IntStorage", "int32"},
    {"ShortStorage", "int16"},          {"CharStorage", "int8"},           {"ComplexFloatStorage", "complex64"},
    {"ComplexDoubleStorage", "complex128"}, {"QInt8Storage", "qint8"},     {"QUInt8Storage", "quint8"},
    {"QInt32Storage", "qint32"},        {"QUInt4x2Storage", "quint4x2"},   {"QUInt2x4Storage", "quint2x4"},
    {"ComplexHalfStorage", "complex32"}};

// Opcodes a weights file never needs, named for the error: text-protocol forms, bytes, sets,
// instance building, the extension registry, out-of-band buffers.
const char* refused_opcode_name(uint8_t op) {
  static const std::pair<uint8_t, const char*> kNames[] = {
      {'I', "INT"},        {'L', "LONG"},          {'F', "FLOAT"},          {'S', "STRING"},
      {'T', "BINSTRING"},  {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"},      {'B', "BINBYTES"},
      {'C', "SHORT_BINBYTES"}, {0x8e, "BINBYTES8"}, {0x96, "BYTEARRAY8"},   {'i', "INST"},
      {'o', "OBJ"},        {0x92, "NEWOBJ_EX"},    {'P', "PERSID"},         {'g', "GET"},
      {'p', "PUT"},        {0x8f, "EMPTY_SET"},    {0x90, "ADDITEMS"},      {0x91, "FROZENSET"},
      {0x82, "EXT1"},      {0x83, "EXT2"},         {0x84, "EXT4"},          {0x97, "NEXT_BUFFER"},
      {0x98, "READONLY_BUFFER"}};
  for (const auto& [code, name] : kNames)
    if (code == op) return name;
  return nullptr;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, const std::string& what)
      : data_(data), size_(size), what_(what), budget_(kBaseBudget + kBudgetPerByte * uint64_t(size)) {}

  Unpickled run() {
    Unpickled out;
    uint32_t result = load();
    out.protocol = protocol_;
    out.storages = std::move(storages_);
    out.tree = build_tree(objs_, result, size_, what_, out.tensors);
    return out;
  }

 private:
  template <class... A>
  [[noreturn]] void fail(const A&... parts) {
    EMBER_FAIL(what_, ": ", parts..., " (pickle byte ", op_at_, ")");
  }
  template <class... A>
  void check(bool cond, const A&... parts) {
    if (!cond) fail(parts...);
  }

  void need(uint64_t n, const char* what) {
    check(n <= size_ - pos_, "truncated: ", what, " needs ", n, " bytes, only ", size_ - pos_, " are left");
  }
  uint64_t le(size_t n, const char* what) {
    need(n, what);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= uint64_t(data_[pos_ + k]) << (8 * k);
    pos_ += n;
    return v;
  }
  std::string bytes(uint64_t n, const char* what) {
    need(n, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }
  std::string line(const char* what) {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    check(nl != nullptr, "truncated: ", what, " has no terminating newline");
    size_t n = size_t(static_cast<const uint8_t*>(nl) - (data_ + pos_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n + 1;
    return s;
  }

  // Memory the unpickler holds grows with the pickle, never beyond its budget.
  void charge(uint64_t bytes) {
    check(bytes <= budget_, "the pickle builds more than ", kBaseBudget >> 20, " MiB + ", kBudgetPerByte,
          " bytes per pickle byte of objects (the limit for its ", size_, " bytes)");
    budget_ -= bytes;
  }

  uint32_t make(Obj o) {
    charge(sizeof(Obj) + o.s.size() + 4 * o.items.size());
    check(objs_.size() < UINT32_MAX, "too many objects");
    objs_.push_back(std::move(o));
    return uint32_t(objs_.size() - 1);
  }
  uint32_t make(Kind k) { return make(Obj(k)); }
  size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(uint32_t id) {
    charge(sizeof(uint32_t));
    stack_.push_back(id);
  }
  uint32_t pop() {
    check(stack_.size() > fence(), "stack underflow");
    uint32_t id = stack_.back();
    stack_.pop_back();
    return id;
  }
  uint32_t top() {
    check(stack_.size() > fence(), "stack underflow");
    return stack_.back();
  }
  std::vector<uint32_t> pop_mark() {
    check(!marks_.empty(), "no MARK to pop to");
    size_t m = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> items(stack_.begin() + ptrdiff_t(m), stack_.end());
    stack_.resize(m);
    return items;
  }

  // The key's typed form ('s' + text or 'i' + digits) as a small number, so that the str "1" and the
  // int 1 stay distinct keys, as in Python. Each key object is hashed once however often it is used:
  // a long key set a million times through the memo costs one hash, not a million.
  uint32_t intern_key(uint32_t key) {
    auto cached = key_intern_.find(key);
    if (cached != key_intern_.end()) return cached->second;
    const Obj& k = objs_[key];
    std::string typed(1, k.kind == Kind::Str ? 's' : 'i');
    if (k.kind == Kind::Str) typed += k.s;
    else if (k.kind == Kind::Int) typed += std::to_string(k.i);
    else fail("a dict key must be a str or an int, found a ", kind_name(k.kind));
    auto [it, fresh] = interned_.emplace(std::move(typed), uint32_t(interned_.size()));
    if (fresh) charge(it->first.size() + 64);
    charge(32);
    key_intern_.emplace(key, it->second);
    return it->second;
  }

  void set_item(uint32_t dict, uint32_t key, uint32_t value) {
    check(objs_[dict].kind == Kind::Dict, "SETITEM on a ", kind_name(objs_[dict].kind), ", not a dict");
    uint32_t id = intern_key(key);
    Obj& d = objs_[dict];
    auto [it, fresh] = d.index.emplace(id, d.items.size() / 2);
    if (fresh) {
      charge(8 + 32);
      d.items.push_back(key);
      d.items.push_back(value);
    } else {
      d.items[it->second * 2 + 1] = value;  // Python keeps the first position, takes the last value
    }
  }

  uint32_t resolve_global(const std::string& module, const std::string& name) {
    Obj g(Kind::Global);
    g.s = module + "." + name;
    auto is = [&](const char* m, const char* n) { return module == m && name == n; };
    if (is("collections", "OrderedDict")) {
      g.global = Global::OrderedDict;
    } else if (is("torch._utils", "_rebuild_tensor_v2")) {
      g.global = Global::RebuildTensorV2;
    } else if (is("torch._utils", "_rebuild_tensor")) {
      g.global = Global::RebuildTensor;
    } else if (is("torch._utils", "_rebuild_parameter")) {
      g.global = Global::RebuildParameter;
    } else if (is("torch", "Size")) {
      g.global = Global::Size;
    } else if (is("torch", "UntypedStorage") || is("torch.storage", "UntypedStorage")) {
      g.global = Global::StorageType;
      g.dtype = kUInt8;  // raw bytes
    } else if (is("torch", "TypedStorage") || is("torch.storage", "TypedStorage")) {
      g.global = Global::StorageType;
      g.has_dtype = false;
    } else {
      bool found = false;
      if (module == "torch") {
        for (const auto& t : kStorageTypes)
          if (name == t.name) {
            g.global = Global::StorageType;
            g.dtype = t.dtype;
            found = true;
          }
        for (const auto& u : kUnsupportedStorages)
          check(name != u[0], "tensor storage type torch.", name, " holds ", u[1],
                ", which Ember does not support (it holds float32, float64, int64, uint8 and bool)");
      }
      check(found, "refusing global \"", printable(module), ".", printable(name),
            "\": loading never imports or calls anything from the file, and a weights file needs only "
            "collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter, torch.Size "
            "and the torch storage types");
    }
    return make(std::move(g));
  }

  // A tuple or list of non-negative ints.
  std::vector<int64_t> int_list(uint32_t id, const char* what) {
    const Obj& o = objs_[id];
    check(o.kind == Kind::Tuple || o.kind == Kind::List, what, " must be a tuple of ints, found a ",
          kind_name(o.kind));
    std::vector<int64_t> out;
    for (uint32_t item : o.items) {
      const Obj& v = objs_[item];
      check(v.kind == Kind::Int && v.i >= 0, what, " must hold non-negative ints");
      out.push_back(v.i);
    }
    return out;
  }

  uint32_t rebuild_tensor(const std::vector<uint32_t>& args, bool v2) {
    size_t n = args.size();
    check(v2 ? (n == 6 || n == 7) : n == 4, "torch._utils._rebuild_tensor", v2 ? "_v2" : "", " takes ",
          v2 ? "6 or 7" : "4", " arguments, found ", n);
    const Obj& storage = objs_[args[0]];
    check(storage.kind == Kind::Storage, "a tensor's first argument must be a storage, found a ",
          kind_name(storage.kind));
    const Obj& offset = objs_[args[1]];
    check(offset.kind == Kind::Int && offset.i >= 0, "a tensor's storage offset must be a non-negative int");
    Obj t(Kind::Tensor);
    t.i = storage.i;
    t.offset = uint64_t(offset.i);
    t.shape = int_list(args[2], "a tensor's size");
    t.stride = int_list(args[3], "a tensor's stride");
    check(t.shape.size() == t.stride.size(), "a tensor's size has ", t.shape.size(), " dims but its stride ",
          t.stride.size());
    check(t.shape.size() <= kMaxRank, "a tensor of rank ", t.shape.size(), " (at most ", kMaxRank, ")");
    if (v2) {
      check(objs_[args[4]].kind == Kind::Bool, "a tensor's requires_grad must be a bool");
      check(objs_[args[5]].kind == Kind::Dict && objs_[args[5]].items.empty(),
            "a tensor's backward hooks must be an empty OrderedDict");
      check(n == 6 || objs_[args[6]].kind == Kind::None || objs_[args[6]].kind == Kind::Dict,
            "a tensor's metadata must be None or a dict");
    }
    // Every element the view reaches must lie inside the storage.
    const StorageRef& s = storages_[size_t(storage.i)];
    uint64_t numel = 1, last = t.offset;
    bool ok = true;
    for (size_t d = 0; d < t.shape.size(); ++d) {
      uint64_t size = uint64_t(t.shape[d]), stride = uint64_t(t.stride[d]), reach;
      ok = ok && !__builtin_mul_overflow(numel, size, &numel);
      if (size > 0) ok = ok && !__builtin_mul_overflow(size - 1, stride, &reach) && !__builtin_add_overflow(last, reach, &last);
    }
    check(ok && numel <= uint64_t(INT64_MAX) / 8, "a tensor of size ", shape_str(t.shape), " is too large");
    check(numel == 0 ? t.offset <= s.numel : last < s.numel, "a tensor of size ", shape_str(t.shape), ", stride ",
          shape_str(t.stride), " at offset ", t.offset, " reaches past the end of storage \"", printable(s.key),
          "\" (", s.numel, " elements)");
    return make(std::move(t));
  }

  void reduce() {
    uint32_t args_id = pop();
    uint32_t fn_id = top();
    const Obj& fn = objs_[fn_id];
    check(fn.kind == Kind::Global, "REDUCE calls a ", kind_name(fn.kind), "; only allowed functions can be called");
    check(objs_[args_id].kind == Kind::Tuple, "REDUCE arguments must be a tuple, found a ",
          kind_name(objs_[args_id].kind));
    std::vector<uint32_t> args = objs_[args_id].items;
    uint32_t result = 0;
    switch (fn.global) {
      case Global::OrderedDict: {
        result = make_ordered_dict();
        check(args.size() <= 1, "collections.OrderedDict takes at most 1 argument, found ", args.size());
        if (args.size() == 1) {
          const Obj& pairs = objs_[args[0]];
          check(pairs.kind == Kind::List || pairs.kind == Kind::Tuple,
                "collections.OrderedDict's argument must be a list of pairs");
          std::vector<uint32_t> items = pairs.items;
          for (uint32_t p : items) {
            const Obj& pair = objs_[p];
            check((pair.kind == Kind::List || pair.kind == Kind::Tuple) && pair.items.size() == 2,
                  "collections.OrderedDict's argument must be a list of pairs");
            set_item(result, pair.items[0], pair.items[1]);
          }
        }
        break;
      }
      case Global::RebuildTensorV2:
      case Global::RebuildTensor:
        result = rebuild_tensor(args, fn.global == Global::RebuildTensorV2);
        break;
      case Global::RebuildParameter:
        check(args.size() == 3, "torch._utils._rebuild_parameter takes 3 arguments, found ", args.size());
        check(objs_[args[0]].kind == Kind::Tensor, "a parameter must wrap a tensor, found a ",
              kind_name(objs_[args[0]].kind));
        check(objs_[args[1]].kind == Kind::Bool, "a parameter's requires_grad must be a bool");
        check(objs_[args[2]].kind == Kind::Dict && objs_[args[2]].items.empty(),
              "a parameter's backward hooks must be an empty OrderedDict");
        result = args[0];
        break;
      case Global::Size: {
        check(args.size() == 1, "torch.Size takes 1 argument, found ", args.size());
        int_list(args[0], "torch.Size's argument");
        result = make_seq(Kind::Tuple, objs_[args[0]].items);
        break;
      }
      case Global::StorageType:
        fail("refusing to call ", fn.s, ": storages come only from the archive's records");
    }
    stack_.back() = result;
  }

  void build() {
    uint32_t state = pop();
    const Obj& inst = objs_[top()];
    // OrderedDict state dicts carry their _metadata (module versions) as an attribute: ignored.
    check(inst.kind == Kind::Dict && inst.ordered, "BUILD of a ", kind_name(inst.kind),
          " (only an OrderedDict's attributes may be set)");
    const Obj& s = objs_[state];
    bool ok = s.kind == Kind::Dict || s.kind == Kind::None;
    if (s.kind == Kind::Tuple && s.items.size() == 2) {
      ok = true;
      for (uint32_t part : s.items) ok = ok && (objs_[part].kind == Kind::Dict || objs_[part].kind == Kind::None);
    }
    check(ok, "BUILD of an OrderedDict with a ", kind_name(s.kind), " state");
  }

  void persistent_load() {
    const Obj& pid = objs_[pop()];
    check(pid.kind == Kind::Tuple && !pid.items.empty() && objs_[pid.items[0]].kind == Kind::Str,
          "a persistent id must be a tuple naming its kind");
    const std::string& kind = objs_[pid.items[0]].s;
    check(kind == "storage", "persistent id of kind \"", printable(kind), "\": only storages are supported");
    check(pid.items.size() == 5, "a storage's persistent id has 5 fields, found ", pid.items.size());
    const Obj& type = objs_[pid.items[1]];
    const Obj& key = objs_[pid.items[2]];
    const Obj& location = objs_[pid.items[3]];
    const Obj& numel = objs_[pid.items[4]];
    check(type.kind == Kind::Global && type.global == Global::StorageType, "a storage's type must be a torch storage type");
    check(type.has_dtype, type.s, " names no dtype: this file was not written by torch.save");
    check(key.kind == Kind::Str && !key.s.empty(), "a storage's key must be a non-empty str");
    check(location.kind == Kind::Str, "a storage's location must be a str");
    check(numel.kind == Kind::Int && numel.i >= 0, "a storage's size must be a non-negative int");
    auto [it, fresh] = storage_by_key_.emplace(key.s, storages_.size());
    if (fresh) {
      storages_.push_back({key.s, type.dtype, location.s, uint64_t(numel.i)});
    } else {
      const StorageRef& s = storages_[it->second];
      check(s.dtype == type.dtype && s.numel == uint64_t(numel.i), "storage \"", printable(key.s),
            "\" is described twice, differently");
    }
    push(make_int(int64_t(it->second), Kind::Storage));
  }

  void memo_put(uint64_t index) {
    charge(64);
    memo_[index] = top();
  }
  void memo_get(uint64_t index) {
    auto it = memo_.find(index);
    check(it != memo_.end(), "memo entry ", index, " is read before it is written");
    push(it->second);
  }

  int64_t decode_long(uint64_t n) {
    need(n, "a long");
    const uint8_t* p = data_ + pos_;
    pos_ += size_t(n);
    if (n == 0) return 0;
    bool negative = p[n - 1] & 0x80;
    // Bytes past the eighth may only repeat the sign.
    for (uint64_t k = 8; k < n; ++k)
      check(p[k] == (negative ? 0xFF : 0x00), "an integer does not fit in 64 bits");
    uint64_t v = 0;
    for (uint64_t k = 0; k < 8; ++k) {
      uint8_t b = k < n ? p[k] : (negative ? 0xFF : 0x00);
      v |= uint64_t(b) << (8 * k);
    }
    check(n <= 8 || bool(v >> 63) == negative, "an integer does not fit in 64 bits");
    return int64_t(v);
  }

  uint32_t make_int(int64_t v, Kind k = Kind::Int) {
    Obj o(k);
    o.i = v;
    return make(std::move(o));
  }
  uint32_t make_str(std::string s) {
    Obj o(Kind::Str);
    o.s = std::move(s);
    return make(std::move(o));
  }
  uint32_t make_seq(Kind k, std::vector<uint32_t> items) {
    Obj o(k);
    o.items = std::move(items);
    return make(std::move(o));
  }
  uint32_t make_ordered_dict() {
    Obj d(Kind::Dict);
    d.ordered = true;
    return make(std::move(d));
  }

  uint32_t load() {
    while (true) {
      op_at_ = pos_;
      check(pos_ < size_, "truncated: the pickle ends without a STOP opcode");
      uint8_t op = data_[pos_++];
      switch (op) {
        case 0x80: {  // PROTO
          protocol_ = int(le(1, "PROTO"));
          check(protocol_ >= 2 && protocol_ <= 5, "unsupported pickle protocol ", protocol_, " (2 to 5 are read)");
          break;
        }
        case 0x95: {  // FRAME: a hint for buffered readers; the bytes follow inline
          uint64_t n = le(8, "FRAME");
          need(n, "a frame");
          break;
        }
        case '.': {  // STOP
          uint32_t result = pop();
          return result;
        }
        case '(':
          charge(sizeof(size_t));
          marks_.push_back(stack_.size());
          break;
        case '0':  // POP
          if (stack_.size() > fence()) stack_.pop_back();
          else pop_mark();
          break;
        case '1': pop_mark(); break;  // POP_MARK
        case '2': push(top()); break;  // DUP
        case 'N': push(make(Kind::None)); break;
        case 0x88:
        case 0x89: push(make_int(op == 0x88, Kind::Bool)); break;  // NEWTRUE, NEWFALSE
        case 'J': push(make_int(int32_t(uint32_t(le(4, "BININT"))))); break;
        case 'K': push(make_int(int64_t(le(1, "BININT1")))); break;
        case 'M': push(make_int(int64_t(le(2, "BININT2")))); break;
        case 0x8a: push(make_int(decode_long(le(1, "LONG1")))); break;
        case 0x8b: {
          int64_t n = int32_t(uint32_t(le(4, "LONG4")));
          check(n >= 0, "LONG4 with a negative length");
          push(make_int(decode_long(uint64_t(n))));
          break;
        }
        case 'G': {
          need(8, "BINFLOAT");
          uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = bits << 8 | data_[pos_ + size_t(k)];  // big-endian
          pos_ += 8;
          Obj o(Kind::Float);
          std::memcpy(&o.d, &bits, 8);
          push(make(std::move(o)));
          break;
        }
        case 'X': push(make_str(bytes(le(4, "BINUNICODE"), "a BINUNICODE string"))); break;
        case 0x8c: push(make_str(bytes(le(1, "SHORT_BINUNICODE"), "a SHORT_BINUNICODE string"))); break;
        case 0x8d: push(make_str(bytes(le(8, "BINUNICODE8"), "a BINUNICODE8 string"))); break;
        case ')': push(make_seq(Kind::Tuple, {})); break;
        case 't': push(make_seq(Kind::Tuple, pop_mark())); break;
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          size_t n = size_t(op - 0x84);
          std::vector<uint32_t> items(n);
          for (size_t k = n; k-- > 0;) items[k] = pop();
          push(make_seq(Kind::Tuple, std::move(items)));
          break;
        }
        case ']': push(make_seq(Kind::List, {})); break;
        case 'l': push(make_seq(Kind::List, pop_mark())); break;
        case 'a': {  // APPEND
          uint32_t item = pop();
          Obj& list = objs_[top()];
          check(list.kind == Kind::List, "APPEND to a ", kind_name(list.kind), ", not a list");
          charge(4);
          list.items.push_back(item);
          break;
        }
        case 'e': {  // APPENDS
          std::vector<uint32_t> items = pop_mark();
          Obj& list = objs_[top()];
          check(list.kind == Kind::List, "APPENDS to a ", kind_name(list.kind), ", not a list");
          charge(4 * items.size());
          list.items.insert(list.items.end(), items.begin(), items.end());
          break;
        }
        case '}': push(make(Kind::Dict)); break;
        case 'd': {  // DICT
          std::vector<uint32_t> items = pop_mark();
          check(items.size() % 2 == 0, "DICT with an odd number of items");
          uint32_t d = make(Kind::Dict);
          for (size_t k = 0; k < items.size(); k += 2) set_item(d, items[k], items[k + 1]);
          push(d);
          break;
        }
        case 's': {  // SETITEM
          uint32_t value = pop(), key = pop();
          set_item(top(), key, value);
          break;
        }
        case 'u': {  // SETITEMS
          std::vector<uint32_t> items = pop_mark();
          check(items.size() % 2 == 0, "SETITEMS with an odd number of items");
          uint32_t d = top();
          for (size_t k = 0; k < items.size(); k += 2) set_item(d, items[k], items[k + 1]);
          break;
        }
        case 'c': {  // GLOBAL
          std::string module = line("GLOBAL's module");
          std::string name = line("GLOBAL's name");
          push(resolve_global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const Obj& name = objs_[pop()];
          const Obj& module = objs_[pop()];
          check(name.kind == Kind::Str && module.kind == Kind::Str, "STACK_GLOBAL needs two strs");
          std::string m = module.s, n = name.s;
          push(resolve_global(m, n));
          break;
        }
        case 'R': reduce(); break;
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only an empty OrderedDict
          uint32_t args = pop();
          const Obj& cls = objs_[pop()];
          check(cls.kind == Kind::Global && cls.global == Global::OrderedDict, "NEWOBJ of ",
                cls.kind == Kind::Global ? cls.s : kind_name(cls.kind), " (only collections.OrderedDict)");
          check(objs_[args].kind == Kind::Tuple && objs_[args].items.empty(), "NEWOBJ of an OrderedDict with arguments");
          push(make_ordered_dict());
          break;
        }
        case 'b': build(); break;
        case 'Q': persistent_load(); break;
        case 'h': memo_get(le(1, "BINGET")); break;
        case 'j': memo_get(le(4, "LONG_BINGET")); break;
        case 'q': memo_put(le(1, "BINPUT")); break;
        case 'r': memo_put(le(4, "LONG_BINPUT")); break;
        case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
        default: {
          const char* name = refused_opcode_name(op);
          if (name) fail("opcode ", name, " is not allowed in a weights file");
          char buf[8];
          std::snprintf(buf, sizeof buf, "0x%02x", op);
          fail("unknown opcode ", buf);
        }
      }
    }
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_at_ = 0;
  int protocol_ = 0;
  const std::string& what_;
  std::vector<Obj> objs_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::vector<StorageRef> storages_;
  std::unordered_map<std::string, size_t> storage_by_key_;
  std::unordered_map<std::string, uint32_t> interned_;  // typed key -> intern id
  std::unordered_map<uint32_t, uint32_t> key_intern_;   // key object -> intern id
  uint64_t budget_;
};

}  // namespace

Unpickled unpickle(const uint8_t* data, size_t size, const std::string& what) {
  return Unpickler(data, size, what).run();
}

const char* storage_type_name(DType dtype) {
  for (const auto& t : kStorageTypes)
    if (t.dtype == dtype) return t.name;
  EMBER_FAIL("no PyTorch storage type for dtype ", dtype_name(dtype));
}

}  // namespace ember::io::pickle
