// libFuzzer target for the PyTorch .pth reader. Any input must end in a loaded value or an
// ember::Error: a crash, a sanitizer report, another exception, or a leak is a bug.
// Each input is read three ways: as a pickle by the restricted unpickler alone; as a whole .pth
// file (the zip container); and as the data.pkl of an otherwise valid archive with four storage
// records, so that mutations reach tensor views and record checks behind the zip's CRCs.
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ember/io/interop/pth_reader.h"

namespace {
int memfd = -1;
std::string memfd_path;

void put(std::string& b, uint64_t v, int n) {
  for (int k = 0; k < n; ++k) b += char(uint8_t(v >> (8 * k)));
}

// A zip of stored entries, laid out as torch's writer does (no alignment needed here).
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out, cd;
  for (const auto& [name, data] : entries) {
    uint32_t crc = uint32_t(crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size()));
    uint64_t at = out.size();
    put(out, 0x04034b50, 4); put(out, 20, 2); put(out, 0, 2); put(out, 0, 2); put(out, 0, 4);
    put(out, crc, 4); put(out, data.size(), 4); put(out, data.size(), 4); put(out, name.size(), 2); put(out, 0, 2);
    out += name;
    out += data;
    put(cd, 0x02014b50, 4); put(cd, 20, 2); put(cd, 20, 2); put(cd, 0, 2); put(cd, 0, 2); put(cd, 0, 4);
    put(cd, crc, 4); put(cd, data.size(), 4); put(cd, data.size(), 4); put(cd, name.size(), 2);
    put(cd, 0, 2); put(cd, 0, 2); put(cd, 0, 2); put(cd, 0, 2); put(cd, 0, 4); put(cd, at, 4);
    cd += name;
  }
  uint64_t cd_at = out.size();
  out += cd;
  put(out, 0x06054b50, 4); put(out, 0, 4); put(out, entries.size(), 2); put(out, entries.size(), 2);
  put(out, cd.size(), 4); put(out, cd_at, 4); put(out, 0, 2);
  return out;
}

void read_file(const uint8_t* data, size_t size) {
  if (ftruncate(memfd, 0) != 0) __builtin_trap();
  if (size && pwrite(memfd, data, size, 0) != ssize_t(size)) __builtin_trap();
  try {
    ember::io::PthReader reader(memfd_path);
    for (size_t i = 0; i < reader.tensors().size(); ++i) reader.check_tensor(i);
    ember::Value v = ember::io::load_checkpoint(reader, "cpu");
    (void)v;
  } catch (const ember::Error&) {
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  memfd = memfd_create("ember_fuzz_pth", MFD_CLOEXEC);
  if (memfd < 0) __builtin_trap();
  memfd_path = "/proc/self/fd/" + std::to_string(memfd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ember::io::pickle::Unpickled u = ember::io::pickle::unpickle(data, size, "fuzz");
    (void)u;
  } catch (const ember::Error&) {
  }
  read_file(data, size);
  // Records of 0/1 bytes, so that bool views over them are valid too.
  std::string record(64, '\0');
  for (size_t i = 0; i < record.size(); ++i) record[i] = char(i % 2);
  std::string zip = make_zip({{"archive/data.pkl", std::string(reinterpret_cast<const char*>(data), size)},
                              {"archive/data/0", record},
                              {"archive/data/1", record.substr(0, 8)},
                              {"archive/data/2", ""},
                              {"archive/data/3", record + record},
                              {"archive/version", "3\n"}});
  read_file(reinterpret_cast<const uint8_t*>(zip.data()), zip.size());
  return 0;
}
