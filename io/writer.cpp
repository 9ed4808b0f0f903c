// The native format's writer: the header is laid out first (its size does not depend on the
// checksums), tensor bytes go straight from each tensor's memory to the file with their CRC32
// computed chunk by chunk on the way, and the preamble and header are written last, so a file cut
// short never starts with a valid preamble.
#include <algorithm>
#include <atomic>

#include "ember/io/atomic_file.h"
#include "ember/io/crc32.h"
#include "ember/io/format_detail.h"

namespace ember::io {

using namespace detail;

namespace {
std::atomic<WriteHook> write_hook{nullptr};

struct Collected {
  std::string path;
  Tensor tensor;
};

// Encodes the tree depth-first, collecting tensors in the order the reader expects them.
void encode_tree(const Value& v, const std::string& path, int depth, Encoder& out, std::vector<Collected>& tensors,
                 const std::string& file) {
  EMBER_CHECK(depth <= kMaxDepth, "save: ", file, ": the tree nests deeper than ", kMaxDepth, " levels at \"", path,
              "\"");
  switch (v.kind()) {
    case Value::Kind::None: out.u8(uint8_t(Tag::None)); return;
    case Value::Kind::Bool: out.u8(uint8_t(v.as_bool() ? Tag::True : Tag::False)); return;
    case Value::Kind::Int: out.u8(uint8_t(Tag::Int)); out.i64(v.as_int()); return;
    case Value::Kind::Double: out.u8(uint8_t(Tag::Double)); out.f64(v.as_double()); return;
    case Value::Kind::String:
      EMBER_CHECK(v.as_string().size() <= kMaxHeaderSize, "save: ", file, ": string at \"", path, "\" is ",
                  v.as_string().size(), " bytes, over the header limit of ", kMaxHeaderSize);
      out.u8(uint8_t(Tag::String));
      out.str(v.as_string());
      return;
    case Value::Kind::Tensor: {
      const Tensor& t = v.as_tensor();
      EMBER_CHECK(t.defined(), "save: ", file, ": the tensor at \"", path, "\" is undefined");
      EMBER_CHECK(uint64_t(t.dim()) <= kMaxRank, "save: ", file, ": tensor \"", path, "\" has rank ", t.dim(),
                  ", over the limit of ", kMaxRank);
      out.u8(uint8_t(Tag::Tensor));
      out.u32(uint32_t(tensors.size()));
      tensors.push_back({path, t});
      return;
    }
    case Value::Kind::List: {
      const auto& items = v.as_list();
      EMBER_CHECK(items.size() <= kMaxHeaderSize, "save: ", file, ": list at \"", path, "\" is too long");
      out.u8(uint8_t(Tag::List));
      out.u32(uint32_t(items.size()));
      for (size_t i = 0; i < items.size(); ++i)
        encode_tree(items[i], child_path(path, std::to_string(i)), depth + 1, out, tensors, file);
      return;
    }
    case Value::Kind::Dict: {
      const auto& dict = v.as_dict();
      EMBER_CHECK(dict.size() <= kMaxHeaderSize, "save: ", file, ": dict at \"", path, "\" is too long");
      out.u8(uint8_t(Tag::Dict));
      out.u32(uint32_t(dict.size()));
      for (const auto& [key, child] : dict) {
        EMBER_CHECK(key.size() <= kMaxHeaderSize, "save: ", file, ": a key in \"", path, "\" is too long");
        out.str(key);
        encode_tree(child, child_path(path, escape_key(key)), depth + 1, out, tensors, file);
      }
      return;
    }
  }
}
}  // namespace

void detail::set_write_hook(WriteHook hook) { write_hook = hook; }

void write_native(const Value& value, const std::string& path, const WriteOptions& options) {
  Encoder tree;
  std::vector<Collected> tensors;
  encode_tree(value, "", 0, tree, tensors, path);

  // Layout: the table's size is known before its offsets and checksums are.
  uint64_t header_size = 4 + tree.buf.size();
  for (const auto& c : tensors) header_size += 4 + c.path.size() + 1 + 1 + 2 + 4 + 8 * size_t(c.tensor.dim()) + 8 + 8 + 4;
  EMBER_CHECK(header_size <= kMaxHeaderSize, "save: ", path, ": the header would be ", header_size,
              " bytes, over the limit of ", kMaxHeaderSize, " (too many tensors or too much text)");
  uint64_t data_offset;
  align_up(kPreambleSize + header_size, &data_offset);

  Encoder head;
  head.buf.reserve(size_t(data_offset));
  head.buf.resize(size_t(kPreambleSize));
  head.u32(uint32_t(tensors.size()));
  std::vector<size_t> crc_at(tensors.size());
  std::vector<uint64_t> offsets(tensors.size());
  uint64_t cursor = data_offset, file_size = data_offset;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i].tensor;
    head.str(tensors[i].path);
    head.u8(uint8_t(t.dtype()));
    head.u8(uint8_t(t.device().type));
    head.u16(uint16_t(t.device().is_cpu() ? 0 : t.device().index));
    head.u32(uint32_t(t.dim()));
    for (int64_t d : t.shape()) head.i64(d);
    offsets[i] = cursor;
    head.u64(cursor);
    head.u64(uint64_t(t.nbytes()));
    crc_at[i] = head.buf.size();
    head.u32(0);  // patched once the bytes are written
    file_size = cursor + t.nbytes();
    align_up(file_size, &cursor);
  }
  head.buf.insert(head.buf.end(), tree.buf.begin(), tree.buf.end());
  head.buf.resize(size_t(data_offset), 0);  // zero padding up to the data

  AtomicFile file(path);
  file.reserve(file_size);
  static const uint8_t zeros[kAlignment] = {};
  uint64_t written = 0;
  WriteHook hook = write_hook.load();
  for (size_t i = 0; i < tensors.size(); ++i) {
    // A GPU tensor is staged through the host one tensor at a time.
    Tensor host = tensors[i].tensor.device().is_cpu() ? tensors[i].tensor : tensors[i].tensor.to(kCPU);
    const auto* src = static_cast<const uint8_t*>(host.raw_data());
    uint64_t n = host.nbytes(), pos = offsets[i];
    uint32_t crc = 0;
    for (uint64_t done = 0; done < n;) {
      size_t k = size_t(std::min<uint64_t>(kChunk, n - done));
      crc = crc32(crc, src + done, k);
      file.pwrite_all(src + done, k, pos + done);
      // Overlaps the disk writes with the rest of the save: the final fsync then costs little.
      if (options.sync) file.start_writeback(pos + done, k);
      done += k;
      written += k;
      if (hook) hook(written);
    }
    put_u32(head.buf.data() + crc_at[i], crc);
    uint64_t end = i + 1 < tensors.size() ? offsets[i + 1] : file_size;
    if (end > pos + n) file.pwrite_all(zeros, size_t(end - pos - n), pos + n);
  }

  uint8_t* pre = head.buf.data();
  std::copy(std::begin(kMagic), std::end(kMagic), pre);
  put_u32(pre + 8, kFormatVersion);
  put_u32(pre + 12, 0);  // flags
  put_u64(pre + 16, header_size);
  put_u64(pre + 24, data_offset);
  put_u64(pre + 32, file_size);
  put_u32(pre + 40, 0);  // reserved
  uint32_t crc = crc32(crc32(0, pre, 44), pre + kPreambleSize, size_t(header_size));
  put_u32(pre + 44, crc);
  file.pwrite_all(head.buf.data(), head.buf.size(), 0);
  file.commit(options.sync);
}

}  // namespace ember::io
