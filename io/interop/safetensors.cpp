#include "ember/io/interop/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "ember/io/atomic_file.h"
#include "ember/io/text.h"

namespace ember::io {

namespace {
// Not ordered_json: its objects find keys by linear search, which makes a header of n keys cost
// n^2. The order of the tensors is taken from the parse events instead.
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;  // for writing, where the order is ours

constexpr size_t kMaxRank = 64;

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {{"F32", kFloat32}, {"F64", kFloat64}, {"I64", kInt64}, {"U8", kUInt8}, {"BOOL", kBool}};
// dtypes of the format that Ember has no counterpart for.
constexpr const char* kUnsupported[] = {"F16",     "BF16",    "I32",  "I16",     "I8",      "U16",
                                        "U32",     "U64",     "C64",  "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                        "F6_E2M3", "F6_E3M2", "F4"};

const char* safetensors_name(DType t) {
  for (const auto& d : kDTypes)
    if (d.dtype == t) return d.name;
  EMBER_FAIL("no safetensors dtype for ", dtype_name(t));
}

// The deepest nesting of objects and arrays in `text`, found without parsing (strings skipped), so
// that no parser ever meets a header nested deeper than the format allows.
size_t json_depth(const std::string& text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// Parse events of the header: duplicate keys at any level, and the order of the top level's keys
// and of __metadata__'s.
struct KeyScan : nlohmann::json_sax<Json> {
  std::vector<std::unordered_set<std::string>> open;  // keys of each object being parsed
  std::vector<std::string> order, metadata_order;
  std::string duplicate;
  bool in_metadata = false;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    in_metadata = open.size() == 1 && !order.empty() && order.back() == "__metadata__";
    open.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!open.back().insert(k).second && duplicate.empty()) duplicate = k;
    if (open.size() == 1) order.push_back(k);
    else if (open.size() == 2 && in_metadata) metadata_order.push_back(k);
    return true;
  }
  bool end_object() override {
    open.pop_back();
    if (open.size() <= 1) in_metadata = false;
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw e;
  }
};

std::string quoted(const std::string& s) { return Json(s).dump(-1, ' ', true, Json::error_handler_t::replace); }
}  // namespace

SafetensorsReader::SafetensorsReader(const std::string& path) : path_(path) {
  fd_ = open_regular_file(path, file_size_);
  try {
    EMBER_CHECK(file_size_ >= 8, path_, ": truncated: ", file_size_,
                " bytes, too short for a safetensors file's 8-byte header length");
    uint8_t len[8];
    pread_exact(fd_, len, 8, 0, path_);
    uint64_t n = 0;
    for (int k = 0; k < 8; ++k) n |= uint64_t(len[k]) << (8 * k);
    EMBER_CHECK(n <= kSafetensorsMaxHeader, path_, ": header length ", n, " exceeds the safetensors limit of ",
                kSafetensorsMaxHeader, " bytes");
    EMBER_CHECK(n <= file_size_ - 8, path_, ": header length ", n, " runs past the end of the file (",
                file_size_, " bytes)");
    std::string header(size_t(n), '\0');
    pread_exact(fd_, header.data(), header.size(), 8, path_);
    parse_header(header, 8 + n);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

SafetensorsReader::~SafetensorsReader() {
  if (fd_ >= 0) ::close(fd_);
}

void SafetensorsReader::parse_header(const std::string& header, uint64_t data_start) {
  EMBER_CHECK(!header.empty() && header[0] == '{', path_, ": the header must be a JSON object starting with '{'");
  size_t depth = json_depth(header);
  EMBER_CHECK(depth <= kSafetensorsMaxDepth, path_, ": the header nests ", depth, " levels deep; the format nests at most ",
              kSafetensorsMaxDepth, " (the header, a tensor, its shape)");
  // nlohmann keeps the last of duplicate keys silently, and its own objects forget the order: a
  // first pass of parse events finds duplicates at every level and records the keys' order. (Not
  // a parse callback: nlohmann's callback parser searches the parent for discarded values at the
  // end of every object, n^2 for n tensors.)
  KeyScan scan;
  Json j;
  try {
    if (!Json::sax_parse(header, &scan)) EMBER_FAIL(path_, ": the header is not valid JSON");
    j = Json::parse(header);
  } catch (const Json::exception& e) {
    EMBER_FAIL(path_, ": the header is not valid JSON: ", e.what());
  }
  const std::vector<std::string>& order = scan.order;
  const std::vector<std::string>& metadata_order = scan.metadata_order;
  const std::string& duplicate = scan.duplicate;
  EMBER_CHECK(duplicate.empty(), path_, ": the header names ", quoted(duplicate), " twice");
  EMBER_CHECK(j.is_object(), path_, ": the header must be a JSON object");

  struct Range {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Range> ranges;
  Value::Dict tree;
  for (const std::string& name : order) {
    const Json& entry = j.at(name);
    if (name == "__metadata__") {
      EMBER_CHECK(entry.is_object(), path_, ": \"__metadata__\" must be an object of strings");
      for (const std::string& key : metadata_order) {
        const Json& v = entry.at(key);
        EMBER_CHECK(v.is_string(), path_, ": \"__metadata__\" must map strings to strings; ", quoted(key), " is a ",
                    v.type_name());
        metadata_.insert(key, v.get<std::string>());
      }
      continue;
    }
    std::string where = path_ + ": tensor " + quoted(name);
    EMBER_CHECK(entry.is_object(), where, ": expected an object with dtype, shape and data_offsets");
    for (const auto& [key, unused] : entry.items())
      EMBER_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", where, ": unknown field ", quoted(key));
    EMBER_CHECK(entry.contains("dtype") && entry["dtype"].is_string(), where, ": \"dtype\" must be a string");
    std::string dt = entry["dtype"].get<std::string>();
    const DTypeName* known = nullptr;
    for (const auto& d : kDTypes)
      if (dt == d.name) known = &d;
    if (!known) {
      bool unsupported = std::find_if(std::begin(kUnsupported), std::end(kUnsupported),
                                      [&](const char* u) { return dt == u; }) != std::end(kUnsupported);
      EMBER_FAIL(where, unsupported ? ": dtype " : ": unknown dtype ", quoted(dt),
                 unsupported ? " is not supported by Ember" : "", " (Ember reads F32, F64, I64, U8 and BOOL)");
    }
    EMBER_CHECK(entry.contains("shape") && entry["shape"].is_array(), where, ": \"shape\" must be an array");
    const Json& shape = entry["shape"];
    EMBER_CHECK(shape.size() <= kMaxRank, where, ": rank ", shape.size(), " exceeds ", kMaxRank);
    Shape dims;
    uint64_t numel = 1;
    bool fits = true;
    for (const Json& d : shape) {
      EMBER_CHECK(d.is_number_unsigned(), where, ": \"shape\" must hold non-negative integers, found ", d.dump());
      uint64_t v = d.get<uint64_t>();
      fits = fits && v <= uint64_t(INT64_MAX) && !__builtin_mul_overflow(numel, v, &numel);
      dims.push_back(int64_t(std::min<uint64_t>(v, INT64_MAX)));
    }
    uint64_t nbytes = 0;
    fits = fits && !__builtin_mul_overflow(numel, dtype_size(known->dtype), &nbytes) && nbytes <= uint64_t(INT64_MAX);
    EMBER_CHECK(fits, where, ": shape ", shape.dump(), " is too large");
    EMBER_CHECK(entry.contains("data_offsets") && entry["data_offsets"].is_array() &&
                    entry["data_offsets"].size() == 2 && entry["data_offsets"][0].is_number_unsigned() &&
                    entry["data_offsets"][1].is_number_unsigned(),
                where, ": \"data_offsets\" must be [begin, end] with non-negative integers");
    uint64_t begin = entry["data_offsets"][0].get<uint64_t>(), end = entry["data_offsets"][1].get<uint64_t>();
    EMBER_CHECK(begin <= end, where, ": data_offsets [", begin, ", ", end, "] end before they begin");
    EMBER_CHECK(end - begin == nbytes, where, ": data_offsets [", begin, ", ", end, "] span ", end - begin,
                " bytes, but ", dt, " ", shape_str(dims), " needs ", nbytes);
    TensorInfo info;
    info.name = child_path("", escape_key(name));
    info.dtype = known->dtype;
    info.shape = dims;
    info.nbytes = nbytes;
    ranges.push_back({begin, end, tensors_.size()});
    tensors_.push_back(std::move(info));
    tree.insert(name, Value(Tensor()));
  }

  // The byte ranges must tile the data section exactly: no holes, no overlaps, nothing after.
  uint64_t data_size = file_size_ - data_start;
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const Range& r : ranges) {
    const std::string& name = tensors_[r.tensor].name;
    EMBER_CHECK(r.begin >= expected, path_, ": tensor ", quoted(name), " at bytes [", r.begin, ", ", r.end,
                ") overlaps the tensor before it (which ends at ", expected, ")");
    EMBER_CHECK(r.begin == expected, path_, ": a hole of ", r.begin - expected, " bytes before tensor ", quoted(name),
                " (data_offsets must be contiguous)");
    expected = r.end;
    EMBER_CHECK(expected <= data_size, path_, ": tensor ", quoted(name), " ends at byte ", expected,
                " of the data, which holds only ", data_size, " bytes (truncated file?)");
    tensors_[r.tensor].offset = data_start + r.begin;
  }
  EMBER_CHECK(expected == data_size, path_, ": ", data_size - expected,
              " bytes after the last tensor belong to no tensor (data_offsets must cover the data exactly)");
  skeleton_ = Value(std::move(tree));
}

Tensor SafetensorsReader::read_tensor(size_t i) {
  EMBER_CHECK(i < tensors_.size(), path_, ": tensor index ", i, " out of range (", tensors_.size(), " tensors)");
  const TensorInfo& info = tensors_[i];
  Tensor t = empty(info.shape, info.dtype);
  if (info.nbytes) pread_exact(fd_, t.raw_data(), size_t(info.nbytes), info.offset, path_);
  if (info.dtype == kBool) check_bool_bytes(t, path_, quoted(info.name));
  return t;
}

std::string SafetensorsReader::check_tensor(size_t i) {
  EMBER_CHECK(i < tensors_.size(), path_, ": tensor index ", i, " out of range (", tensors_.size(), " tensors)");
  if (tensors_[i].dtype != kBool) return "";
  try {
    read_tensor(i);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

void write_safetensors(const Value& tensors, const std::string& path, const StringMap& metadata,
                       const SafetensorsWriteOptions& options) {
  const char* why = "safetensors holds only a flat dict of tensors (a state dict) and string metadata";
  EMBER_CHECK(tensors.is_dict(), "save_safetensors: ", path, ": ", why, "; found ", a_or_an(tensors.kind_name()));
  for (const auto& [name, v] : tensors.as_dict()) {
    if (!v.is_tensor()) {
      std::string hint = tensors.contains("model_state_dict") && tensors.at("model_state_dict").is_dict()
                             ? " (to keep the model's weights, save its \"model_state_dict\")"
                             : "";
      EMBER_FAIL("save_safetensors: ", path, ": ", why, "; \"", name, "\" is ", a_or_an(v.kind_name()), hint);
    }
    EMBER_CHECK(v.as_tensor().defined(), "save_safetensors: ", path, ": the tensor \"", name, "\" is undefined");
    EMBER_CHECK(name != "__metadata__", "save_safetensors: ", path,
                ": a tensor may not be named \"__metadata__\" (the name is reserved for metadata)");
  }
  OrderedJson header = OrderedJson::object();
  if (!metadata.empty()) {
    OrderedJson m = OrderedJson::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = std::move(m);
  }
  uint64_t offset = 0;
  for (const auto& [name, v] : tensors.as_dict()) {
    const Tensor& t = v.as_tensor();
    OrderedJson shape = OrderedJson::array();
    for (int64_t d : t.shape()) shape.push_back(d);
    header[name] = OrderedJson{{"dtype", safetensors_name(t.dtype())}, {"shape", shape}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const OrderedJson::exception& e) {
    EMBER_FAIL("save_safetensors: ", path, ": a name or metadata string is not valid UTF-8 (", e.what(), ")");
  }
  // Spaces pad the header so the data starts on an 8-byte boundary, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  EMBER_CHECK(text.size() <= kSafetensorsMaxHeader, "save_safetensors: ", path, ": the header would take ",
              text.size(), " bytes, over the format's limit of ", kSafetensorsMaxHeader);
  uint8_t len[8];
  for (int k = 0; k < 8; ++k) len[k] = uint8_t(uint64_t(text.size()) >> (8 * k));

  AtomicFile file(path);
  file.reserve(8 + text.size() + offset);
  file.pwrite_all(len, 8, 0);
  file.pwrite_all(text.data(), text.size(), 8);
  uint64_t pos = 8 + text.size();
  for (const auto& [name, v] : tensors.as_dict()) {
    Tensor host = v.as_tensor().device().is_cpu() ? v.as_tensor() : v.as_tensor().to(kCPU);
    if (host.nbytes()) file.pwrite_all(host.raw_data(), host.nbytes(), pos);
    pos += host.nbytes();
  }
  file.commit(options.sync);
}

}  // namespace ember::io

namespace ember {
void save_safetensors(const Value& tensors, const std::string& path, const OrderedDict<std::string>& metadata) {
  io::write_safetensors(tensors, path, metadata);
}
}  // namespace ember
