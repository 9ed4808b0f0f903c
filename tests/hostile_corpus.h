#pragma once
// The hostile corpus: files crafted from the format specifications (not damaged at random), one or
// more for each class of attack found against Ember's readers (issue 17): stack exhaustion,
// quadratic time, memory out of proportion to the file, damage that passed, names that collide,
// allocation before validation, and odd paths. write_hostile_corpus() writes them into a folder
// and says, for each, which readers to run over it and whether a correct reader accepts it.
#include <sys/stat.h>
#include <zlib.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/value.h"
#include "ember/io/interop/pickle.h"
#include "ember/io/interop/serialize.h"
#include "io_helpers.h"

namespace ember::test::hostile {

enum class Expect { Refused, Accepted };
// Which readers a case goes to: "load" (ember::load of everything), "verify" (open + every
// tensor's check, as ember-ckpt verify), "idx" (read_idx of images).
struct Case {
  std::string name;
  std::string file;
  std::vector<std::string> readers;
  Expect expect;
};

inline std::string str(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

inline void put(std::string& b, uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) b += char(uint8_t(v >> (8 * k)));
}
inline void put_str(std::string& b, const std::string& s) {
  put(b, s.size(), 4);
  b += s;
}

// ---- native format ----

// A native file whose header holds a table of float32 tensors of one element (named `names`,
// holding 1, 2, 3, ...) and then `tree` (the value tree's bytes), every checksum correct.
inline std::string native_file(const std::string& tree, const std::vector<std::string>& names = {}) {
  std::string header;
  put(header, names.size(), 4);
  size_t offsets_at = header.size();
  std::vector<size_t> offset_fields;
  for (const std::string& name : names) {
    put_str(header, name);
    put(header, 0, 1);  // float32
    put(header, 0, 1);  // cpu
    put(header, 0, 2);
    put(header, 1, 4);  // rank 1
    put(header, 1, 8);  // one element
    offset_fields.push_back(header.size());
    put(header, 0, 8);  // offset, filled in below
    put(header, 4, 8);
    put(header, 0, 4);  // crc, filled in below
  }
  (void)offsets_at;
  header += tree;
  uint64_t data_offset = (48 + header.size() + 63) / 64 * 64;
  std::string data;
  for (size_t i = 0; i < names.size(); ++i) {
    data.resize(64 * i);
    float v = float(i + 1);
    std::string bytes(reinterpret_cast<const char*>(&v), 4);
    data += bytes;
    std::string off, crc;
    put(off, data_offset + 64 * i, 8);
    put(crc, crc32_z(0, reinterpret_cast<const Bytef*>(bytes.data()), 4), 4);
    header.replace(offset_fields[i], 8, off);
    header.replace(offset_fields[i] + 16, 4, crc);
  }
  std::string pre("\x89" "EMB\r\n\x1a\n", 8);
  put(pre, 1, 4);
  put(pre, 0, 4);
  put(pre, header.size(), 8);
  put(pre, data_offset, 8);
  put(pre, data_offset + data.size(), 8);
  put(pre, 0, 4);
  uLong crc = crc32_z(crc32_z(0, reinterpret_cast<const Bytef*>(pre.data()), 44),
                      reinterpret_cast<const Bytef*>(header.data()), header.size());
  put(pre, crc, 4);
  return pre + header + std::string(size_t(data_offset - 48 - header.size()), '\0') + data;
}

// ---- zip and .pth ----

struct ZipItem {
  ZipItem(std::string n, std::string d, bool deflated = false, std::string c = "", uint64_t declared = ~0ull)
      : name(std::move(n)), data(std::move(d)), deflate(deflated), compressed(std::move(c)), declared_size(declared) {}
  std::string name;
  std::string data;        // the uncompressed bytes
  bool deflate;
  std::string compressed;  // replaces the deflate of `data` when set
  uint64_t declared_size;  // replaces data.size() in the headers when set
};

inline std::string raw_deflate(const std::string& data, int flush_every = 0) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = uInt(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  deflate(&zs, flush_every ? Z_FULL_FLUSH : Z_FINISH);
  if (flush_every) deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline std::string build_zip(const std::vector<ZipItem>& items) {
  std::string out, cd;
  for (const ZipItem& it : items) {
    std::string body = it.deflate ? (it.compressed.empty() ? raw_deflate(it.data) : it.compressed) : it.data;
    uint64_t size = it.declared_size != ~0ull ? it.declared_size : it.data.size();
    uint32_t crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(it.data.data()), it.data.size()));
    uint64_t offset = out.size();
    auto fields = [&](std::string& b) {
      put(b, 20, 2);
      put(b, 0, 2);
      put(b, it.deflate ? 8 : 0, 2);
      put(b, 0, 2);
      put(b, 0x21, 2);
      put(b, crc, 4);
      put(b, body.size(), 4);
      put(b, size, 4);
      put(b, it.name.size(), 2);
      put(b, 0, 2);
    };
    put(out, 0x04034b50, 4);
    fields(out);
    out += it.name + body;
    put(cd, 0x02014b50, 4);
    put(cd, 20, 2);
    fields(cd);
    put(cd, 0, 2);  // comment
    put(cd, 0, 2);  // disk
    put(cd, 0, 2);
    put(cd, 0, 4);
    put(cd, offset, 4);
    cd += it.name;
  }
  uint64_t cd_offset = out.size();
  out += cd;
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, items.size(), 2);
  put(out, items.size(), 2);
  put(out, cd.size(), 4);
  put(out, cd_offset, 4);
  put(out, 0, 2);
  return out;
}

// The archive entries of a .pth holding `tree`: each tensor its own record "archive/data/<i>"
// recorded at `location`; `record_bytes` may replace a record's bytes.
inline std::vector<ZipItem> pth_items(const Value& tree, const std::string& location = "cpu") {
  std::vector<ZipItem> items{{"archive/data.pkl", ""}};
  std::vector<Tensor> records;
  items[0].data = io::pickle::pickle_value(tree, [&](const std::string&, const Tensor& t) {
    records.push_back(t);
    return io::pickle::StorageRecord{std::to_string(records.size() - 1), uint64_t(t.numel()), 0, location};
  });
  items.push_back({"archive/byteorder", "little"});
  for (size_t i = 0; i < records.size(); ++i)
    items.push_back({"archive/data/" + std::to_string(i),
                     std::string(static_cast<const char*>(records[i].raw_data()), records[i].nbytes())});
  items.push_back({"archive/version", "3\n"});
  return items;
}

// ---- safetensors ----

inline std::string safetensors(const std::string& header, const std::string& data = "") {
  std::string out;
  put(out, header.size(), 8);
  return out + header + data;
}

// ---- gzip ----

// A gzip file of `head` followed by `zeros_mib` MiB of zero bytes, built from one deflated MiB
// repeated (blocks after a full flush stand alone), so gigabytes of content cost a few MB of file
// and no time to write. The CRC and length trailer are right: the file is valid gzip.
inline std::string gzip_with_zeros(const std::string& head, uint64_t zeros_mib) {
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string mib(1 << 20, '\0');
  std::vector<uint8_t> buf(1 << 22);
  auto run = [&](const std::string& in, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = uInt(in.size());
    zs.next_out = buf.data();
    zs.avail_out = uInt(buf.size());
    deflate(&zs, flush);
    return std::string(reinterpret_cast<char*>(buf.data()), buf.size() - zs.avail_out);
  };
  std::string a = run(head, Z_FULL_FLUSH), b = run(mib, Z_FULL_FLUSH), c = run("", Z_FINISH);
  deflateEnd(&zs);
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10);
  out += a;
  uLong crc = crc32_z(0, reinterpret_cast<const Bytef*>(head.data()), head.size());
  uLong crc_mib = crc32_z(0, reinterpret_cast<const Bytef*>(mib.data()), mib.size());
  for (uint64_t i = 0; i < zeros_mib; ++i) {
    out += b;
    crc = crc32_combine(crc, crc_mib, z_off_t(mib.size()));
  }
  out += c;
  put(out, crc, 4);
  put(out, head.size() + (zeros_mib << 20), 4);
  return out;
}

inline std::string gzip(const std::string& data) {
  std::string out(compressBound(uLong(data.size())) + 64, '\0');
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = uInt(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols) {
  std::string b;
  for (uint32_t v : {0x00000803u, n, rows, cols})
    for (int k = 3; k >= 0; --k) b += char(uint8_t(v >> (8 * k)));
  std::string pixels(size_t(n) * rows * cols, '\0');
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = char(uint8_t(i * 7));
  return b + pixels;
}

// Writes the corpus into `dir` and returns its cases (defined in test_io_hostile.cpp).
std::vector<Case> write_hostile_corpus(const std::string& dir);

}  // namespace ember::test::hostile
