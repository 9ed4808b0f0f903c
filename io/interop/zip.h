#pragma once
// The zip container of PyTorch's .pth files (torch.save since PyTorch 1.6): a small reader that
// validates every offset and size before it trusts one, and a writer of stored (uncompressed)
// entries whose data starts on a 64-byte boundary, as torch's own writer lays them out.
// Reading supports stored and deflated entries and zip64; not encryption or multi-disk archives.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace ember::io {

class AtomicFile;

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc32 = 0;   // as recorded in the central directory
  uint64_t compressed_size = 0;
  uint64_t size = 0;         // uncompressed
  uint64_t header_offset = 0;  // of the local header
  uint64_t data_offset = 0;    // of the (compressed) bytes
};

class ZipReader {
 public:
  // Parses and validates the central directory and every local header of the archive open on `fd`
  // (borrowed, not closed); `path` names the file in errors.
  ZipReader(int fd, uint64_t file_size, std::string path);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;

  // The whole entry, inflated if deflated, its CRC32 verified; refuses one larger than `limit`.
  std::vector<uint8_t> read(const ZipEntry& e, uint64_t limit) const;
  // Bytes [offset, offset + n) of a stored entry, unverified (the caller checks the CRC).
  void read_stored(const ZipEntry& e, uint64_t offset, void* dst, size_t n) const;
  // CRC32 of the entry's uncompressed bytes, computed by reading it in chunks.
  uint32_t compute_crc(const ZipEntry& e) const;

 private:
  // Inflates a deflated entry, handing each run of output to `sink` (at most 4 MiB at a time):
  // nothing is allocated from the recorded size, a stream that would run past it, end short of it,
  // or leave compressed bytes unread after its end is refused.
  template <class Sink>
  void inflate_entry(const ZipEntry& e, Sink&& sink) const;
  void parse_central_directory(const std::vector<uint8_t>& cd, uint64_t count);
  void resolve_local_header(ZipEntry& e, uint64_t data_end) const;

  int fd_;
  uint64_t file_size_;
  std::string path_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
};

class ZipWriter {
 public:
  // Writes into `out` from offset 0. force_zip64 writes zip64 records even for small archives
  // (a test seam: they are otherwise written only past 4 GiB or 65535 entries).
  explicit ZipWriter(AtomicFile& out, bool force_zip64 = false);
  // Appends a stored entry whose data begins on a 64-byte boundary.
  void add(const std::string& name, const void* data, uint64_t n);
  // Writes the central directory and the end records; the caller then commits the file.
  void finish();

 private:
  struct Written {
    std::string name;
    uint32_t crc32;
    uint64_t size;
    uint64_t header_offset;
  };
  void write(const void* data, size_t n);

  AtomicFile& out_;
  bool force_zip64_;
  uint64_t pos_ = 0;
  std::vector<Written> written_;
};

}  // namespace ember::io
