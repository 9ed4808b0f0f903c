// The native format's reader: everything is validated before anything is allocated from it.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <omp.h>

#include "ember/io/atomic_file.h"
#include "ember/io/crc32.h"
#include "ember/io/format_detail.h"
#include "ember/io/text.h"

namespace ember::io {

using namespace detail;

namespace {
// Faults in the pages of a fresh buffer with one system call instead of one trap per 4 KiB page
// (Linux 5.14+; where unsupported the read faults them in as before).
void populate(uint8_t* p, size_t n) {
#ifdef __linux__
  constexpr int kPopulateWrite = 23;  // MADV_POPULATE_WRITE, missing from older headers
  uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + n) & ~(page - 1);
  if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, kPopulateWrite);
#else
  (void)p;
  (void)n;
#endif
}

// A load of at least this many bytes is read by several threads, at most kMaxReadThreads: most of
// the time of reading into fresh memory is the kernel faulting its pages in, which cores do side by
// side (on 2 cores, 384 MiB went from 0.24-0.35 s on one thread to 0.13-0.15 s on two).
constexpr uint64_t kParallelBytes = uint64_t(16) << 20;
constexpr int kMaxReadThreads = 4;

// Smallest encoded table entry: empty name, rank 0.
constexpr size_t kMinEntrySize = 4 + 1 + 1 + 2 + 4 + 8 + 8 + 4;

// Parses the value tree. Paths are kept as a stack of escaped components and joined only for a
// tensor (whose name the table holds anyway) or an error, so long keys nested deep cost no more
// than the header's own bytes. Recursion is bounded by kMaxDepth, and the nodes built (each a
// Value) by kMaxNodes, so memory stays proportional to the header whatever its counts claim.
struct TreeParser {
  Decoder& in;
  std::vector<TensorInfo>& tensors;
  size_t next_tensor = 0;
  size_t nodes = 0;
  std::vector<std::string> parts;

  std::string joined() const {
    std::string p;
    for (const std::string& part : parts) p = child_path(p, part);
    return p;
  }

  Value parse(int depth) {
    EMBER_CHECK(depth <= kMaxDepth, in.file, ": the tree nests deeper than ", kMaxDepth, " levels (the limit) at \"",
                printable(joined(), 200), "\"");
    EMBER_CHECK(++nodes <= kMaxNodes, in.file, ": the tree holds more than ", kMaxNodes, " values (the limit) at \"",
                printable(joined(), 200), "\"");
    size_t at = in.pos;
    uint8_t tag = in.u8("a value tag");
    switch (Tag(tag)) {
      case Tag::None: return Value();
      case Tag::False: return Value(false);
      case Tag::True: return Value(true);
      case Tag::Int: return Value(in.i64("an int"));
      case Tag::Double: return Value(in.f64("a double"));
      case Tag::String: return Value(in.str("a string"));
      case Tag::Tensor: {
        uint32_t index = in.u32("a tensor index");
        std::string path = joined();
        EMBER_CHECK(index == next_tensor && index < tensors.size(), in.file, ": tensor reference ", index, " at \"",
                    printable(path, 200), "\" (header byte ", at, "): expected ", next_tensor, " (table order) of ",
                    tensors.size(), " tensors");
        EMBER_CHECK(tensors[index].name == path, in.file, ": tensor table entry ", index, " is named \"",
                    printable(tensors[index].name, 200), "\" but sits at \"", printable(path, 200), "\" in the tree");
        ++next_tensor;
        return Value(Tensor());
      }
      case Tag::List: {
        uint32_t count = in.u32("a list length");
        // Every item takes at least its tag byte: a count beyond the bytes left is a lie.
        EMBER_CHECK(count <= in.size - in.pos, in.file, ": list \"", printable(joined(), 200), "\" claims ", count,
                    " items but only ", in.size - in.pos, " header bytes are left");
        Value::List items;
        // Reserved only as far as is cheap: nested lists each claiming millions must not reserve
        // millions each before their items are read.
        items.reserve(std::min<size_t>(count, 1024));
        for (uint32_t i = 0; i < count; ++i) {
          parts.push_back(std::to_string(i));
          items.push_back(parse(depth + 1));
          parts.pop_back();
        }
        return Value(std::move(items));
      }
      case Tag::Dict: {
        uint32_t count = in.u32("a dict length");
        // Every entry takes at least a 4-byte key length and a tag byte.
        EMBER_CHECK(uint64_t(count) * 5 <= in.size - in.pos, in.file, ": dict \"", printable(joined(), 200),
                    "\" claims ", count, " entries but only ", in.size - in.pos, " header bytes are left");
        Value::Dict dict;
        for (uint32_t i = 0; i < count; ++i) {
          size_t key_at = in.pos;
          std::string key = in.str("a dict key");
          EMBER_CHECK(!dict.contains(key), in.file, ": duplicate key \"", printable(key, 200), "\" in dict \"",
                      printable(joined(), 200), "\" (header byte ", key_at, ")");
          parts.push_back(escape_key(key));
          Value child = parse(depth + 1);
          parts.pop_back();
          dict.append_unchecked(std::move(key), std::move(child));
        }
        return Value(std::move(dict));
      }
    }
    EMBER_FAIL(in.file, ": unknown value tag ", int(tag), " at header byte ", at, " (known tags: 0-8)");
  }
};
}  // namespace

NativeReader::NativeReader(const std::string& path) : path_(path) {
  fd_ = open_regular_file(path, file_size_);
  try {

    uint8_t pre[kPreambleSize] = {};
    size_t have = size_t(std::min<uint64_t>(file_size_, kPreambleSize));
    pread_exact(fd_, pre, have, 0, path);
    size_t magic_have = std::min<size_t>(have, sizeof kMagic);
    EMBER_CHECK(std::memcmp(pre, kMagic, magic_have) == 0, path,
                ": not an Ember checkpoint (its first bytes are not the Ember magic \\x89EMB\\r\\n\\x1a\\n)");
    EMBER_CHECK(have >= 12, path, ": truncated: ", file_size_, " bytes, too short for an Ember checkpoint (",
                kPreambleSize, "-byte preamble)");
    uint32_t version = get_u32(pre + 8);
    EMBER_CHECK(version <= kFormatVersion, path, ": format version ", version,
                " is newer than this build of Ember supports (version ", kFormatVersion, "); upgrade Ember to read it");
    EMBER_CHECK(version == kFormatVersion, path, ": unsupported format version ", version, " (this build reads version ",
                kFormatVersion, ")");
    EMBER_CHECK(have == kPreambleSize, path, ": truncated: ", file_size_, " bytes, too short for an Ember checkpoint (",
                kPreambleSize, "-byte preamble)");
    uint32_t flags = get_u32(pre + 12);
    uint64_t header_size = get_u64(pre + 16), data_offset = get_u64(pre + 24), declared_size = get_u64(pre + 32);
    uint32_t reserved = get_u32(pre + 40), header_crc = get_u32(pre + 44);
    EMBER_CHECK(flags == 0, path, ": unknown flags ", hex32(flags), " in the preamble (version 1 defines none)");
    EMBER_CHECK(reserved == 0, path, ": reserved preamble bytes 40-43 are not zero");
    EMBER_CHECK(header_size <= kMaxHeaderSize, path, ": header size ", header_size, " exceeds the limit of ",
                kMaxHeaderSize, " bytes");
    uint64_t expect_data;
    align_up(kPreambleSize + header_size, &expect_data);
    EMBER_CHECK(data_offset == expect_data, path, ": data offset ", data_offset, " does not follow the ", header_size,
                "-byte header (expected ", expect_data, ")");
    EMBER_CHECK(declared_size >= data_offset, path, ": file size ", declared_size, " in the preamble is before the data offset ",
                data_offset);
    EMBER_CHECK(file_size_ >= declared_size, path, ": truncated: the file is ", file_size_, " bytes, its preamble says ",
                declared_size);
    EMBER_CHECK(file_size_ == declared_size, path, ": ", file_size_ - declared_size,
                " trailing bytes after the end given in the preamble (", declared_size, " bytes)");

    // Header and its padding, read together; the size is capped above and lies inside the file.
    std::vector<uint8_t> head(size_t(data_offset - kPreambleSize));
    pread_exact(fd_, head.data(), head.size(), kPreambleSize, path);
    uint32_t crc = crc32(crc32(0, pre, 44), head.data(), size_t(header_size));
    EMBER_CHECK(crc == header_crc, path, ": header checksum mismatch (stored ", hex32(header_crc), ", computed ",
                hex32(crc), "): the file is corrupt");
    for (size_t i = size_t(header_size); i < head.size(); ++i)
      EMBER_CHECK(head[i] == 0, path, ": nonzero padding byte at ", kPreambleSize + i, " after the header");
    head.resize(size_t(header_size));
    parse_header(head);
    (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

NativeReader::~NativeReader() {
  if (fd_ >= 0) ::close(fd_);
}

void NativeReader::parse_header(const std::vector<uint8_t>& header) {
  Decoder in{header.data(), header.size(), 0, path_};
  uint32_t count = in.u32("the tensor count");
  EMBER_CHECK(count <= header.size() / kMinEntrySize, path_, ": tensor count ", count, " cannot fit in a ",
              header.size(), "-byte header");
  tensors_.reserve(count);
  uint64_t data_offset;
  align_up(kPreambleSize + header.size(), &data_offset);
  uint64_t cursor = data_offset;  // where the next tensor must start
  for (uint32_t i = 0; i < count; ++i) {
    TensorInfo t;
    size_t at = in.pos;
    t.name = in.str("a tensor name");
    auto where = [&] { return ember::detail::concat(path_, ": tensor \"", t.name, "\" (table entry ", i, ", header byte ", at, ")"); };
    uint8_t dtype = in.u8("a dtype");
    EMBER_CHECK(dtype <= uint8_t(DType::Bool), where(), ": unknown dtype code ", int(dtype),
                " (known: 0 float32, 1 float64, 2 int64, 3 uint8, 4 bool)");
    t.dtype = DType(dtype);
    uint8_t dev_type = in.u8("a device type");
    uint16_t dev_index = in.u16("a device index");
    EMBER_CHECK(dev_type <= 1, where(), ": unknown device type ", int(dev_type), " (known: 0 cpu, 1 cuda)");
    EMBER_CHECK(dev_type == 1 || dev_index == 0, where(), ": a cpu tensor with device index ", dev_index);
    EMBER_CHECK(dev_index <= kMaxDeviceIndex, where(), ": device index ", dev_index, " exceeds the limit of ",
                kMaxDeviceIndex);
    t.device = Device(DeviceType(dev_type), dev_index);
    uint32_t rank = in.u32("a rank");
    EMBER_CHECK(rank <= kMaxRank, where(), ": rank ", rank, " exceeds the limit of ", kMaxRank);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < rank; ++d) {
      int64_t size = in.i64("a dimension");
      EMBER_CHECK(size >= 0, where(), ": negative dimension ", size);
      t.shape.push_back(size);
      EMBER_CHECK(checked_mul(numel, uint64_t(size), &numel), where(), ": element count overflows");
    }
    t.offset = in.u64("a tensor offset");
    t.nbytes = in.u64("a tensor byte length");
    t.crc32 = in.u32("a tensor checksum");
    t.has_checksum = true;
    uint64_t expect_bytes;
    EMBER_CHECK(checked_mul(numel, dtype_size(t.dtype), &expect_bytes) && expect_bytes == t.nbytes, where(),
                ": shape ", shape_str(t.shape), " of ", dtype_name(t.dtype), " does not match its byte length ",
                t.nbytes);
    EMBER_CHECK(t.offset == cursor, where(), ": starts at byte ", t.offset, ", expected ", cursor,
                " (tensors follow each other in table order, each on a 64-byte boundary)");
    EMBER_CHECK(t.offset <= file_size_ && t.nbytes <= file_size_ - t.offset, where(), ": claims ", t.nbytes, " bytes at offset ", t.offset,
                ", but the file has only ", file_size_, " bytes");
    EMBER_CHECK(align_up(t.offset + t.nbytes, &cursor), where(), ": offset overflows");
    tensors_.push_back(std::move(t));
  }
  uint64_t data_end = tensors_.empty() ? data_offset : tensors_.back().offset + tensors_.back().nbytes;
  EMBER_CHECK(data_end == file_size_, path_, ": the tensors end at byte ", data_end, " but the file has ", file_size_,
              " bytes");

  TreeParser parser{in, tensors_, 0, 0, {}};
  skeleton_ = parser.parse(0);
  EMBER_CHECK(in.pos == in.size, path_, ": ", in.size - in.pos, " unexpected bytes after the tree in the header");
  EMBER_CHECK(parser.next_tensor == tensors_.size(), path_, ": the tensor table has ", tensors_.size(),
              " entries but the tree references ", parser.next_tensor);
}

uint64_t NativeReader::end_of(size_t i) const {
  return i + 1 < tensors_.size() ? tensors_[i + 1].offset : file_size_;
}

void NativeReader::check_padding(size_t i) {
  const TensorInfo& t = tensors_[i];
  uint64_t begin = t.offset + t.nbytes, end = end_of(i);
  if (end <= begin) return;
  uint8_t pad[kAlignment];
  pread_exact(fd_, pad, size_t(end - begin), begin, path_);
  for (uint64_t k = 0; k < end - begin; ++k)
    EMBER_CHECK(pad[k] == 0, path_, ": nonzero padding byte at ", begin + k, " after tensor \"", t.name, "\"");
}

void NativeReader::prefetch(size_t i) {
  // Asks the kernel to start reading tensor i while the caller copies and checksums the one before
  // it; matters when the file is not (or no longer) in the page cache.
  if (i < tensors_.size() && tensors_[i].nbytes > 0)
    (void)::posix_fadvise(fd_, off_t(tensors_[i].offset), off_t(tensors_[i].nbytes), POSIX_FADV_WILLNEED);
}

Tensor NativeReader::read_tensor(size_t i) { return std::move(read_tensors({i})[0]); }

std::vector<Tensor> NativeReader::read_tensors(const std::vector<size_t>& which) {
  // The tensors' bytes in chunks, each read and checksummed by whichever thread is free; the
  // chunks' checksums then combine into each tensor's.
  struct Chunk {
    size_t slot;  // into `which`
    uint64_t begin, len;
    uint32_t crc = 0;
    std::string error;
  };
  std::vector<Tensor> out;
  std::vector<Chunk> chunks;
  out.reserve(which.size());
  uint64_t total = 0;
  for (size_t slot = 0; slot < which.size(); ++slot) {
    size_t i = which[slot];
    EMBER_CHECK(i < tensors_.size(), path_, ": tensor index ", i, " out of range (", tensors_.size(), " tensors)");
    const TensorInfo& info = tensors_[i];
    out.push_back(empty(info.shape, info.dtype, kCPU));
    for (uint64_t b = 0; b < info.nbytes; b += kChunk) chunks.push_back({slot, b, std::min<uint64_t>(kChunk, info.nbytes - b), 0, {}});
    total += info.nbytes;
  }
  if (!which.empty() && total < kParallelBytes) prefetch(which.back() + 1);
  int threads = total >= kParallelBytes ? std::min(omp_get_max_threads(), kMaxReadThreads) : 1;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(dynamic, 1)
  for (int64_t c = 0; c < int64_t(chunks.size()); ++c) {
    Chunk& chunk = chunks[size_t(c)];
    try {
      uint8_t* dst = static_cast<uint8_t*>(out[chunk.slot].raw_data()) + chunk.begin;
      populate(dst, size_t(chunk.len));
      pread_exact(fd_, dst, size_t(chunk.len), tensors_[which[chunk.slot]].offset + chunk.begin, path_);
      chunk.crc = crc32(0, dst, size_t(chunk.len));
    } catch (const std::exception& e) {  // exceptions may not leave an OpenMP loop
      chunk.error = e.what();
    }
  }
  std::vector<uint32_t> crcs(which.size(), 0);
  for (const Chunk& chunk : chunks) {
    if (!chunk.error.empty()) throw Error(chunk.error);
    crcs[chunk.slot] = crc32_combine(crcs[chunk.slot], chunk.crc, chunk.len);
  }
  for (size_t slot = 0; slot < which.size(); ++slot) {
    const TensorInfo& info = tensors_[which[slot]];
    EMBER_CHECK(crcs[slot] == info.crc32, path_, ": checksum mismatch for tensor \"", info.name, "\" (stored ",
                hex32(info.crc32), ", computed ", hex32(crcs[slot]), "): the file is corrupt");
    const auto* bytes = static_cast<const uint8_t*>(out[slot].raw_data());
    if (info.dtype == kBool)
      for (uint64_t k = 0; k < info.nbytes; ++k)
        EMBER_CHECK(bytes[k] <= 1, path_, ": tensor \"", info.name, "\" holds the byte ", int(bytes[k]),
                    " at element ", k, ", not a bool (0 or 1)");
    check_padding(which[slot]);
  }
  return out;
}

std::string NativeReader::check_tensor(size_t i) {
  try {
    EMBER_CHECK(i < tensors_.size(), path_, ": tensor index ", i, " out of range (", tensors_.size(), " tensors)");
    const TensorInfo& info = tensors_[i];
    prefetch(i + 1);
    std::vector<uint8_t> buf(size_t(std::min<uint64_t>(kChunk, info.nbytes)));
    uint32_t crc = 0;
    bool bool_ok = true;
    for (uint64_t done = 0; done < info.nbytes;) {
      size_t n = size_t(std::min<uint64_t>(kChunk, info.nbytes - done));
      pread_exact(fd_, buf.data(), n, info.offset + done, path_);
      crc = crc32(crc, buf.data(), n);
      if (info.dtype == kBool)
        for (size_t k = 0; k < n; ++k) bool_ok = bool_ok && buf[k] <= 1;
      done += n;
    }
    if (crc != info.crc32)
      return ember::detail::concat("checksum mismatch (stored ", hex32(info.crc32), ", computed ", hex32(crc), ")");
    if (!bool_ok) return "bool tensor holds bytes other than 0 and 1";
    check_padding(i);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

}  // namespace ember::io
