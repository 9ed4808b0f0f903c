#include "ember/io/interop/detect.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ember/io/atomic_file.h"
#include "ember/io/native_reader.h"
#include "ember/io/interop/onnx.h"
#include "ember/io/interop/pth_reader.h"
#include "ember/io/interop/safetensors.h"

namespace ember::io {

namespace {
// torch.save's legacy format begins with the pickled magic number 0x1950a86a20f9469cfc6c (LONG1).
constexpr uint8_t kLegacyTorch[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
}  // namespace

const char* format_name(FileFormat f) {
  switch (f) {
    case FileFormat::Ember: return "ember";
    case FileFormat::Pth: return "pth";
    case FileFormat::Safetensors: return "safetensors";
    case FileFormat::LegacyTorch: return "legacy torch";
    case FileFormat::Onnx: return "onnx";
    case FileFormat::Unknown: return "unknown";
  }
  return "unknown";
}

FileFormat detect_format(const uint8_t* head, size_t n, uint64_t file_size) {
  if (n >= sizeof kMagic && std::memcmp(head, kMagic, sizeof kMagic) == 0) return FileFormat::Ember;
  if (n >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0) return FileFormat::Pth;
  if (n >= sizeof kLegacyTorch && std::memcmp(head, kLegacyTorch, sizeof kLegacyTorch) == 0)
    return FileFormat::LegacyTorch;
  // Safetensors before ONNX: a header length such as 0x120108 begins 08 01 12, which also reads as
  // ONNX's ir_version and producer_name. The reverse needs an ONNX file whose bytes 4 to 7 are
  // (nearly) zero and whose byte 8 is '{', which only a producer name of NUL bytes could give.
  if (n >= 9 && head[8] == '{') {
    uint64_t len = 0;
    for (int k = 0; k < 8; ++k) len |= uint64_t(head[k]) << (8 * k);
    // A plausible header length; the reader itself checks it against the file and the format's cap.
    if (len >= 2 && len <= file_size) return FileFormat::Safetensors;
  }
  if (looks_like_onnx(head, n)) return FileFormat::Onnx;
  return FileFormat::Unknown;
}

FileFormat detect_file_format(const std::string& path) {
  EMBER_CHECK(!is_temporary_save(path), "load: ", path, ": the temporary file of a save that did not finish (",
              "\".<name>.tmp-<pid>-<n>\"), not a checkpoint; the next save to <name> removes it");
  uint64_t size = 0;
  int fd = open_regular_file(path, size);  // a FIFO, a device or a folder is refused here, by name
  uint8_t head[16] = {};
  ssize_t got = ::pread(fd, head, sizeof head, 0);
  int err = errno;
  ::close(fd);
  if (got < 0) throw_errno("load: cannot read", path, err);
  return detect_format(head, size_t(got), size);
}

std::unique_ptr<CheckpointReader> open_detected(const std::string& path) {
  switch (detect_file_format(path)) {
    case FileFormat::Pth: return std::make_unique<PthReader>(path);
    case FileFormat::Safetensors: return std::make_unique<SafetensorsReader>(path);
    case FileFormat::Onnx: return std::make_unique<OnnxReader>(path);
    case FileFormat::LegacyTorch:
      EMBER_FAIL("load: ", path, ": a PyTorch file in the legacy format (torch.save before PyTorch 1.6, or "
                 "_use_new_zipfile_serialization=False), which Ember does not read; re-save it with torch.save "
                 "from PyTorch 1.6 or later");
    default: return std::make_unique<NativeReader>(path);
  }
}

}  // namespace ember::io
