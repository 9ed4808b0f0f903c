// The native format: bit-exact round trips, the tensor table, paths, map_location, atomic saving.
#include <sys/resource.h>
#include <sys/wait.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <limits>

#include "ember/core/backend.h"
#include "ember/io/crc32.h"
#include "ember/io/format_detail.h"
#include "ember/io/interop/serialize.h"
#include "io_helpers.h"

using namespace ember;
using namespace ember::test;

namespace {
bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.nbytes() == 0 || std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()) == 0);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Deep comparison; tensors and doubles bit for bit.
void check_same_tree(const Value& a, const Value& b, const std::string& path = "") {
  INFO("at \"" << path << "\"");
  REQUIRE(a.kind() == b.kind());
  switch (a.kind()) {
    case Value::Kind::None: break;
    case Value::Kind::Bool: CHECK(a.as_bool() == b.as_bool()); break;
    case Value::Kind::Int: CHECK(a.as_int() == b.as_int()); break;
    case Value::Kind::Double: CHECK(same_bits(a.as_double(), b.as_double())); break;
    case Value::Kind::String: CHECK(a.as_string() == b.as_string()); break;
    case Value::Kind::Tensor:
      CHECK(a.as_tensor().device() == b.as_tensor().device());
      CHECK(same_bytes(a.as_tensor().cpu(), b.as_tensor().cpu()));
      break;
    case Value::Kind::List:
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) check_same_tree(a.at(i), b.at(i), path + "/" + std::to_string(i));
      break;
    case Value::Kind::Dict:
      REQUIRE(a.as_dict().keys() == b.as_dict().keys());
      for (const auto& [k, v] : a.as_dict()) check_same_tree(v, b.at(k), path + "/" + k);
      break;
  }
}

Tensor f32(std::vector<float> v, Shape s) { return from_vector(v, s); }
}  // namespace

TEST_CASE("every dtype round-trips bit for bit, including 0-d and empty tensors") {
  ScratchDir tmp("io_format_dtypes");
  const float fnan = std::numeric_limits<float>::quiet_NaN(), finf = std::numeric_limits<float>::infinity();
  Value v = Value::dict({
      {"f32", f32({1.5f, -0.0f, fnan, finf, -finf, 1e-42f}, {2, 3})},
      {"f64", from_vector<double>({std::numeric_limits<double>::denorm_min(), -1e308, 0.1}, {3})},
      {"i64", from_vector<int64_t>({std::numeric_limits<int64_t>::min(), -1, std::numeric_limits<int64_t>::max()}, {3, 1})},
      {"u8", from_vector<uint8_t>({0, 1, 127, 128, 255}, {5})},
      {"bool", from_vector<bool>({true, false, true}, {3})},
      {"scalar", scalar_tensor(2.5, kFloat64)},
      {"scalar_i", from_vector<int64_t>({42}, {}).reshape({})},
      {"empty", empty({0}, kFloat32)},
      {"empty_3d", empty({3, 0, 2}, kInt64)},
      {"odd_size", from_vector<uint8_t>({9, 8, 7}, {3})},  // next tensor starts after padding
      {"after_odd", from_vector<int64_t>({5, 6}, {2})},
  });
  std::string path = tmp.file("dtypes.ember");
  save(v, path);
  Value back = load(path);
  check_same_tree(v, back);
  CHECK(back.at("scalar").as_tensor().dim() == 0);
  CHECK(back.at("empty_3d").as_tensor().shape() == Shape{3, 0, 2});
  // The loaded tensors are fresh memory, not views of the saved ones.
  CHECK_FALSE(back.at("f32").as_tensor().shares_storage(v.at("f32").as_tensor()));
}

TEST_CASE("nested dicts, lists and scalars round-trip with order and bits intact") {
  ScratchDir tmp("io_format_tree");
  std::string binary("a\0b\xff\x01", 5);
  Value v = Value::dict({
      {"epoch", 3},
      {"step", int64_t(1) << 50},
      {"min", std::numeric_limits<int64_t>::min()},
      {"loss", 0.03},
      {"nan", std::numeric_limits<double>::quiet_NaN()},
      {"neg_zero", -0.0},
      {"inf", -std::numeric_limits<double>::infinity()},
      {"flag", true},
      {"off", false},
      {"nothing", Value()},
      {"name", "MNISTNet \xce\xbb"},
      {"empty_string", ""},
      {"binary", binary},
      {"", "empty key"},
      {"a/b", Value::dict({{"c.d", f32({1, 2}, {2})}, {"~x", f32({3}, {1})}})},
      {"list", Value::list({1, "two", Value::list({}), Value::dict(), Value::list({f32({4, 5}, {2}), Value()})})},
      {"zeta", 1},
      {"alpha", 2},
  });
  std::string path = tmp.file("tree.ember");
  save(v, path);
  Value back = load(path);
  check_same_tree(v, back);
  CHECK(back.as_dict().keys() == v.as_dict().keys());
  CHECK(back.at("binary").as_string().size() == 5);

  // Tensor names in the table are their paths: '/' between levels, "~1" for '/' and "~0" for '~'.
  io::NativeReader reader(path);
  std::vector<std::string> names;
  for (const auto& t : reader.tensors()) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"a~1b/c.d", "a~1b/~0x", "list/4/0"});
  for (const auto& t : reader.tensors()) CHECK(t.offset % 64 == 0);
  CHECK(reader.file_size() == read_bytes(path).size());
}

TEST_CASE("a root that is not a dict: a lone tensor, a scalar, a list") {
  ScratchDir tmp("io_format_roots");
  for (const Value& v : {Value(f32({1, 2, 3}, {3})), Value(7), Value("just text"), Value(), Value::list({1.5})}) {
    std::string path = tmp.file("root.ember");
    save(v, path);
    check_same_tree(v, load(path));
  }
  io::NativeReader reader(tmp.file("root.ember"));
  CHECK(reader.tensors().empty());
}

TEST_CASE("a StateDict saves directly and loads back as one") {
  ScratchDir tmp("io_format_sd");
  StateDict sd;
  sd.insert("fc1.weight", f32({1, 2, 3, 4, 5, 6}, {2, 3}));
  sd.insert("fc1.bias", f32({7, 8}, {2}));
  save(sd, tmp.file("sd.ember"));
  StateDict back = load(tmp.file("sd.ember")).to_state_dict();
  CHECK(back.keys() == sd.keys());
  CHECK(same_bytes(back.at("fc1.weight"), sd.at("fc1.weight")));
}

TEST_CASE("a tensor spanning several read chunks round-trips, and damage in any chunk is caught") {
  ScratchDir tmp("io_format_chunks");
  // Five 4 MiB chunks and a ragged tail: over the size that is read on several threads (16 MiB),
  // so chunks are read side by side and their checksums joined.
  const size_t n = (size_t(20) << 20) + 12345;
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = uint8_t((i * 2654435761u) >> 13);
  Tensor big = from_vector(bytes, {int64_t(n)});
  std::string path = tmp.file("big.ember");
  save(Value::dict({{"big", big}, {"after", from_vector<int64_t>({1, 2}, {2})}}), path);
  Value back = load(path);
  CHECK(same_bytes(back.at("big").as_tensor(), big));
  CHECK(back.at("after").as_tensor().to_vector<int64_t>() == std::vector<int64_t>{1, 2});

  std::vector<uint8_t> file = read_bytes(path);
  uint64_t data = le64(file, 24);
  for (size_t at : {size_t(0), size_t(4) << 20, (size_t(12) << 20) - 1, n - 1}) {
    std::vector<uint8_t> b = file;
    b[data + at] ^= 0x40;
    write_bytes(path, b);
    INFO("flipped data byte " << at);
    CHECK(contains(error_of([&] { load(path); }), "checksum mismatch for tensor \"big\""));
  }
}

TEST_CASE("the folding CRC-32 agrees with zlib's for every length, alignment and starting value") {
  // Lengths cross each path's thresholds (128 and 1024 bytes) and leave every tail from 0 to 255.
  std::vector<uint8_t> bytes(70000);
  uint32_t state = 12345;
  for (auto& b : bytes) b = uint8_t((state = state * 1664525u + 1013904223u) >> 24);
  int mismatches = 0;
  for (size_t n : {0, 1, 3, 15, 16, 63, 64, 127, 128, 129, 255, 256, 511, 1023, 1024, 1025, 4095, 4096, 65536 + 17}) {
    for (size_t offset = 0; offset < 64; offset += 7) {
      for (uint32_t start : {0u, 0xFFFFFFFFu, 0x12345678u}) {
        const uint8_t* p = bytes.data() + offset;
        mismatches += io::crc32(start, p, n) != io::crc32_portable(start, p, n);
      }
    }
  }
  for (size_t n = 1000; n < 1400; ++n) mismatches += io::crc32(7, bytes.data(), n) != io::crc32_portable(7, bytes.data(), n);
  CHECK(mismatches == 0);
  // Chained calls give the checksum of the whole; and the check value every CRC-32 shares.
  CHECK(io::crc32(io::crc32(0, bytes.data(), 5000), bytes.data() + 5000, 60000) == io::crc32_portable(0, bytes.data(), 65000));
  CHECK(io::crc32(0, "123456789", 9) == 0xCBF43926u);
}

TEST_CASE("paths: escaping, splitting and lookup") {
  using io::escape_key;
  using io::split_path;
  CHECK(escape_key("conv1.weight") == "conv1.weight");
  CHECK(escape_key("a/b~c") == "a~1b~0c");
  CHECK(split_path("model_state_dict/conv1.weight") == std::vector<std::string>{"model_state_dict", "conv1.weight"});
  CHECK(split_path("a~1b/~0x") == std::vector<std::string>{"a/b", "~x"});
  CHECK(split_path("").empty());
  CHECK(split_path("a/") == std::vector<std::string>{"a", ""});
  CHECK(contains(error_of([] { split_path("a~2"); }), "'~' at position 1 must be followed by 0"));
  Value tree = Value::dict({{"a/b", Value::list({10, Value::dict({{"k", 5}})})}});
  CHECK(io::find_path(tree, "a~1b/1/k").as_int() == 5);
  CHECK(io::find_path(tree, "").is_dict());
  CHECK(error_of([&] { io::find_path(tree, "a~1b/7"); }) == "index \"7\" not found in list \"a~1b\" of size 2");
  CHECK(error_of([&] { io::find_path(tree, "nope"); }) == "key \"nope\" not found");
  CHECK(error_of([&] { io::find_path(tree, "a~1b/0/x"); }) == "\"a~1b/0\" is an int, so it has no key \"x\"");
}

TEST_CASE("map_location") {
  ScratchDir tmp("io_format_map");
  std::string path = tmp.file("m.ember");
  save(Value::dict({{"weights_on_gpu", f32({1, 2, 3}, {3})}, {"epoch", 1}}), path);

  Value cpu = load(path, "cpu");
  CHECK(cpu.at("weights_on_gpu").as_tensor().device() == kCPU);
  CHECK(contains(error_of([&] { load(path, "tpu"); }), "load: invalid map_location \"tpu\""));
  if (!cuda_built())
    CHECK_FALSE(error_of([&] { load(path, "cuda:0"); }).empty());

  // A file recorded on cuda:0 (the device bytes patched, the header checksum repaired).
  std::vector<uint8_t> b = read_bytes(path);
  size_t name = find_bytes(b, "weights_on_gpu", 48);
  REQUIRE(name != std::string::npos);
  size_t dev = name + std::strlen("weights_on_gpu") + 1;  // after the dtype byte
  REQUIRE(b[dev] == 0);
  b[dev] = 1;
  fix_header_crc(b);
  std::string gpu_path = tmp.file("gpu.ember");
  write_bytes(gpu_path, b);
  io::NativeReader reader(gpu_path);
  CHECK(reader.tensors()[0].device == Device("cuda:0"));

  Value moved = load(gpu_path, "cpu");
  CHECK(moved.at("weights_on_gpu").as_tensor().device() == kCPU);
  CHECK(moved.at("weights_on_gpu").as_tensor().to_vector<float>() == std::vector<float>{1, 2, 3});
  if (cuda_device_count() == 0) {
    std::string err = error_of([&] { load(gpu_path); });
    CHECK(contains(err, "tensor \"weights_on_gpu\" was saved on cuda:0"));
    CHECK(contains(err, "map_location=\"cpu\""));
  } else {
    CHECK(load(gpu_path).at("weights_on_gpu").as_tensor().device() == Device("cuda:0"));
  }
}

TEST_CASE("saving replaces the file whole and leaves no temporary behind") {
  ScratchDir tmp("io_format_atomic");
  std::string path = tmp.file("ckpt.ember");
  save(Value::dict({{"epoch", 1}, {"w", f32({1, 2}, {2})}}), path);
  save(Value::dict({{"epoch", 2}}), path);
  CHECK(load(path).at("epoch").as_int() == 2);
  CHECK_FALSE(load(path).contains("w"));
  CHECK(tmp.listing() == std::vector<std::string>{"ckpt.ember"});

  // A bare file name saves into the current folder.
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(tmp.dir);
  save(Value(5), "bare.ember");
  std::filesystem::current_path(cwd);
  CHECK(load(tmp.file("bare.ember")).as_int() == 5);
}

TEST_CASE("a failed save names the path and the reason, and removes its temporary file") {
  ScratchDir tmp("io_format_fail");
  std::string missing = tmp.file("no_such_folder/ckpt.ember");
  std::string err = error_of([&] { save(Value(1), missing); });
  CHECK(contains(err, missing));
  CHECK(contains(err, "No such file or directory"));
  CHECK(contains(error_of([&] { save(Value(1), tmp.dir.string() + "/"); }), "invalid file path"));
  CHECK(contains(error_of([&] { load(tmp.file("absent.ember")); }), "No such file or directory"));

  // A write that fails part-way (the file size limit stands in for a full disk), in a child process.
  std::string path = tmp.file("big.ember");
  save(Value::dict({{"old", 1}}), path);
  // The value is built before fork(): the child must not start OpenMP work (the parent's thread
  // pool does not exist in the child).
  Value big = Value::dict({{"w", zeros({1 << 20})}});
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit lim{1 << 20, 1 << 20};
    setrlimit(RLIMIT_FSIZE, &lim);
    std::string msg = error_of([&] { save(big, path); });
    bool ok = contains(msg, path) && contains(msg, "File too large");
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(tmp.listing() == std::vector<std::string>{"big.ember"});  // the temporary file is gone
  CHECK(load(path).at("old").as_int() == 1);
}

namespace {
void fail_after_first_chunk(uint64_t written) {
  if (written >= (uint64_t(4) << 20)) throw Error("simulated I/O failure");
}
}  // namespace

TEST_CASE("a save that fails part-way through the data removes its temporary file") {
  ScratchDir tmp("io_format_midway");
  std::string path = tmp.file("ckpt.ember");
  save(Value::dict({{"old", 1}}), path);
  io::detail::set_write_hook(fail_after_first_chunk);
  std::string err = error_of([&] { save(Value::dict({{"w", zeros({8 << 20})}}), path); });
  io::detail::set_write_hook(nullptr);
  CHECK(err == "simulated I/O failure");
  CHECK(tmp.listing() == std::vector<std::string>{"ckpt.ember"});
  CHECK(load(path).at("old").as_int() == 1);
}

TEST_CASE("saving refuses what the reader would refuse") {
  ScratchDir tmp("io_format_refuse");
  Value deep = 1;
  for (int i = 0; i < io::kMaxDepth + 1; ++i) deep = Value::list({deep});
  CHECK(contains(error_of([&] { save(deep, tmp.file("deep.ember")); }), "nests deeper than 128 levels"));
  CHECK(contains(error_of([&] { save(Value::dict({{"t", Tensor()}}), tmp.file("u.ember")); }),
                 "the tensor at \"t\" is undefined"));
  CHECK(tmp.listing().empty());
  // Just under the limit saves and loads.
  Value ok = 1;
  for (int i = 0; i < io::kMaxDepth; ++i) ok = Value::list({ok});
  save(ok, tmp.file("ok.ember"));
  check_same_tree(ok, load(tmp.file("ok.ember")));
}
