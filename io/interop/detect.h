#pragma once
// Which checkpoint format a file is in, decided by its content, never by its extension:
//   Ember's native format   its 8-byte magic "\x89EMB\r\n\x1a\n"
//   PyTorch .pth (zip)      a zip local header "PK\x03\x04"
//   safetensors             an 8-byte little-endian header length, then '{'
//   ONNX                    a protobuf ModelProto: ir_version first (0x08, a one-byte varint), then
//                           another ModelProto field (io/interop/onnx.h)
// plus PyTorch's legacy (pre-1.6) pickle format, recognised only to say that it is not read.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ember/io/checkpoint_reader.h"

namespace ember::io {

enum class FileFormat : uint8_t { Ember, Pth, Safetensors, LegacyTorch, Onnx, Unknown };

const char* format_name(FileFormat f);  // "ember", "pth", "safetensors", ...

// From a file's first bytes (16 are enough) and its size.
FileFormat detect_format(const uint8_t* head, size_t n, uint64_t file_size);
// Reads the first bytes of `path`; throws naming the file if it cannot be opened.
FileFormat detect_file_format(const std::string& path);

// Opens `path` with the reader its content calls for. A file of no known format goes to the native
// reader, whose checks say precisely what is wrong with it; a legacy PyTorch file is refused with
// a reason.
std::unique_ptr<CheckpointReader> open_detected(const std::string& path);

}  // namespace ember::io
