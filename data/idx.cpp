#include "ember/data/idx.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace ember::data {
namespace {

// What the header says, once validated.
struct IdxHeader {
  Shape shape;
  size_t header_bytes = 0;  // magic + sizes
  uint64_t data_bytes = 0;  // prod(shape) (uint8 elements)
};

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

int expected_rank(IdxKind kind) { return kind == IdxKind::Labels ? 1 : 3; }

// Validates the header held in head[0, head_len). `note` follows every byte offset (it says the
// offsets count decompressed bytes for a gzip file).
IdxHeader parse_header(const uint8_t* head, size_t head_len, const std::string& name, IdxKind kind,
                       const char* note) {
  const uint32_t want = uint32_t(kind);
  const int rank = expected_rank(kind);
  IdxHeader h;
  h.header_bytes = 4 + 4 * size_t(rank);
  if (head_len >= 4) {
    uint32_t magic = read_be32(head);
    EMBER_CHECK(magic == want, name, ": bad IDX magic ", hex32(magic), " at byte 0", note, ", expected ", hex32(want),
                " (", idx_kind_name(kind), ")");
  }
  EMBER_CHECK(head_len >= h.header_bytes, name, ": truncated at byte ", head_len, note, ": the IDX header of ",
              idx_kind_name(kind), " needs ", h.header_bytes, " bytes, found ", head_len);
  uint64_t total = 1;
  bool overflow = false;
  for (int d = 0; d < rank; ++d) {
    uint32_t n = read_be32(head + 4 + 4 * d);
    h.shape.push_back(int64_t(n));
    overflow = overflow || __builtin_mul_overflow(total, uint64_t(n), &total);
  }
  EMBER_CHECK(!overflow && total <= kMaxIdxDataBytes, name, ": the IDX sizes ", shape_str(h.shape), " at byte 4",
              note, " ask for more than ", kMaxIdxDataBytes, " bytes of data, the limit");
  h.data_bytes = total;
  return h;
}

// `found` data bytes follow the header: the exact count the header promises, or an error.
void check_data_length(const IdxHeader& h, uint64_t found, const std::string& name, const char* note) {
  EMBER_CHECK(found >= h.data_bytes, name, ": truncated at byte ", h.header_bytes + found, note, ": header promises ",
              h.data_bytes, " bytes of data, found ", found);
  EMBER_CHECK(found == h.data_bytes, name, ": ", found - h.data_bytes, " trailing bytes at byte ",
              h.header_bytes + h.data_bytes, note, ": header promises ", h.data_bytes, " bytes of data, found ",
              found);
}

std::string errno_text(int err) { return std::strerror(err); }

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

Tensor read_raw(std::FILE* f, uint64_t file_size, const std::string& path, IdxKind kind) {
  uint8_t head[16];
  size_t want = 4 + 4 * size_t(expected_rank(kind));
  size_t got = std::fread(head, 1, want, f);
  EMBER_CHECK(got == want || !std::ferror(f), "cannot read ", path, ": ", errno_text(errno));
  IdxHeader h = parse_header(head, got, path, kind, "");
  check_data_length(h, file_size - h.header_bytes, path, "");  // before allocating
  Tensor out = empty(h.shape, kUInt8);
  if (h.data_bytes == 0) return out;
  size_t n = std::fread(out.raw_data(), 1, h.data_bytes, f);
  // The size was checked above; a short read now means an I/O error or a file changing under us.
  EMBER_CHECK(n == h.data_bytes, path, ": read failed at byte ", h.header_bytes + n, ": ",
              std::ferror(f) ? errno_text(errno) : std::string("file shrank while reading"));
  return out;
}

// A gzip file decompressed with zlib's inflate, so that an error can name the exact decompressed
// offset (gzread decompresses ahead into its own buffer and loses it). Concatenated gzip members
// are read as one stream, as gzip -d does; anything else after the last member is an error.
class GzReader {
 public:
  GzReader(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {
    EMBER_CHECK(inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK, path_, ": cannot start zlib: ", z_.msg ? z_.msg : "");
  }
  ~GzReader() { inflateEnd(&z_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Up to n decompressed bytes into dst; fewer only at the end of the data.
  size_t read(uint8_t* dst, size_t n) {
    z_.next_out = dst;
    z_.avail_out = 0;
    size_t produced = 0;
    while (produced < n) {
      if (z_.avail_in == 0 && !refill()) {
        EMBER_CHECK(ended_, path_, ": truncated at byte ", out_before_ + z_.total_out,
                    " of the decompressed data: the gzip stream stops before its end (file cut short at byte ",
                    file_bytes_, ")");
        break;
      }
      if (ended_) {  // more input after a member: another member, or garbage
        EMBER_CHECK(z_.avail_in >= 2 ? (z_.next_in[0] == 0x1f && z_.next_in[1] == 0x8b) : z_.next_in[0] == 0x1f,
                    path_, ": unexpected data after the gzip stream at file byte ", file_bytes_ - z_.avail_in);
        out_before_ += z_.total_out;
        inflateReset(&z_);
        ended_ = false;
      }
      const uInt chunk = uInt(std::min<size_t>(n - produced, 1u << 30));
      z_.next_out = dst + produced;
      z_.avail_out = chunk;
      int ret = inflate(&z_, Z_NO_FLUSH);
      produced += chunk - z_.avail_out;
      if (ret == Z_STREAM_END) {
        ended_ = true;
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        EMBER_FAIL(path_, ": corrupt gzip data at byte ", out_before_ + z_.total_out,
                   " of the decompressed data (file byte ", file_bytes_ - z_.avail_in, "): ",
                   z_.msg ? z_.msg : zError(ret));
      }
    }
    return produced;
  }

 private:
  bool refill() {
    size_t got = std::fread(in_.data(), 1, in_.size(), f_);
    EMBER_CHECK(got > 0 || !std::ferror(f_), "cannot read ", path_, ": ", errno_text(errno));
    file_bytes_ += got;
    z_.next_in = in_.data();
    z_.avail_in = uInt(got);
    return got > 0;
  }

  std::FILE* f_;
  std::string path_;
  z_stream z_{};
  std::vector<uint8_t> in_ = std::vector<uint8_t>(1 << 17);
  uint64_t file_bytes_ = 0;  // compressed bytes read from the file so far
  uint64_t out_before_ = 0;  // decompressed bytes of earlier members
  bool ended_ = false;       // the current member is complete
};

// Deflate cannot compress better than about 1032:1, so a header promising more than this many
// bytes per compressed byte (plus the gzip framing) promises data the file cannot hold.
constexpr uint64_t kMaxDeflateRatio = 1032;

Tensor read_gz(std::FILE* f, uint64_t file_size, const std::string& path, IdxKind kind) {
  const char* note = " of the decompressed data";
  GzReader gz(f, path);
  uint8_t head[16];
  size_t got = gz.read(head, 4 + 4 * size_t(expected_rank(kind)));
  IdxHeader h = parse_header(head, got, path, kind, note);
  EMBER_CHECK(h.data_bytes / kMaxDeflateRatio <= file_size, path, ": the IDX sizes ", shape_str(h.shape),
              " promise ", h.data_bytes, " bytes of data, more than a ", file_size,
              "-byte gzip file can hold (deflate expands at most ", kMaxDeflateRatio, " times)");

  // The decompressed length is unknown until the stream ends, so the buffer grows with the data
  // actually present rather than trusting the header's promise up front.
  std::vector<uint8_t> data;
  uint64_t have = 0;
  while (have < h.data_bytes) {
    data.resize(size_t(std::min<uint64_t>(h.data_bytes, std::max<uint64_t>(2 * have, 1 << 20))));
    size_t n = gz.read(data.data() + have, data.size() - have);
    have += n;
    if (have < data.size()) break;  // the end of the data
  }
  uint64_t extra = 0;
  if (have == h.data_bytes) {
    // One byte past the promised data is enough to refuse the file: decompressing the rest (which
    // may be gigabytes) would only count it. Reading to the end checks the gzip CRC and length.
    uint8_t probe;
    extra = gz.read(&probe, 1);
  }
  EMBER_CHECK(extra == 0, path, ": trailing bytes at byte ", h.header_bytes + h.data_bytes, note, ": header promises ",
              h.data_bytes, " bytes of data, and more follow");
  check_data_length(h, have, path, note);
  if (h.data_bytes == 0) return empty(h.shape, kUInt8);
  return from_blob(data.data(), h.shape, kUInt8);
}

}  // namespace

const char* idx_kind_name(IdxKind kind) { return kind == IdxKind::Labels ? "labels" : "images"; }

Tensor parse_idx(const uint8_t* bytes, size_t size, const std::string& name, IdxKind kind) {
  IdxHeader h = parse_header(bytes, std::min(size, size_t(16)), name, kind, "");
  check_data_length(h, size - h.header_bytes, name, "");
  if (h.data_bytes == 0) return empty(h.shape, kUInt8);
  return from_blob(bytes + h.header_bytes, h.shape, kUInt8);
}

Tensor read_idx(const std::string& path, IdxKind kind) {
  // O_NONBLOCK so that a FIFO is refused at once instead of waiting for a writer.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  EMBER_CHECK(fd >= 0, "cannot open ", path, ": ", errno_text(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = errno;
    bool is_dir = S_ISDIR(st.st_mode);
    ::close(fd);
    EMBER_FAIL("cannot open ", path, ": ", st.st_mode == 0 ? errno_text(err) : is_dir ? errno_text(EISDIR) :
               std::string("not a regular file"));
  }
  (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::unique_ptr<std::FILE, FileCloser> f(::fdopen(fd, "rb"));
  if (!f) ::close(fd);
  EMBER_CHECK(f, "cannot open ", path, ": ", errno_text(errno));
  uint8_t magic[2] = {0, 0};
  size_t n = std::fread(magic, 1, 2, f.get());
  std::rewind(f.get());
  if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return read_gz(f.get(), uint64_t(st.st_size), path, kind);
  return read_raw(f.get(), uint64_t(st.st_size), path, kind);
}

std::string find_raw_or_gz(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) return path;
  if (std::filesystem::exists(path + ".gz", ec)) return path + ".gz";
  return "";
}

}  // namespace ember::data
