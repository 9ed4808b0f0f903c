#include "ember/io/interop/pth.h"
#include "ember/io/interop/pth_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <tuple>

#include "ember/io/atomic_file.h"
#include "ember/io/crc32.h"
#include "ember/io/interop/pickle_detail.h"

namespace ember::io {

static_assert(std::endian::native == std::endian::little, "the .pth reader and writer assume a little-endian host");


namespace {
// data.pkl of a large model is a few MB (about 100 bytes per tensor); torch writes it stored. A
// deflated one may expand at most kMaxPickleRatio times its compressed size (plus 1 MiB), so that a
// few KB of file cannot become a pickle of megabytes and an unpickler of gigabytes.
constexpr uint64_t kMaxPickleSize = uint64_t(256) << 20;
constexpr uint64_t kMaxPickleRatio = 32;
constexpr uint64_t kMaxExpansion = uint64_t(256) << 20;

bool contiguous(const pickle::TensorRef& v) {
  int64_t expected = 1;
  for (size_t d = v.shape.size(); d-- > 0;) {
    if (v.shape[d] != 1 && v.stride[d] != expected) return false;
    expected *= v.shape[d];
  }
  return true;
}

void byteswap(uint8_t* p, size_t numel, size_t width) {
  if (width == 1) return;
  for (size_t i = 0; i < numel; ++i, p += width) std::reverse(p, p + width);
}

// Copies the elements a strided view reaches from `src` (the storage's bytes) into `dst`, in order.
void gather(const uint8_t* src, uint8_t* dst, const pickle::TensorRef& v, size_t width) {
  size_t rank = v.shape.size();
  int64_t numel = shape_numel(v.shape);
  std::vector<int64_t> index(rank, 0);
  uint64_t at = v.offset;  // element offset in the storage
  for (int64_t n = 0; n < numel; ++n) {
    std::memcpy(dst + size_t(n) * width, src + at * width, width);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < v.shape[d]) {
        at += uint64_t(v.stride[d]);
        break;
      }
      at -= uint64_t(v.stride[d]) * uint64_t(v.shape[d] - 1);
      index[d] = 0;
    }
  }
}

}  // namespace

PthReader::PthReader(const std::string& path) : path_(path) {
  fd_ = open_regular_file(path, file_size_);
  try {
    zip_ = std::make_unique<ZipReader>(fd_, file_size_, path_);
    EMBER_CHECK(!zip_->entries().empty(), path_, ": an empty zip archive, not a PyTorch file");

    // As torch's reader: the first entry's folder is the archive's prefix for every record.
    const std::string& first = zip_->entries()[0].name;
    size_t slash = first.find('/');
    EMBER_CHECK(slash != std::string::npos, path_, ": not a PyTorch file: its first zip entry \"", printable(first),
                "\" is not inside a folder");
    std::string prefix = first.substr(0, slash + 1);
    const ZipEntry* pkl = zip_->find(prefix + "data.pkl");
    EMBER_CHECK(!zip_->find(prefix + "constants.pkl"), path_,
                ": this is a TorchScript archive (torch.jit.save), which holds code; Ember reads torch.save files: "
                "save the model's state_dict() with torch.save instead");
    EMBER_CHECK(pkl, path_, ": not a PyTorch file: the zip archive has no ", printable(prefix), "data.pkl");

    if (const ZipEntry* e = zip_->find(prefix + "byteorder")) {
      std::vector<uint8_t> b = zip_->read(*e, 16);
      std::string order(b.begin(), b.end());
      EMBER_CHECK(order == "little" || order == "big", path_, ": unknown byte order \"", printable(order),
                  "\" (expected little or big)");
      big_endian_ = order == "big";
    }
    if (const ZipEntry* e = zip_->find(prefix + "version")) {
      std::vector<uint8_t> b = zip_->read(*e, 64);
      std::string text(b.begin(), b.end());
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
      bool digits = !text.empty() && text.size() <= 9 &&
                    std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      EMBER_CHECK(digits && std::stoi(text) >= 1 && std::stoi(text) <= 10, path_, ": unsupported PyTorch file version \"",
                  printable(text, 16), "\" (versions 1 to 10 are read)");
    }

    uint64_t pickle_limit = kMaxPickleSize;
    if (pkl->method != 0) pickle_limit = std::min(pickle_limit, kMaxPickleRatio * pkl->compressed_size + (uint64_t(1) << 20));
    EMBER_CHECK(pkl->size <= pickle_limit, path_, ": ", printable(pkl->name), " holds ", pkl->size, " bytes",
                pkl->method != 0 ? " deflated from " + std::to_string(pkl->compressed_size) : std::string(),
                ", over the limit of ", pickle_limit, " (", kMaxPickleSize >> 20, " MiB, and a deflated pickle at most ",
                kMaxPickleRatio, " times its compressed size plus 1 MiB)");
    std::vector<uint8_t> bytes = zip_->read(*pkl, pickle_limit);
    pickle::Unpickled u = pickle::unpickle(bytes.data(), bytes.size(), path_ + ": " + pkl->name);
    protocol_ = u.protocol;
    storages_ = std::move(u.storages);
    views_ = std::move(u.tensors);
    skeleton_ = std::move(u.tree);

    for (const pickle::StorageRef& s : storages_) {
      std::string name = prefix + "data/" + s.key;
      parse_recorded_device(s.location, path_ + ": storage \"" + printable(s.key) + "\"");
      const ZipEntry* rec = zip_->find(name);
      EMBER_CHECK(rec, path_, ": storage \"", printable(s.key), "\" has no record ", printable(name), " in the archive");
      uint64_t need;
      EMBER_CHECK(!__builtin_mul_overflow(s.numel, dtype_size(s.dtype), &need) && rec->size == need, path_,
                  ": record ", printable(name), " holds ", rec->size, " bytes, but its storage is ", s.numel, " elements of ",
                  dtype_name(s.dtype), " (", s.numel * dtype_size(s.dtype), " bytes)");
      records_.push_back(rec);
    }
    verified_.assign(storages_.size(), 0);
    // PyTorch keeps views sharing their storage; Ember gives each its own copy. A tiny file could
    // then claim terabytes (an expand() with stride 0, or thousands of views of one big storage),
    // so what the copies take is bounded by what the records hold.
    uint64_t records_bytes = 0, views_bytes = 0;
    for (const ZipEntry* rec : records_) records_bytes += rec->size;
    for (const pickle::TensorRef& v : views_) {
      views_bytes += uint64_t(shape_numel(v.shape)) * dtype_size(storages_[v.storage].dtype);
      EMBER_CHECK(views_bytes <= 4 * records_bytes + kMaxExpansion, path_, ": tensor \"", v.path, "\" brings the ",
                  "tensors' total to ", views_bytes, " bytes from ", records_bytes, " bytes of storage; views may ",
                  "expand their storages (expand(), repeated views) to at most 4 times their size plus ",
                  kMaxExpansion >> 20, " MiB");
    }
    for (const pickle::TensorRef& v : views_) {
      const pickle::StorageRef& s = storages_[v.storage];
      TensorInfo info;
      info.name = v.path;
      info.dtype = s.dtype;
      info.shape = v.shape;
      info.device = parse_recorded_device(s.location, path_ + ": storage \"" + printable(s.key) + "\"");
      info.nbytes = uint64_t(shape_numel(v.shape)) * dtype_size(s.dtype);
      info.offset = records_[v.storage]->data_offset +
                    (records_[v.storage]->method == 0 ? v.offset * dtype_size(s.dtype) : 0);
      info.has_checksum = true;
      info.crc32 = records_[v.storage]->crc32;
      tensors_.push_back(std::move(info));
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

PthReader::~PthReader() {
  if (fd_ >= 0) ::close(fd_);
}

void PthReader::verify_record(size_t storage) {
  if (verified_[storage]) return;
  const ZipEntry& rec = *records_[storage];
  uint32_t crc = zip_->compute_crc(rec);
  EMBER_CHECK(crc == rec.crc32, path_, ": record ", rec.name, " is damaged: its bytes do not match their CRC32");
  verified_[storage] = 1;
}

Tensor PthReader::read_tensor(size_t i) {
  EMBER_CHECK(i < tensors_.size(), path_, ": tensor index ", i, " out of range (", tensors_.size(), " tensors)");
  const TensorInfo& info = tensors_[i];
  const pickle::TensorRef& v = views_[i];
  const ZipEntry& rec = *records_[v.storage];
  size_t width = dtype_size(info.dtype);
  Tensor t = empty(info.shape, info.dtype);
  auto* dst = static_cast<uint8_t*>(t.raw_data());
  if (info.nbytes > 0) {
    if (rec.method == 0 && contiguous(v)) {
      // The common case: read the bytes straight into the tensor.
      zip_->read_stored(rec, v.offset * width, dst, size_t(info.nbytes));
      if (!verified_[v.storage]) {
        if (info.nbytes == rec.size) {
          EMBER_CHECK(crc32(0, dst, size_t(info.nbytes)) == rec.crc32, path_, ": tensor \"", info.name,
                      "\": record ", rec.name, " is damaged: its bytes do not match their CRC32");
          verified_[v.storage] = 1;
        } else {
          verify_record(v.storage);
        }
      }
    } else {
      std::vector<uint8_t> bytes = zip_->read(rec, rec.size);  // verifies the CRC32
      verified_[v.storage] = 1;
      gather(bytes.data(), dst, v, width);
    }
  }
  if (big_endian_) byteswap(dst, size_t(t.numel()), width);
  if (info.dtype == kBool) check_bool_bytes(t, path_, "\"" + info.name + "\"");
  return t;
}

std::string PthReader::check_tensor(size_t i) {
  EMBER_CHECK(i < tensors_.size(), path_, ": tensor index ", i, " out of range (", tensors_.size(), " tensors)");
  try {
    // What a load checks: the record's CRC32 and, for bools, every byte of the view.
    if (tensors_[i].dtype == kBool) read_tensor(i);
    verify_record(views_[i].storage);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

// ---- writing ----

namespace {
Value doubles_to_tensors(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Double: return Value(scalar_tensor(v.as_double(), kFloat64));
    case Value::Kind::List: {
      Value::List out;
      for (const Value& item : v.as_list()) out.push_back(doubles_to_tensors(item));
      return Value(std::move(out));
    }
    case Value::Kind::Dict: {
      Value::Dict out;
      for (const auto& [key, child] : v.as_dict()) out.insert(key, doubles_to_tensors(child));
      return Value(std::move(out));
    }
    default: return v;
  }
}
}  // namespace

void write_pth(const Value& value, const std::string& path, const PthWriteOptions& options) {
  Value converted = options.floats_as_tensors ? doubles_to_tensors(value) : Value();
  const Value& tree = options.floats_as_tensors ? converted : value;

  // One record per distinct run of bytes: tensors viewing the same bytes share it, as tied weights do.
  std::vector<Tensor> records;
  std::map<std::tuple<const void*, int64_t, int64_t, DType>, std::string> seen;
  std::string pkl = pickle::pickle_value(tree, [&](const std::string& at, const Tensor& t) {
    EMBER_CHECK(t.defined(), "save_pth: ", path, ": the tensor at \"", at, "\" is undefined");
    auto key = std::make_tuple(static_cast<const void*>(t.impl()->storage.get()), t.impl()->offset, t.numel(), t.dtype());
    auto [it, fresh] = seen.emplace(key, std::to_string(records.size()));
    if (fresh) records.push_back(t);
    return pickle::StorageRecord{it->second, uint64_t(t.numel()), 0, t.device().str()};
  });

  AtomicFile file(path);
  ZipWriter zip(file, options.force_zip64);
  zip.add("archive/data.pkl", pkl.data(), pkl.size());
  zip.add("archive/byteorder", "little", 6);
  for (size_t i = 0; i < records.size(); ++i) {
    Tensor host = records[i].device().is_cpu() ? records[i] : records[i].to(kCPU);
    zip.add("archive/data/" + std::to_string(i), host.raw_data(), host.nbytes());
  }
  zip.add("archive/version", "3\n", 2);
  zip.finish();
  file.commit(options.sync);
}

}  // namespace ember::io

namespace ember {
void save_pth(const Value& value, const std::string& path) { io::write_pth(value, path); }
}  // namespace ember
