#pragma once
// What every file-reader fuzz target does with one input: write it to an in-memory file, open it
// with `Reader`, and read every tensor and the whole tree. Anything but a loaded value or an
// ember::Error (a crash, a sanitizer report, another exception, a leak) is a bug.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "ember/io/checkpoint_reader.h"

namespace ember::fuzz {

struct MemFile {
  int fd = -1;
  std::string path;
};

// Created once, in LLVMFuzzerInitialize.
inline MemFile& mem_file() {
  static MemFile f;
  return f;
}

inline void open_mem_file(const char* name) {
  MemFile& f = mem_file();
  f.fd = memfd_create(name, MFD_CLOEXEC);
  if (f.fd < 0) __builtin_trap();
  f.path = "/proc/self/fd/" + std::to_string(f.fd);
}

// Makes the in-memory file hold exactly `data`; returns it.
inline MemFile& fill_mem_file(const uint8_t* data, size_t size) {
  MemFile& f = mem_file();
  if (ftruncate(f.fd, 0) != 0) __builtin_trap();
  if (size && pwrite(f.fd, data, size, 0) != ssize_t(size)) __builtin_trap();
  return f;
}

template <class Reader>
void read_all(const uint8_t* data, size_t size) {
  MemFile& f = fill_mem_file(data, size);
  try {
    Reader reader(f.path);
    uint64_t total = 0;
    for (const auto& t : reader.tensors()) total += t.nbytes;
    // The layout checks bound every tensor by the file's size, so reading them all is cheap.
    if (total > size) __builtin_trap();
    for (size_t i = 0; i < reader.tensors().size(); ++i) reader.check_tensor(i);
    Value v = io::load_checkpoint(reader, "cpu");
    (void)v;
  } catch (const Error&) {
  }
}

}  // namespace ember::fuzz
