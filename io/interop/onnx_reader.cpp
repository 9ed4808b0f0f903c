// OnnxReader: an ONNX model's initializers as a flat dict of tensors, validated before allocation.
#include "ember/io/interop/onnx.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <cstring>
#include <unordered_set>

#include "ember/io/atomic_file.h"
#include "ember/io/native_reader.h"  // kMaxRank
#include "ember/io/text.h"

#if EMBER_WITH_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace ember::io {

bool looks_like_onnx(const uint8_t* head, size_t n) {
  // ModelProto's field 1 (ir_version, a one-byte varint), then another ModelProto field: producer_name,
  // producer_version, domain, model_version, doc_string, graph, opset_import or metadata_props.
  if (n < 3 || head[0] != 0x08 || head[1] == 0 || head[1] > 0x7f) return false;
  for (uint8_t tag : {0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42, 0x72})
    if (head[2] == tag) return true;
  return false;
}

std::string OnnxReader::check_tensor(size_t i) {
  EMBER_CHECK(i < tensors_.size(), path_, ": tensor index ", i, " out of range (", tensors_.size(), " tensors)");
  return {};  // every initializer was checked whole when the file was opened
}

Tensor OnnxReader::read_tensor(size_t i) {
  EMBER_CHECK(i < tensors_.size(), path_, ": tensor index ", i, " out of range (", tensors_.size(), " tensors)");
  const TensorInfo& info = tensors_[i];
  return from_blob(data_[i].data(), info.shape, info.dtype);
}

#if !EMBER_WITH_ONNX

OnnxReader::OnnxReader(const std::string& path) : path_(path) {
  EMBER_FAIL("load: ", path, ": an ONNX model, but this build of Ember has no ONNX support (it was configured ",
             "with EMBER_ONNX=OFF or without libonnx-dev; install libonnx-dev and configure again)");
}

#else

namespace {

using ::onnx::TensorProto;

bool dtype_of_onnx(int32_t t, DType& out) {
  switch (t) {
    case TensorProto::FLOAT: out = kFloat32; return true;
    case TensorProto::DOUBLE: out = kFloat64; return true;
    case TensorProto::INT64: out = kInt64; return true;
    case TensorProto::UINT8: out = kUInt8; return true;
    case TensorProto::BOOL: out = kBool; return true;
    default: return false;
  }
}

std::string onnx_type_name(int32_t t) {
  return TensorProto::DataType_IsValid(t) ? TensorProto::DataType_Name(TensorProto::DataType(t))
                                          : "unknown (" + std::to_string(t) + ")";
}

// Typed data (float_data, ...) as bytes of `dtype`; `count` elements were checked to be there.
template <class Src, class Dst>
std::string pack(const google::protobuf::RepeatedField<Src>& src) {
  std::string out(size_t(src.size()) * sizeof(Dst), '\0');
  for (int k = 0; k < src.size(); ++k) {
    Dst v = static_cast<Dst>(src.Get(k));
    std::memcpy(out.data() + size_t(k) * sizeof(Dst), &v, sizeof(Dst));
  }
  return out;
}

// protobuf builds the whole model before Ember sees any of it, and a 2-byte empty sub-message costs
// it a hundred bytes or more: 40 MB of empty nodes took 7.7 GB. So the wire format is walked first
// (no allocation, the raw_data bytes skipped unread) to estimate what protobuf will allocate, and a
// file whose estimate passes kOnnxMaxMemory(file size) is refused before protobuf parses it.
class WireEstimate {
 public:
  enum class Msg { Model, Graph, Node, Attribute, Initializer, Tensor, SparseTensor, Other };
  static constexpr uint64_t kMessage = 128;  // a sub-message (its object and its slot)
  static constexpr uint64_t kString = 48;    // a string or bytes field, plus its bytes
  static constexpr uint64_t kScalar = 8;     // one element of a number field

  // At most twice the file, plus 64 MiB: a model of raw_data tensors needs about its size once.
  WireEstimate(const std::string& path, uint64_t file_size)
      : path_(path), file_size_(file_size), limit_(2 * file_size + (uint64_t(64) << 20)) {}

  // Walks [p, end) as a message of type `m`; stops where it is not valid wire format (protobuf then
  // refuses the file itself). Every byte is looked at once at most, raw_data's never.
  void walk(const uint8_t* p, const uint8_t* end, Msg m, int depth) {
    Seen seen;  // of an initializer: what its raw_data's size is checked against, before protobuf copies it
    const bool init = m == Msg::Initializer;
    while (p < end) {
      uint64_t key = 0, len = 0;
      if (!varint(p, end, key)) return;
      uint32_t field = uint32_t(key >> 3), wire = uint32_t(key & 7);
      if (wire == 0) {
        if (!varint(p, end, len)) return;
        add(kScalar, "numbers");
        if (init && field == 1) seen.dims.push_back(int64_t(len));
        if (init && field == 2) seen.type = len;
      } else if (wire == 1 || wire == 5) {
        size_t w = wire == 1 ? 8 : 4;
        if (size_t(end - p) < w) return;
        p += w;
        add(kScalar, "numbers");
      } else if (wire == 2) {
        if (!varint(p, end, len) || len > uint64_t(end - p)) return;
        const uint8_t* q = p;
        p += len;
        Child c = child(m, field);
        if (init && field == 1) {
          for (const uint8_t* b = q; b < p;) {
            uint64_t d = 0;
            if (!varint(b, p, d)) return;
            seen.dims.push_back(int64_t(d));
          }
        }
        if (init && field == 8) seen.name.assign(reinterpret_cast<const char*>(q), size_t(std::min<uint64_t>(len, 200)));
        if (init && field == 9) seen.raw = true, seen.raw_len = len;
        if (c.packed_varint) {
          uint64_t n = 0;
          for (const uint8_t* b = q; b < p; ++b) n += (*b & 0x80) == 0;
          add(n * kScalar, "numbers");
        } else if (c.packed_fixed) {
          add(len, "numbers");
        } else if (c.message && depth < 100) {
          add(kMessage, "sub-messages");
          walk(q, p, c.type, depth + 1);
        } else {
          add(kString + len, "strings");
        }
      } else {
        return;  // groups (3, 4) are not in ONNX; anything else is not wire format
      }
    }
    if (init) check_raw_size(seen);
  }

 private:
  struct Child {
    bool message = false, packed_varint = false, packed_fixed = false;
    Msg type = Msg::Other;
  };
  // onnx.proto's field numbers: which length-delimited fields are sub-messages, packed numbers or
  // bytes. Messages Ember does not read (types, functions, training info) are walked as messages
  // whatever they hold: an over-estimate, never an under-estimate.
  static Child child(Msg m, uint32_t f) {
    auto msg = [](Msg t) { Child c; c.message = true; c.type = t; return c; };
    auto varints = [] { Child c; c.packed_varint = true; return c; };
    auto fixed = [] { Child c; c.packed_fixed = true; return c; };
    switch (m) {
      case Msg::Model:
        if (f == 7) return msg(Msg::Graph);
        if (f == 8 || f == 14 || f == 20 || f == 25 || f == 26) return msg(Msg::Other);
        return {};
      case Msg::Graph:
        if (f == 1) return msg(Msg::Node);
        if (f == 5) return msg(Msg::Initializer);
        if (f == 15) return msg(Msg::SparseTensor);
        if (f >= 11 && f <= 16) return msg(Msg::Other);
        return {};
      case Msg::Node:
        if (f == 5) return msg(Msg::Attribute);
        if (f == 9 || f == 10) return msg(Msg::Other);
        return {};
      case Msg::Attribute:
        if (f == 5 || f == 10) return msg(Msg::Tensor);
        if (f == 6 || f == 11) return msg(Msg::Graph);
        if (f == 22 || f == 23) return msg(Msg::SparseTensor);
        if (f == 14 || f == 15) return msg(Msg::Other);
        if (f == 7) return fixed();
        if (f == 8) return varints();
        return {};
      case Msg::Initializer:
      case Msg::Tensor:
        if (f == 1 || f == 5 || f == 7 || f == 11) return varints();
        if (f == 4 || f == 10) return fixed();
        if (f == 3 || f == 13 || f == 16) return msg(Msg::Other);
        return {};  // 9 raw_data, 6 string_data, 8 name, 12 doc_string
      case Msg::SparseTensor:
        if (f == 1 || f == 2) return msg(Msg::Tensor);
        if (f == 3) return varints();
        return {};
      case Msg::Other: return msg(Msg::Other);
    }
    return {};
  }

  struct Seen {
    std::string name;
    Shape dims;
    uint64_t type = 0, raw_len = 0;
    bool raw = false;
  };

  // The reader's own check (the same message), made before protobuf allocates raw_data: a file just
  // under 2 GiB must not be copied whole to learn that its dims ask for 4 bytes.
  void check_raw_size(const Seen& s) const {
    DType dtype;
    if (!s.raw || s.type > 64 || !dtype_of_onnx(int32_t(s.type), dtype) || s.dims.size() > kMaxRank) return;
    uint64_t numel = 1, nbytes = 0;
    for (int64_t d : s.dims)
      if (d < 0 || __builtin_mul_overflow(numel, uint64_t(d), &numel)) return;  // the reader names these
    if (__builtin_mul_overflow(numel, dtype_size(dtype), &nbytes)) return;
    EMBER_CHECK(nbytes == s.raw_len, "load: ", path_, ": initializer '", s.name, "': raw_data holds ", s.raw_len,
                " bytes, but ", onnx_type_name(int32_t(s.type)), " ", shape_str(s.dims), " needs ", nbytes);
  }

  static bool varint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p < end; shift += 7) {
      uint8_t b = *p++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }

  void add(uint64_t bytes, const char* what) {
    total_ += bytes;
    EMBER_CHECK(total_ <= limit_, "load: ", path_, ": an ONNX file of ", count_of(file_size_, "byte"),
                " whose parse would need more than ", limit_, " bytes of memory (past that while counting its ", what,
                ", as millions of tiny or empty entries do); refused before it is parsed");
  }

  const std::string& path_;
  uint64_t file_size_, limit_;
  uint64_t total_ = 0;
};

}  // namespace

OnnxReader::OnnxReader(const std::string& path) : path_(path) {
  int fd = open_regular_file(path, file_size_);
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } closer{fd};
  EMBER_CHECK(file_size_ <= kOnnxMaxFile, "load: ", path, ": an ONNX file of ", file_size_, " bytes, over ",
              "protobuf's limit of ", kOnnxMaxFile, " bytes for one model (models this large keep their weights as ",
              "external data, which Ember does not read)");
  if (file_size_ > 0) {
    // Mapped, not read: the walk touches the pages of the model's structure, not those of raw_data.
    void* map = ::mmap(nullptr, size_t(file_size_), PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) throw_errno("load: cannot map", path, errno);
    struct Unmap {
      void* p;
      size_t n;
      ~Unmap() { ::munmap(p, n); }
    } unmap{map, size_t(file_size_)};
    const auto* begin = static_cast<const uint8_t*>(map);
    WireEstimate(path, file_size_).walk(begin, begin + file_size_, WireEstimate::Msg::Model, 0);
  }

  // Parsed from the descriptor, so the file's bytes are never held whole beside the parsed model.
  ::onnx::ModelProto model;
  EMBER_CHECK(model.ParseFromFileDescriptor(fd), "load: ", path,
              ": not a valid ONNX model (protobuf could not parse it: a truncated or damaged file?)");
  // Any protobuf parses as some ModelProto (unknown fields are skipped): an ONNX model is one with an
  // ir_version, an opset to read its operators in, and a graph.
  EMBER_CHECK(model.has_ir_version() && model.ir_version() > 0 && model.opset_import_size() > 0 && model.has_graph(),
              "load: ", path, ": a protobuf message but not an ONNX model (",
              !model.has_ir_version() || model.ir_version() <= 0 ? "no ir_version"
              : model.opset_import_size() == 0                    ? "no opset_import"
                                                                  : "no graph",
              "; an ONNX model has an ir_version, an opset_import and a graph)");
  EMBER_CHECK(model.graph().sparse_initializer_size() == 0, "load: ", path, ": the graph holds ",
              model.graph().sparse_initializer_size(), " sparse initializer",
              model.graph().sparse_initializer_size() == 1 ? "" : "s", " (sparse_initializer, first '",
              model.graph().sparse_initializer(0).values().name(), "'), which Ember does not read");

  graph_.ir_version = model.ir_version();
  graph_.producer = model.producer_name() + (model.producer_version().empty() ? "" : " " + model.producer_version());
  for (const auto& o : model.opset_import()) graph_.opsets.emplace_back(o.domain(), o.version());
  ::onnx::GraphProto& g = *model.mutable_graph();
  std::unordered_set<std::string> names;
  Value::Dict tree;
  for (TensorProto& t : *g.mutable_initializer()) {
    const std::string name = t.name();
    std::string where = "load: " + path + ": initializer '" + name + "'";
    EMBER_CHECK(!name.empty(), "load: ", path, ": an initializer without a name (initializer ", tensors_.size(), ")");
    EMBER_CHECK(names.insert(name).second, where, " appears twice");
    EMBER_CHECK(t.data_location() != TensorProto::EXTERNAL && t.external_data_size() == 0, where,
                " keeps its data in an external file (external data), which Ember does not read");
    EMBER_CHECK(!t.has_segment(), where, " is split into segments, which Ember does not read");
    DType dtype;
    EMBER_CHECK(dtype_of_onnx(t.data_type(), dtype), where, " has data type ", onnx_type_name(t.data_type()),
                ", which Ember does not read (FLOAT, DOUBLE, INT64, UINT8 and BOOL)");
    EMBER_CHECK(uint64_t(t.dims_size()) <= kMaxRank, where, ": rank ", t.dims_size(), " exceeds ", kMaxRank);
    Shape shape;
    uint64_t numel = 1, nbytes = 0;
    for (int64_t d : t.dims()) {
      EMBER_CHECK(d >= 0, where, ": negative dimension ", d);
      EMBER_CHECK(!__builtin_mul_overflow(numel, uint64_t(d), &numel), where, ": its shape is too large");
      shape.push_back(d);
    }
    EMBER_CHECK(!__builtin_mul_overflow(numel, dtype_size(dtype), &nbytes) && nbytes <= kOnnxMaxFile, where,
                ": shape ", shape_str(shape), " is larger than any ONNX file can hold");
    std::string data;
    auto typed_count = [&](int n, const char* field) {
      EMBER_CHECK(uint64_t(n) == numel, where, ": ", onnx_type_name(t.data_type()), " ", shape_str(shape),
                  " needs ", numel, " values, but ", field, " holds ", n);
    };
    // ONNX keeps a tensor's values in exactly one field: raw_data or the typed field of its data type.
    const std::pair<int, const char*> typed[] = {{t.float_data_size(), "float_data"}, {t.double_data_size(), "double_data"},
                                                 {t.int32_data_size(), "int32_data"}, {t.int64_data_size(), "int64_data"},
                                                 {t.uint64_data_size(), "uint64_data"}, {t.string_data_size(), "string_data"}};
    for (const auto& [n, field] : typed)
      EMBER_CHECK(!t.has_raw_data() || n == 0, where, ": holds both raw_data and ", field, " (", n,
                  " values); an ONNX tensor keeps its values in exactly one of them");
    if (t.has_raw_data()) {
      EMBER_CHECK(t.raw_data().size() == nbytes, where, ": raw_data holds ", t.raw_data().size(), " bytes, but ",
                  onnx_type_name(t.data_type()), " ", shape_str(shape), " needs ", nbytes);
      data = std::move(*t.mutable_raw_data());  // moved, not copied: the model is dropped after this
    } else if (dtype == kFloat32) {
      typed_count(t.float_data_size(), "float_data");
      data = pack<float, float>(t.float_data());
    } else if (dtype == kFloat64) {
      typed_count(t.double_data_size(), "double_data");
      data = pack<double, double>(t.double_data());
    } else if (dtype == kInt64) {
      typed_count(t.int64_data_size(), "int64_data");
      data = pack<int64_t, int64_t>(t.int64_data());
    } else {  // UINT8 and BOOL live in int32_data
      typed_count(t.int32_data_size(), "int32_data");
      for (int32_t v : t.int32_data())
        EMBER_CHECK(v >= 0 && v <= (dtype == kBool ? 1 : 255), where, ": value ", v, " is out of range for ",
                    onnx_type_name(t.data_type()));
      data = pack<int32_t, uint8_t>(t.int32_data());
    }
    TensorProto().Swap(&t);  // frees the typed field now: one tensor's copy at a time, not the model's
    if (dtype == kBool)
      for (char c : data)
        EMBER_CHECK(c == 0 || c == 1, where, ": a bool holds the byte ", int(uint8_t(c)), " (a bool must be 0 or 1)");
    TensorInfo info;
    info.name = child_path("", escape_key(name));
    info.dtype = dtype;
    info.shape = shape;
    info.nbytes = nbytes;
    tensors_.push_back(std::move(info));
    data_.push_back(std::move(data));
    tree.insert(name, Value(Tensor()));
  }
  skeleton_ = Value(std::move(tree));

  for (const auto& in : g.input())
    if (!names.count(in.name())) graph_.inputs.push_back(in.name());
  for (const auto& out : g.output()) graph_.outputs.push_back(out.name());
  for (const auto& n : g.node()) {
    OnnxNode node{n.name(), n.op_type(), n.domain(), {}, {}};
    node.inputs.assign(n.input().begin(), n.input().end());
    node.outputs.assign(n.output().begin(), n.output().end());
    graph_.nodes.push_back(std::move(node));
  }
}

#endif

}  // namespace ember::io
