// sd_devices: loading across devices with map_location, on a machine without a GPU.
// docs/state-dicts.md, section "Loading across devices: map_location".
//
//   build/bin/sd_devices --dir /tmp/ember-tutorial
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "ember/core/cuda.h"
#include "examples/flags.h"
#include "examples/sd_common.h"
#include "ember/io/interop/serialize.h"

using namespace ember;
using examples::TwoLayerNet;

namespace {

// Rewrites an Ember file so that its tensor table says every tensor was saved on cuda:0, as a save
// on a GPU machine records it (docs/FORMAT.md: the entry's device type and index, then the header
// checksum). The tensor bytes are the same either way: they are always written from host memory.
void pretend_saved_on_gpu(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  std::vector<unsigned char> f((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t at) { uint32_t v; std::memcpy(&v, &f[at], 4); return v; };
  uint64_t header_size;
  std::memcpy(&header_size, &f[16], 8);
  size_t pos = 48;
  uint32_t count = u32(pos);
  pos += 4;
  for (uint32_t i = 0; i < count; ++i) {
    pos += 4 + u32(pos);         // name
    pos += 1;                    // dtype
    f[pos] = 1;                  // device type: cuda
    f[pos + 1] = f[pos + 2] = 0; // device index: 0
    pos += 3;
    pos += 4 + 8 * size_t(u32(pos)) + 8 + 8 + 4;  // rank, dims, offset, nbytes, crc32
  }
  uLong crc = crc32(crc32(0, f.data(), 44), f.data() + 48, uInt(header_size));
  uint32_t crc32v = uint32_t(crc);
  std::memcpy(&f[44], &crc32v, 4);
  std::ofstream(to, std::ios::binary).write(reinterpret_cast<const char*>(f.data()), std::streamsize(f.size()));
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/ember-tutorial";
  examples::Flags flags("sd_devices", "Load checkpoints across devices with map_location.");
  flags.add("--dir", dir, "folder for the files it writes");
  flags.parse(argc, argv);
  return examples::run_program("sd_devices", [&] {
    manual_seed(0);
    TwoLayerNet model(10, 20, 2);
    std::string path = examples::path_in(examples::output_dir(dir), "two_layer.ember");
    save(Value(model.state_dict()), path);
    std::cout << "CUDA devices in this build: " << cuda_device_count() << "\n";

    // [cpu]
    Value on_cpu = load(path, "cpu");  // every tensor onto the CPU, wherever it was saved
    for (const auto& [key, v] : on_cpu.as_dict()) std::cout << "  " << key << " on " << v.as_tensor().device() << "\n";
    // [/cpu]

    // [cuda]
    try {
      load(path, "cuda:0");
    } catch (const Error& e) {
      std::cout << "map_location \"cuda:0\": " << e.what() << "\n";
    }
    // [/cuda]

    // [portable]
    std::string where = cuda_device_count() > 0 ? "cuda:0" : "cpu";
    TwoLayerNet deployed;
    deployed.to(where);  // move the model first, then load onto the same device
    deployed.load_state_dict(load(path, where).to_state_dict());
    std::cout << "loaded onto " << where << "; fc1.weight is on " << deployed.fc1.weight.device() << "\n";
    // [/portable]

    // [from-gpu]
    std::string gpu_path = examples::path_in(dir, "two_layer_from_gpu.ember");
    pretend_saved_on_gpu(path, gpu_path);
    try {
      load(gpu_path);  // no map_location: each tensor back where it was saved
    } catch (const Error& e) {
      std::cout << "no map_location: " << e.what() << "\n";
    }
    deployed.load_state_dict(load(gpu_path, "cpu").to_state_dict());
    std::cout << "map_location \"cpu\": loaded, fc1.weight is on " << deployed.fc1.weight.device() << "\n";
    // [/from-gpu]
  });
}
