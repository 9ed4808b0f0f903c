// Damaged, hostile and half-written files: every one is refused with an ember::Error, never a crash,
// a huge allocation, or a silently wrong tensor; an interrupted save leaves the old file loadable.
#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>
#include <random>

#include "ember/io/format_detail.h"
#include "ember/io/interop/serialize.h"
#include "io_helpers.h"

using namespace ember;
using namespace ember::test;

namespace {
Value sample() {
  StateDict model;
  model.insert("conv1.weight", from_vector<float>({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}));
  model.insert("conv1.bias", from_vector<float>({0.5f}, {1}));
  model.insert("bn.num_batches_tracked", from_vector<int64_t>({7}, {}).reshape({}));
  return Value::dict({{"epoch", 3},
                      {"model_state_dict", model},
                      {"mask", from_vector<bool>({true, false, true}, {3})},
                      {"history", Value::list({0.5, "text", Value()})},
                      {"loss", 0.03}});
}

std::string save_sample(const ScratchDir& tmp, const std::string& name = "sample.ember") {
  std::string path = tmp.file(name);
  save(sample(), path);
  return path;
}

// Offset of a table entry's fields: the name (with its u32 length before it) is the entry's start.
struct EntryAt {
  size_t dtype, device, rank, dims, offset_field, nbytes_field, crc_field;
};
EntryAt entry_fields(const std::vector<uint8_t>& b, const std::string& name) {
  size_t at = find_bytes(b, name, 48);
  REQUIRE(at != std::string::npos);
  EntryAt e{};
  e.dtype = at + name.size();
  e.device = e.dtype + 1;
  e.rank = e.device + 3;
  uint32_t rank = b[e.rank] | (b[e.rank + 1] << 8);
  e.dims = e.rank + 4;
  e.offset_field = e.dims + 8 * rank;
  e.nbytes_field = e.offset_field + 8;
  e.crc_field = e.nbytes_field + 8;
  return e;
}

std::string load_error(const std::string& path) {
  return error_of([&] { load(path); });
}

long max_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}
}  // namespace

TEST_CASE("a checkpoint truncated at every byte is refused with a clear error") {
  ScratchDir tmp("io_robust_trunc");
  std::vector<uint8_t> good = read_bytes(save_sample(tmp));
  std::string path = tmp.file("cut.ember");
  for (size_t n = 0; n < good.size(); ++n) {
    write_bytes(path, good, n);
    std::string err = load_error(path);
    INFO("truncated to " << n << " of " << good.size() << " bytes: " << err);
    CHECK(contains(err, path));
    CHECK(contains(err, "truncated"));
  }
  write_bytes(path, good);
  CHECK(load_error(path).empty());
  good.push_back(0);
  write_bytes(path, good);
  CHECK(contains(load_error(path), "1 trailing bytes after the end given in the preamble"));
}

TEST_CASE("every bit of the preamble and header, flipped, is an error") {
  ScratchDir tmp("io_robust_header");
  std::vector<uint8_t> good = read_bytes(save_sample(tmp));
  uint64_t data_offset = le64(good, 24);
  REQUIRE(data_offset < good.size());
  std::string path = tmp.file("flip.ember");
  size_t checksum_errors = 0;
  for (size_t byte = 0; byte < data_offset; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> b = good;
      b[byte] ^= uint8_t(1 << bit);
      write_bytes(path, b);
      std::string err = load_error(path);
      INFO("byte " << byte << " bit " << bit);
      CHECK_FALSE(err.empty());
      checksum_errors += contains(err, "header checksum mismatch");
    }
  }
  // Most flips land in the header proper, where the checksum catches them.
  CHECK(checksum_errors > 8 * (le64(good, 16) - 8));
}

TEST_CASE("flipped data bytes: a checksum error naming the tensor") {
  ScratchDir tmp("io_robust_data");
  std::string good_path = save_sample(tmp);
  std::vector<uint8_t> good = read_bytes(good_path);
  io::NativeReader reader(good_path);
  std::string path = tmp.file("flip.ember");
  size_t named = 0;
  for (size_t byte = size_t(le64(good, 24)); byte < good.size(); ++byte) {
    std::vector<uint8_t> b = good;
    b[byte] ^= 0x10;
    write_bytes(path, b);
    std::string err = load_error(path);
    INFO("byte " << byte << ": " << err);
    const io::TensorInfo* owner = nullptr;
    for (const auto& t : reader.tensors())
      if (byte >= t.offset && byte < t.offset + t.nbytes) owner = &t;
    if (owner) {
      CHECK(contains(err, "checksum mismatch for tensor \"" + owner->name + "\""));
      ++named;
      io::NativeReader damaged(path);  // the header is fine; only that tensor's check fails
      for (size_t i = 0; i < damaged.tensors().size(); ++i)
        CHECK(damaged.check_tensor(i).empty() == (damaged.tensors()[i].name != owner->name));
    } else {
      CHECK(contains(err, "nonzero padding byte"));
    }
  }
  CHECK(named == 6 * 4 + 4 + 8 + 3);
}

TEST_CASE("a small file claiming a huge tensor is refused before anything is allocated") {
  ScratchDir tmp("io_robust_huge");
  std::vector<uint8_t> b = read_bytes(save_sample(tmp));
  EntryAt e = entry_fields(b, "model_state_dict/conv1.bias");
  REQUIRE(b[e.rank] == 1);
  uint64_t huge = uint64_t(1) << 40;  // elements: 4 TiB of float32
  put_le64(b, e.dims, huge);
  put_le64(b, e.nbytes_field, huge * 4);
  fix_header_crc(b);
  std::string path = tmp.file("huge.ember");
  write_bytes(path, b);
  long rss_before = max_rss_kib();
  std::string err = load_error(path);
  CHECK(contains(err, "tensor \"model_state_dict/conv1.bias\""));
  CHECK(contains(err, "claims 4398046511104 bytes at offset"));
  CHECK(max_rss_kib() - rss_before < 64 * 1024);

  // An element count that overflows 64 bits.
  put_le64(b, e.dims, uint64_t(1) << 62);
  put_le64(b, e.nbytes_field, 0);
  b[e.rank] = 2;  // rank 2: the next 8 bytes (the old offset) become a second dimension
  fix_header_crc(b);
  write_bytes(path, b);
  CHECK_FALSE(load_error(path).empty());

  // A header size past the file's end, and past the cap.
  std::vector<uint8_t> h = read_bytes(save_sample(tmp));
  put_le64(h, 16, uint64_t(32) << 20);
  put_le64(h, 24, (uint64_t(32) << 20) + 64);
  put_le64(h, 32, (uint64_t(32) << 20) + 64);
  write_bytes(path, h);
  CHECK(contains(load_error(path), "truncated: the file is"));
  put_le64(h, 16, uint64_t(1) << 40);
  write_bytes(path, h);
  CHECK(contains(load_error(path), "exceeds the limit of 67108864 bytes"));
  CHECK(max_rss_kib() - rss_before < 64 * 1024);
}

TEST_CASE("a newer format version is refused, naming both versions") {
  ScratchDir tmp("io_robust_version");
  std::vector<uint8_t> b = read_bytes(save_sample(tmp));
  std::string path = tmp.file("v2.ember");
  put_le32(b, 8, 2);
  fix_header_crc(b);
  write_bytes(path, b);
  std::string err = load_error(path);
  CHECK(contains(err, "format version 2 is newer than this build of Ember supports (version 1)"));
  put_le32(b, 8, 0);
  fix_header_crc(b);
  write_bytes(path, b);
  CHECK(contains(load_error(path), "unsupported format version 0 (this build reads version 1)"));
}

TEST_CASE("duplicate keys are refused") {
  ScratchDir tmp("io_robust_dup");
  std::string path = tmp.file("dup.ember");
  save(Value::dict({{"key_a", 1}, {"key_b", 2}}), path);
  std::vector<uint8_t> b = read_bytes(path);
  size_t at = find_bytes(b, "key_b", 48);
  REQUIRE(at != std::string::npos);
  b[at + 4] = 'a';
  fix_header_crc(b);
  write_bytes(path, b);
  CHECK(contains(load_error(path), "duplicate key \"key_a\" in dict \"\""));

  // Inside a state dict, where the second tensor would otherwise shadow the first.
  save(Value::dict({{"sd", Value::dict({{"w1", from_vector<float>({1}, {1})}, {"w2", from_vector<float>({2}, {1})}})}}), path);
  b = read_bytes(path);
  at = find_bytes(b, std::string("\x02\x00\x00\x00w2", 6), 48);
  REQUIRE(at != std::string::npos);
  b[at + 5] = '1';
  fix_header_crc(b);
  write_bytes(path, b);
  CHECK(contains(load_error(path), "duplicate key \"w1\" in dict \"sd\""));
}

TEST_CASE("other lies behind a valid checksum are refused by name") {
  ScratchDir tmp("io_robust_lies");
  std::string good_path = save_sample(tmp);
  std::vector<uint8_t> good = read_bytes(good_path);
  std::string path = tmp.file("lie.ember");
  auto refused = [&](std::vector<uint8_t> b, const std::string& expected) {
    fix_header_crc(b);
    write_bytes(path, b);
    std::string err = load_error(path);
    INFO(err);
    CHECK(contains(err, expected));
  };
  EntryAt e = entry_fields(good, "model_state_dict/conv1.weight");
  auto b = good;
  b[e.dtype] = 9;
  refused(b, "unknown dtype code 9");
  b = good;
  b[e.dtype] = uint8_t(kFloat64);  // 6 float64 need 48 bytes, not 24
  refused(b, "does not match its byte length 24");
  b = good;
  b[e.device] = 7;
  refused(b, "unknown device type 7");
  b = good;
  put_le64(b, e.offset_field, le64(b, e.offset_field) + 64);
  refused(b, "expected " + std::to_string(le64(good, e.offset_field)));
  b = good;
  b[e.rank] = 65;
  refused(b, "rank 65 exceeds the limit of 64");
  b = good;
  b[find_bytes(b, "conv1.weight", 48) + 4] = 'X';  // the table's name no longer matches the tree
  refused(b, "is named \"model_state_dict/convX.weight\" but sits at \"model_state_dict/conv1.weight\"");
  b = good;
  put_le32(b, 12, 1);
  refused(b, "unknown flags 0x00000001");
  b = good;
  size_t list = find_bytes(b, std::string("history\x07", 8), 48);
  REQUIRE(list != std::string::npos);
  put_le32(b, list + 8, 0xffffffffu);
  refused(b, "list \"history\" claims 4294967295 items");
  b = good;
  b[list + 7] = 42;
  refused(b, "unknown value tag 42");

  // A bool tensor holding a byte that is not 0 or 1, with its checksum made to match.
  io::NativeReader reader(good_path);
  const io::TensorInfo* mask = nullptr;
  for (const auto& t : reader.tensors())
    if (t.name == "mask") mask = &t;
  REQUIRE(mask);
  b = good;
  b[mask->offset + 1] = 2;
  EntryAt m = entry_fields(good, "mask");
  put_le32(b, m.crc_field, uint32_t(crc32_z(0, b.data() + mask->offset, mask->nbytes)));
  refused(b, "tensor \"mask\" holds the byte 2 at element 1, not a bool");
}

TEST_CASE("random edits behind a repaired checksum: always a clean result or an ember::Error") {
  ScratchDir tmp("io_robust_mutate");
  std::vector<uint8_t> good = read_bytes(save_sample(tmp));
  uint64_t header_end = 48 + le64(good, 16);
  std::string path = tmp.file("mutant.ember");
  std::mt19937_64 rng(12345);
  int refused = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> b = good;
    int edits = 1 + int(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      size_t at = 48 + size_t(rng() % (header_end - 48));
      b[at] = rng() % 3 == 0 ? uint8_t(rng()) : uint8_t(b[at] ^ (1u << (rng() % 8)));
    }
    fix_header_crc(b);
    write_bytes(path, b);
    // Anything but an ember::Error escapes error_of and fails the test.
    refused += !load_error(path).empty();
  }
  CHECK(refused > 2500);
}

namespace {
void kill_after_first_chunk(uint64_t written) {
  if (written >= (uint64_t(4) << 20)) raise(SIGKILL);
}
}  // namespace

TEST_CASE("a save killed part-way leaves the previous file intact and loadable") {
  ScratchDir tmp("io_robust_kill");
  std::string path = tmp.file("ckpt.ember");
  Value old = sample();
  save(old, path);
  std::vector<uint8_t> before = read_bytes(path);

  // 64 MiB, built before fork(): the child must not start OpenMP work (the parent's thread pool
  // does not exist in the child). The child is killed (SIGKILL, no cleanup possible) after 4 MiB.
  Value big = Value::dict({{"epoch", 4}, {"big", zeros({16 << 20})}});
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    io::detail::set_write_hook(kill_after_first_chunk);
    save(big, path);
    _exit(3);  // not reached
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  // The old file is byte for byte what it was, and loads.
  CHECK(read_bytes(path) == before);
  Value back = load(path);
  CHECK(back.at("epoch").as_int() == 3);
  CHECK(back.at("model_state_dict").at("conv1.weight").as_tensor().to_vector<float>() ==
        std::vector<float>{1, 2, 3, 4, 5, 6});

  // The half-written temporary file is left beside it (a killed process cannot clean up), under a
  // name no one would take for the checkpoint, and readers refuse it by that name (its preamble,
  // written last, is missing too).
  std::vector<std::string> files = tmp.listing();
  REQUIRE(files.size() == 2);
  std::string temp = files[0] == "ckpt.ember" ? files[1] : files[0];
  CHECK(temp.rfind(".ckpt.ember.tmp-" + std::to_string(pid) + "-", 0) == 0);
  CHECK(std::filesystem::file_size(tmp.file(temp)) >= (uint64_t(4) << 20));
  CHECK(contains(load_error(tmp.file(temp)), "the temporary file of a save that did not finish"));

  // A later save still succeeds over it, and removes it: its process is gone.
  save(Value::dict({{"epoch", 5}}), path);
  CHECK(load(path).at("epoch").as_int() == 5);
  CHECK(tmp.listing() == std::vector<std::string>{"ckpt.ember"});
}
