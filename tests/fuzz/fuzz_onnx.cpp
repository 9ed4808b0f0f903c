// libFuzzer target for the ONNX reader (io/interop/onnx_reader.cpp): libonnx's protobuf parse of
// the ModelProto, then Ember's checks of every initializer and of the graph listing. Any input must
// end in loaded tensors or an ember::Error: a crash, a sanitizer report, another exception, or a
// leak is a bug. Built only where ONNX support is on (libonnx-dev).

#include <cstdint>

#include "fuzz_reader.h"
#include "ember/io/interop/onnx.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ember::fuzz::open_mem_file("ember_fuzz_onnx");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ember::fuzz::read_all<ember::io::OnnxReader>(data, size);
  return 0;
}
