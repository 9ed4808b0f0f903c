#include "ember/io/interop/zip.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "ember/core/error.h"
#include "ember/io/atomic_file.h"
#include "ember/io/crc32.h"
#include "ember/io/text.h"

namespace ember::io {

namespace {
constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;
constexpr uint64_t kEndSize = 22, kCentralSize = 46, kLocalSize = 30, kLocatorSize = 20, kEnd64Size = 56;
constexpr uint64_t kMax16 = 0xFFFF, kMax32 = 0xFFFFFFFF;
constexpr uint64_t kAlign = 64;     // torch aligns each record's data for zero-copy loading
constexpr uint64_t kMaxDeflateRatio = 1032;  // deflate cannot compress better than this
constexpr size_t kChunk = size_t(4) << 20;

uint16_t get16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t get32(const uint8_t* p) { return uint32_t(get16(p)) | uint32_t(get16(p + 2)) << 16; }
uint64_t get64(const uint8_t* p) { return uint64_t(get32(p)) | uint64_t(get32(p + 4)) << 32; }

void put16(std::vector<uint8_t>& b, uint64_t v) {
  b.push_back(uint8_t(v));
  b.push_back(uint8_t(v >> 8));
}
void put32(std::vector<uint8_t>& b, uint64_t v) {
  put16(b, v & 0xFFFF);
  put16(b, (v >> 16) & 0xFFFF);
}
void put64(std::vector<uint8_t>& b, uint64_t v) {
  put32(b, v & kMax32);
  put32(b, v >> 32);
}

bool add_ok(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }

}  // namespace

// ---- reading ----

ZipReader::ZipReader(int fd, uint64_t file_size, std::string path)
    : fd_(fd), file_size_(file_size), path_(std::move(path)) {
  EMBER_CHECK(file_size_ >= kEndSize, path_, ": not a valid zip archive: ", file_size_,
              " bytes is too short for its end-of-central-directory record");
  // The end record comes last, followed only by its comment (at most 65535 bytes).
  uint64_t tail_size = std::min<uint64_t>(file_size_, kEndSize + kMax16);
  std::vector<uint8_t> tail(tail_size);
  pread_exact(fd_, tail.data(), tail.size(), file_size_ - tail_size, path_);
  int64_t found = -1;
  for (int64_t i = int64_t(tail_size - kEndSize); i >= 0; --i) {
    const uint8_t* p = &tail[size_t(i)];
    if (get32(p) == kEndSig && uint64_t(i) + kEndSize + get16(p + 20) == tail_size) {
      found = i;
      break;
    }
  }
  EMBER_CHECK(found >= 0, path_,
              ": not a valid zip archive: no end-of-central-directory record (the file is truncated or not a zip)");
  uint64_t end_at = file_size_ - tail_size + uint64_t(found);
  const uint8_t* p = &tail[size_t(found)];
  uint64_t disk = get16(p + 4), cd_disk = get16(p + 6), count_here = get16(p + 8), count = get16(p + 10);
  uint64_t cd_size = get32(p + 12), cd_offset = get32(p + 16);
  uint64_t records_at = end_at;  // where the central directory must end by
  if (count_here == kMax16 || count == kMax16 || cd_size == kMax32 || cd_offset == kMax32) {
    // zip64: a locator just before the end record points at the zip64 end record.
    EMBER_CHECK(end_at >= kLocatorSize, path_, ": zip64 end-of-central-directory locator missing");
    uint8_t loc[kLocatorSize];
    pread_exact(fd_, loc, sizeof loc, end_at - kLocatorSize, path_);
    EMBER_CHECK(get32(loc) == kLocator64Sig, path_, ": zip64 end-of-central-directory locator missing at byte ",
                end_at - kLocatorSize);
    uint64_t end64_at = get64(loc + 8);
    EMBER_CHECK(get32(loc + 4) == 0 && get32(loc + 16) <= 1, path_, ": multi-disk zip archives are not supported");
    EMBER_CHECK(end64_at <= end_at - kLocatorSize && end_at - kLocatorSize - end64_at >= kEnd64Size, path_,
                ": zip64 end-of-central-directory record offset ", end64_at, " is out of range");
    uint8_t z[kEnd64Size];
    pread_exact(fd_, z, sizeof z, end64_at, path_);
    EMBER_CHECK(get32(z) == kEnd64Sig, path_, ": no zip64 end-of-central-directory record at byte ", end64_at);
    uint64_t z_disk = get32(z + 16), z_cd_disk = get32(z + 20), z_count_here = get64(z + 24), z_count = get64(z + 32);
    uint64_t z_cd_size = get64(z + 40), z_cd_offset = get64(z + 48);
    // Where the classic record holds a real value (not its 0xFF.. marker), the zip64 one must agree.
    auto agree = [&](uint64_t classic, uint64_t marker, uint64_t wide, const char* what) {
      EMBER_CHECK(classic == marker || classic == wide, path_, ": the zip64 end record's ", what, " (", wide,
                  ") disagrees with the classic end record's (", classic, ")");
    };
    agree(disk, kMax16, z_disk, "disk number");
    agree(cd_disk, kMax16, z_cd_disk, "central directory disk");
    agree(count_here, kMax16, z_count_here, "entry count on this disk");
    agree(count, kMax16, z_count, "entry count");
    agree(cd_size, kMax32, z_cd_size, "central directory size");
    agree(cd_offset, kMax32, z_cd_offset, "central directory offset");
    disk = z_disk;
    cd_disk = z_cd_disk;
    count_here = z_count_here;
    count = z_count;
    cd_size = z_cd_size;
    cd_offset = z_cd_offset;
    records_at = end64_at;
  }
  EMBER_CHECK(disk == 0 && cd_disk == 0 && count_here == count, path_,
              ": multi-disk (split) zip archives are not supported");
  uint64_t cd_end;
  EMBER_CHECK(add_ok(cd_offset, cd_size, &cd_end) && cd_end <= records_at, path_, ": the central directory (",
              cd_size, " bytes at byte ", cd_offset, ") runs past the end records at byte ", records_at);
  EMBER_CHECK(count <= cd_size / kCentralSize, path_, ": the central directory claims ", count, " entries but its ",
              cd_size, " bytes hold at most ", cd_size / kCentralSize);
  std::vector<uint8_t> cd(cd_size);
  pread_exact(fd_, cd.data(), cd.size(), cd_offset, path_);
  parse_central_directory(cd, count);

  for (ZipEntry& e : entries_) resolve_local_header(e, cd_offset);
  // Entries must not overlap: overlapping entries are how zip bombs multiply their size.
  std::vector<const ZipEntry*> order;
  for (const ZipEntry& e : entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(),
            [](const ZipEntry* a, const ZipEntry* b) { return a->header_offset < b->header_offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const ZipEntry& a = *order[i - 1];
    EMBER_CHECK(a.data_offset + a.compressed_size <= order[i]->header_offset, path_, ": zip entries \"", printable(a.name, 200),
                "\" and \"", printable(order[i]->name, 200), "\" overlap");
  }
}

void ZipReader::parse_central_directory(const std::vector<uint8_t>& cd, uint64_t count) {
  size_t pos = 0;
  entries_.reserve(size_t(count));
  for (uint64_t i = 0; i < count; ++i) {
    EMBER_CHECK(cd.size() - pos >= kCentralSize, path_, ": central directory entry ", i, " is truncated");
    const uint8_t* p = cd.data() + pos;
    EMBER_CHECK(get32(p) == kCentralSig, path_, ": central directory entry ", i, " has a bad signature");
    uint16_t flags = get16(p + 8);
    ZipEntry e;
    e.method = get16(p + 10);
    e.crc32 = get32(p + 16);
    e.compressed_size = get32(p + 20);
    e.size = get32(p + 24);
    size_t name_len = get16(p + 28), extra_len = get16(p + 30), comment_len = get16(p + 32);
    uint64_t disk = get16(p + 34);
    e.header_offset = get32(p + 42);
    EMBER_CHECK(cd.size() - pos - kCentralSize >= name_len + extra_len + comment_len, path_,
                ": central directory entry ", i, " is truncated");
    e.name.assign(reinterpret_cast<const char*>(p + kCentralSize), name_len);
    // The zip64 extra field holds, in this order, whichever of these the fixed fields mark 0xFF...
    const uint8_t* x = p + kCentralSize + name_len;
    const uint8_t* x_end = x + extra_len;
    while (x_end - x >= 4) {
      uint16_t id = get16(x), size = get16(x + 2);
      EMBER_CHECK(size_t(x_end - x - 4) >= size, path_, ": zip entry \"", printable(e.name, 200), "\": malformed extra field");
      if (id == 1) {
        const uint8_t* f = x + 4;
        const uint8_t* f_end = f + size;
        auto take = [&](uint64_t& field, size_t width) {
          EMBER_CHECK(size_t(f_end - f) >= width, path_, ": zip entry \"", printable(e.name, 200), "\": zip64 extra field too short");
          field = width == 8 ? get64(f) : get32(f);
          f += width;
        };
        if (e.size == kMax32) take(e.size, 8);
        if (e.compressed_size == kMax32) take(e.compressed_size, 8);
        if (e.header_offset == kMax32) take(e.header_offset, 8);
        if (disk == kMax16) take(disk, 4);
      }
      x += 4 + size;
    }
    EMBER_CHECK(x == x_end, path_, ": zip entry \"", printable(e.name, 200), "\": malformed extra field");
    EMBER_CHECK(!(flags & 0x41), path_, ": zip entry \"", printable(e.name, 200), "\" is encrypted, which is not supported");
    EMBER_CHECK(disk == 0, path_, ": multi-disk zip archives are not supported");
    EMBER_CHECK(e.method == 0 || e.method == 8, path_, ": zip entry \"", printable(e.name, 200), "\" uses compression method ",
                e.method, "; only stored (0) and deflated (8) entries are supported");
    EMBER_CHECK(e.method != 0 || e.size == e.compressed_size, path_, ": stored zip entry \"", printable(e.name, 200), "\" has size ",
                e.size, " but compressed size ", e.compressed_size);
    EMBER_CHECK(e.method != 8 || e.size / kMaxDeflateRatio <= e.compressed_size, path_, ": zip entry \"", printable(e.name, 200),
                "\" claims ", e.size, " bytes from ", e.compressed_size, " compressed bytes, beyond what deflate can do");
    EMBER_CHECK(by_name_.emplace(e.name, entries_.size()).second, path_, ": zip entry \"", printable(e.name, 200), "\" appears twice");
    entries_.push_back(std::move(e));
    pos += kCentralSize + name_len + extra_len + comment_len;
  }
}

void ZipReader::resolve_local_header(ZipEntry& e, uint64_t data_end) const {
  uint64_t end;
  EMBER_CHECK(add_ok(e.header_offset, kLocalSize, &end) && end <= data_end, path_, ": zip entry \"", printable(e.name, 200),
              "\": local header offset ", e.header_offset, " is out of range");
  std::vector<uint8_t> h(kLocalSize + e.name.size());
  EMBER_CHECK(e.header_offset + h.size() <= data_end, path_, ": zip entry \"", printable(e.name, 200), "\": local header is truncated");
  pread_exact(fd_, h.data(), h.size(), e.header_offset, path_);
  EMBER_CHECK(get32(h.data()) == kLocalSig, path_, ": zip entry \"", printable(e.name, 200), "\": no local header at byte ",
              e.header_offset);
  size_t name_len = get16(h.data() + 26), extra_len = get16(h.data() + 28);
  // The local header repeats the method, CRC and sizes (unless a data descriptor follows the data,
  // flag bit 3); a local header that disagrees with the central directory is a damaged archive.
  uint16_t local_flags = get16(h.data() + 6), local_method = get16(h.data() + 8);
  uint64_t local_crc = get32(h.data() + 14), local_csize = get32(h.data() + 18), local_size = get32(h.data() + 22);
  EMBER_CHECK(local_method == e.method, path_, ": zip entry \"", printable(e.name, 200), "\": its local header says method ",
              local_method, ", the central directory ", e.method);
  if (!(local_flags & 8)) {
    bool sizes_ok = (local_csize == kMax32 || local_csize == e.compressed_size) && (local_size == kMax32 || local_size == e.size);
    EMBER_CHECK(local_crc == e.crc32 && sizes_ok, path_, ": zip entry \"", printable(e.name, 200),
                "\": its local header's CRC32 or sizes disagree with the central directory");
  }
  EMBER_CHECK(name_len == e.name.size() && std::memcmp(h.data() + kLocalSize, e.name.data(), name_len) == 0, path_,
              ": zip entry \"", printable(e.name, 200), "\": its local header names a different file");
  e.data_offset = e.header_offset + kLocalSize + name_len + extra_len;
  EMBER_CHECK(add_ok(e.data_offset, e.compressed_size, &end) && end <= data_end, path_, ": zip entry \"", printable(e.name, 200),
              "\": its ", e.compressed_size, " bytes at byte ", e.data_offset, " run past the central directory");
}

const ZipEntry* ZipReader::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

template <class Sink>
void ZipReader::inflate_entry(const ZipEntry& e, Sink&& sink) const {
  z_stream zs{};
  EMBER_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, "zlib: inflateInit2 failed");
  std::vector<uint8_t> in(size_t(std::min<uint64_t>(e.compressed_size, kChunk)));
  std::vector<uint8_t> out(size_t(std::min<uint64_t>(e.size, kChunk)) + 1);  // +1: room to see an overrun
  uint64_t read_so_far = 0, written = 0;
  auto name = [&] { return printable(e.name, 200); };
  try {
    for (;;) {
      if (zs.avail_in == 0 && read_so_far < e.compressed_size) {
        size_t k = size_t(std::min<uint64_t>(in.size(), e.compressed_size - read_so_far));
        pread_exact(fd_, in.data(), k, e.data_offset + read_so_far, path_);
        read_so_far += k;
        zs.next_in = in.data();
        zs.avail_in = uInt(k);
      }
      zs.next_out = out.data();
      zs.avail_out = uInt(out.size());
      int rc = inflate(&zs, Z_NO_FLUSH);
      uint64_t got = out.size() - zs.avail_out;
      EMBER_CHECK(got <= e.size - written, path_, ": zip entry \"", name(), "\" inflates to more than its recorded ",
                  e.size, " bytes");
      if (got) sink(out.data(), size_t(got));
      written += got;
      if (rc == Z_STREAM_END) break;
      // Z_BUF_ERROR: no progress without more input (there is always room for output).
      EMBER_CHECK(rc == Z_OK || rc == Z_BUF_ERROR, path_, ": zip entry \"", name(), "\": invalid deflate data",
                  zs.msg ? std::string(" (") + zs.msg + ")" : "");
      EMBER_CHECK(zs.avail_in > 0 || read_so_far < e.compressed_size, path_, ": zip entry \"", name(),
                  "\": the deflate stream ends early (damaged file)");
    }
  } catch (...) {
    inflateEnd(&zs);
    throw;
  }
  uint64_t unused = zs.avail_in + (e.compressed_size - read_so_far);
  inflateEnd(&zs);
  EMBER_CHECK(unused == 0, path_, ": zip entry \"", name(), "\": ", unused,
              " bytes follow the end of its deflate stream within its recorded compressed size (damaged file)");
  EMBER_CHECK(written == e.size, path_, ": zip entry \"", name(), "\" inflates to ", written, " bytes, not its recorded ",
              e.size);
}

std::vector<uint8_t> ZipReader::read(const ZipEntry& e, uint64_t limit) const {
  EMBER_CHECK(e.size <= limit, path_, ": zip entry \"", printable(e.name, 200), "\" holds ", e.size,
              " bytes, more than the limit of ", limit);
  std::vector<uint8_t> out;
  if (e.method == 0) {
    out.resize(size_t(e.size));
    pread_exact(fd_, out.data(), out.size(), e.data_offset, path_);
  } else {
    // Grows with what the stream gives, never from the recorded size alone.
    inflate_entry(e, [&](const uint8_t* p, size_t n) { out.insert(out.end(), p, p + n); });
  }
  uint32_t crc = crc32(0, out.data(), out.size());
  EMBER_CHECK(crc == e.crc32, path_, ": zip entry \"", printable(e.name, 200), "\" is damaged: its CRC32 is ", hex32(crc),
              ", the archive records ", hex32(e.crc32));
  return out;
}

void ZipReader::read_stored(const ZipEntry& e, uint64_t offset, void* dst, size_t n) const {
  EMBER_CHECK(e.method == 0 && offset <= e.size && n <= e.size - offset, path_, ": zip entry \"", printable(e.name, 200),
              "\": read of ", n, " bytes at ", offset, " is out of range");
  pread_exact(fd_, dst, n, e.data_offset + offset, path_);
}

uint32_t ZipReader::compute_crc(const ZipEntry& e) const {
  uint32_t crc = 0;
  if (e.method != 0) {
    inflate_entry(e, [&](const uint8_t* p, size_t n) { crc = crc32(crc, p, n); });
    return crc;
  }
  std::vector<uint8_t> buf(size_t(std::min<uint64_t>(e.size, kChunk)));
  for (uint64_t done = 0; done < e.size;) {
    size_t k = size_t(std::min<uint64_t>(buf.size(), e.size - done));
    pread_exact(fd_, buf.data(), k, e.data_offset + done, path_);
    crc = crc32(crc, buf.data(), size_t(k));
    done += k;
  }
  return crc;
}

// ---- writing ----

ZipWriter::ZipWriter(AtomicFile& out, bool force_zip64) : out_(out), force_zip64_(force_zip64) {}

void ZipWriter::write(const void* data, size_t n) {
  if (n) out_.pwrite_all(data, n, pos_);
  pos_ += n;
}

void ZipWriter::add(const std::string& name, const void* data, uint64_t n) {
  EMBER_CHECK(!name.empty() && name.size() <= 0xFFFF, "zip: invalid entry name of ", name.size(), " bytes");
  uint32_t crc = crc32(0, data, size_t(n));
  bool zip64 = force_zip64_ || n >= kMax32;
  bool utf8 = std::any_of(name.begin(), name.end(), [](char c) { return uint8_t(c) >= 0x80; });
  std::vector<uint8_t> h;
  put32(h, kLocalSig);
  put16(h, zip64 ? 45 : 20);         // version needed to extract
  put16(h, utf8 ? 0x0800 : 0);       // flags: the name is UTF-8
  put16(h, 0);                       // stored
  put16(h, 0);                       // time 00:00
  put16(h, 0x21);                    // date 1980-01-01: fixed, so equal inputs give equal files
  put32(h, crc);
  put32(h, zip64 ? kMax32 : n);
  put32(h, zip64 ? kMax32 : n);
  put16(h, name.size());
  uint64_t extra = (zip64 ? 20 : 0) + 4;
  uint64_t unpadded = pos_ + kLocalSize + name.size() + extra;
  uint64_t pad = (kAlign - unpadded % kAlign) % kAlign;
  put16(h, extra + pad);
  h.insert(h.end(), name.begin(), name.end());
  if (zip64) {
    put16(h, 1);
    put16(h, 16);
    put64(h, n);
    put64(h, n);
  }
  put16(h, 0x4246);  // "FB": the padding field torch's writer uses
  put16(h, pad);
  h.insert(h.end(), size_t(pad), 'Z');
  uint64_t header_offset = pos_;
  write(h.data(), h.size());
  write(data, size_t(n));
  written_.push_back({name, crc, n, header_offset});
}

void ZipWriter::finish() {
  uint64_t cd_offset = pos_;
  std::vector<uint8_t> cd;
  for (const Written& w : written_) {
    bool big_size = force_zip64_ || w.size >= kMax32;
    bool big_offset = force_zip64_ || w.header_offset >= kMax32;
    bool utf8 = std::any_of(w.name.begin(), w.name.end(), [](char c) { return uint8_t(c) >= 0x80; });
    put32(cd, kCentralSig);
    put16(cd, 0x0300 | 45);  // made by: unix, zip 4.5
    put16(cd, big_size || big_offset ? 45 : 20);
    put16(cd, utf8 ? 0x0800 : 0);
    put16(cd, 0);
    put16(cd, 0);
    put16(cd, 0x21);
    put32(cd, w.crc32);
    put32(cd, big_size ? kMax32 : w.size);
    put32(cd, big_size ? kMax32 : w.size);
    put16(cd, w.name.size());
    uint64_t extra = (big_size ? 16 : 0) + (big_offset ? 8 : 0);
    put16(cd, extra ? extra + 4 : 0);
    put16(cd, 0);  // comment
    put16(cd, 0);  // disk
    put16(cd, 0);  // internal attributes
    put32(cd, 0644u << 16);  // external attributes: a plain file, rw-r--r--
    put32(cd, big_offset ? kMax32 : w.header_offset);
    cd.insert(cd.end(), w.name.begin(), w.name.end());
    if (extra) {
      put16(cd, 1);
      put16(cd, extra);
      if (big_size) {
        put64(cd, w.size);
        put64(cd, w.size);
      }
      if (big_offset) put64(cd, w.header_offset);
    }
  }
  write(cd.data(), cd.size());
  uint64_t count = written_.size(), cd_size = cd.size();
  bool zip64 = force_zip64_ || count >= kMax16 || cd_offset >= kMax32 || cd_size >= kMax32;
  std::vector<uint8_t> end;
  if (zip64) {
    uint64_t end64_at = pos_;
    put32(end, kEnd64Sig);
    put64(end, kEnd64Size - 12);  // size of the rest of this record
    put16(end, 0x0300 | 45);
    put16(end, 45);
    put32(end, 0);
    put32(end, 0);
    put64(end, count);
    put64(end, count);
    put64(end, cd_size);
    put64(end, cd_offset);
    put32(end, kLocator64Sig);
    put32(end, 0);
    put64(end, end64_at);
    put32(end, 1);
  }
  put32(end, kEndSig);
  put16(end, 0);
  put16(end, 0);
  put16(end, zip64 ? kMax16 : count);
  put16(end, zip64 ? kMax16 : count);
  put32(end, zip64 ? kMax32 : cd_size);
  put32(end, zip64 ? kMax32 : cd_offset);
  put16(end, 0);
  write(end.data(), end.size());
}

}  // namespace ember::io
