#pragma once
// Writing Ember's native checkpoint format, version 1 (docs/FORMAT.md is the specification; ember::save
// in io/interop/serialize.h writes it by default, io::open_checkpoint reads it):
//   [0, 48)            preamble: magic, version, flags, header size, data offset, file size, CRC32
//   [48, 48 + H)       header: the tensor table, then the value tree, in a compact binary encoding
//   [data_offset, end) tensor bytes, each tensor starting on a 64-byte boundary, in table order
#include <string>

#include "ember/core/value.h"

namespace ember::io {

struct WriteOptions {
  bool sync = true;  // fsync the file and its folder; off only to measure what the sync costs
};

// Writes `value` to `path` atomically in the native format. Tensors on a GPU are copied to the host
// one at a time; their device is recorded.
void write_native(const Value& value, const std::string& path, const WriteOptions& options = {});

}  // namespace ember::io
