// Every reader over every file of the hostile corpus (tests/hostile_corpus.h), each run in a child
// process under an address-space limit and a CPU-time limit, with a wall-clock deadline: a reader
// must end with a clear ember::Error on every damaged file and load every valid one, never with a
// signal, a hang, an allocation past the limit or another exception.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "ember/core/parallel.h"
#include "ember/data/idx.h"
#include "ember/io/interop/pth.h"
#include "ember/io/interop/serialize.h"
#include "hostile_corpus.h"

using namespace ember;
using namespace ember::test;
using namespace ember::test::hostile;

namespace ember::test::hostile {
namespace {

constexpr uint8_t kNone = 0, kInt = 3, kList = 7, kDict = 8;

std::string tag(uint8_t t) { return std::string(1, char(t)); }
std::string u32(uint64_t v) {
  std::string b;
  put(b, v, 4);
  return b;
}

void write(const std::string& path, const std::string& bytes) {
  write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Tensor floats(std::vector<float> v) { return from_vector(v, {int64_t(v.size())}); }

}  // namespace

std::vector<Case> write_hostile_corpus(const std::string& dir) {
  std::vector<Case> cases;
  // The large valid files go to "load" only: "verify" does a subset of its work on them.
  const std::vector<std::string> ckpt{"load", "verify"}, load{"load"}, all{"load", "verify", "idx"};
  auto add = [&](const std::string& name, const std::string& bytes, const std::vector<std::string>& readers, Expect e) {
    std::string file = dir + "/" + name;
    write(file, bytes);
    cases.push_back({name, file, readers, e});
  };

  // -- Stack exhaustion: nesting far past any limit.
  {
    std::string deep;
    for (int i = 0; i < 200000; ++i) deep += tag(kList) + u32(1);
    add("native_nested_200k.ember", native_file(deep + tag(kNone)), ckpt, Expect::Refused);
    std::string open(200000, '['), close(200000, ']');
    add("st_deep_metadata.safetensors", safetensors("{\"__metadata__\":" + open + close + "}"), ckpt, Expect::Refused);
    add("st_deep_shape.safetensors",
        safetensors("{\"t\":{\"dtype\":\"F32\",\"shape\":" + open + close + ",\"data_offsets\":[0,0]}}"), ckpt,
        Expect::Refused);
    add("st_deep_unknown_key.safetensors", safetensors("{\"x\":{\"y\":" + open + close + "}}"), ckpt, Expect::Refused);
  }

  // -- Quadratic time: valid files with many keys, long keys, or one key set many times.
  {
    std::string tree = tag(kDict) + u32(1000000);
    for (int i = 0; i < 1000000; ++i) tree += u32(7) + "k" + std::to_string(1000000 + i).substr(1) + tag(kNone);
    add("native_million_keys.ember", native_file(tree), load, Expect::Accepted);
    // 64 dicts nested, each key 128 KiB: every node's full path would be megabytes.
    std::string nested, key(128 << 10, 'k');
    for (int i = 0; i < 64; ++i) nested += tag(kDict) + u32(1) + u32(key.size()) + key;
    add("native_long_keys_deep.ember", native_file(nested + tag(kInt) + std::string(8, '\0')), load,
        Expect::Accepted);
  }
  {
    // One 256 KiB str key, memoised, set a million times in one dict: {"kkk...": None}. Hashing the
    // key at every SETITEM is 256 GB of work.
    std::string key(256 << 10, 'k');
    // PROTO 2, EMPTY_DICT, BINUNICODE key, BINPUT 0, POP, MARK, (BINGET 0, NONE) x 1e6, SETITEMS, STOP.
    std::string pkl = std::string("\x80\x02}X", 4) + u32(key.size()) + key + std::string("q\x00" "0(", 4);
    for (int i = 0; i < 1000000; ++i) pkl += std::string("h\x00N", 3);
    pkl += "u.";
    add("pth_same_key_million_times.pth", build_zip({{"archive/data.pkl", pkl}, {"archive/version", "3\n"}}), ckpt,
        Expect::Accepted);
  }
  {
    std::string h = "{";
    for (int i = 0; i < 200000; ++i)
      h += "\"t" + std::to_string(i) + "\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},";
    h.back() = '}';
    add("st_200k_empty_tensors.safetensors", safetensors(h), load, Expect::Accepted);
    std::string m = "{\"__metadata__\":{";
    for (int i = 0; i < 500000; ++i) m += "\"m" + std::to_string(i) + "\":\"v\",";
    m.back() = '}';
    add("st_500k_metadata_keys.safetensors", safetensors(m + "}"), load, Expect::Accepted);
  }

  // -- Memory out of proportion to the file.
  {
    // 100 nested lists, each claiming 8 million items: reserving them would take gigabytes.
    std::string lists;
    for (int i = 0; i < 100; ++i) lists += tag(kList) + u32(8000000);
    add("native_list_claims.ember", native_file(lists + std::string(8000000, char(kNone))), ckpt, Expect::Refused);
    // A deflated data.pkl of 4 million Nones in a list: a few KB of file.
    std::string pkl = std::string("\x80\x02(", 3) + std::string(4000000, 'N') + "l.";
    add("pth_deflated_pickle.pth",
        build_zip({{"archive/data.pkl", pkl, true}, {"archive/version", "3\n"}}), ckpt, Expect::Refused);
    // An IDX .gz: one valid 28x28 image, then 10 GiB more of zeros in a valid gzip stream.
    add("idx_gz_10gib_after_data.gz", gzip_with_zeros(idx_images(1, 28, 28), 10240), {"idx"}, Expect::Refused);
  }

  // -- Allocation before validation: a record declaring 4 GB, deflated from 3.9 MB that inflate
  // to far less (the stream ends, then padding).
  {
    std::string pkl;
    Tensor small = zeros({1}, kFloat32);
    pkl = io::pickle::pickle_value(Value::dict({{"t", Value(small)}}), [&](const std::string&, const Tensor&) {
      return io::pickle::StorageRecord{"0", 1000000000, 0, "cpu"};
    });
    std::string body = raw_deflate(std::string(1 << 16, '\0'));
    body += std::string(3900000 - body.size(), '\0');
    ZipItem rec{"archive/data/0", std::string(4, '\0'), true, body, 4000000000ull};
    add("pth_record_declares_4gb.pth", build_zip({{"archive/data.pkl", pkl}, rec, {"archive/version", "3\n"}}), ckpt,
        Expect::Refused);
  }

  // -- Damage the formats' own checks catch.
  {
    std::string img = idx_images(2, 28, 28), gz = gzip(img);
    gz[gz.size() / 2] = char(gz[gz.size() / 2] ^ 0x10);
    add("idx_gz_corrupt_middle.gz", gz, {"idx"}, Expect::Refused);
    std::string bad_crc = gzip(img);
    bad_crc[bad_crc.size() - 8] = char(bad_crc[bad_crc.size() - 8] ^ 1);
    add("idx_gz_bad_crc.gz", bad_crc, {"idx"}, Expect::Refused);

    auto items = pth_items(Value::dict({{"w", Value(floats({1, 2, 3, 4}))}}));
    auto trailing = items;
    trailing[2].deflate = true;
    trailing[2].compressed = raw_deflate(trailing[2].data) + std::string(5, 'x');
    add("pth_bytes_after_deflate_end.pth", build_zip(trailing), ckpt, Expect::Refused);

    // zip64 end records (right) whose entry counts the classic record contradicts.
    std::string z = build_zip(items);
    size_t end = z.size() - 22;
    std::string z64;
    put(z64, 0x06064b50, 4);
    put(z64, 44, 8);
    put(z64, 45, 2);
    put(z64, 45, 2);
    put(z64, 0, 4);
    put(z64, 0, 4);
    put(z64, items.size(), 8);
    put(z64, items.size(), 8);
    put(z64, uint64_t(uint8_t(z[end + 12])) | uint64_t(uint8_t(z[end + 13])) << 8, 8);
    put(z64, uint64_t(uint8_t(z[end + 16])) | uint64_t(uint8_t(z[end + 17])) << 8, 8);
    std::string loc;
    put(loc, 0x07064b50, 4);
    put(loc, 0, 4);
    put(loc, end, 8);
    put(loc, 1, 4);
    std::string classic = z.substr(end);
    classic.replace(16, 4, "\xff\xff\xff\xff");  // send the reader to the zip64 record
    classic[8] = classic[10] = char(items.size() - 1);     // whose counts the classic one contradicts
    add("pth_zip64_count_mismatch.pth", z.substr(0, end) + z64 + loc + classic, ckpt, Expect::Refused);

    Tensor b = from_vector(std::vector<uint8_t>{1}, {1}).to(kBool);
    auto bools = pth_items(Value::dict({{"b", Value(b)}}));
    bools[2].data = "\x07";
    add("pth_bool_byte_7.pth", build_zip(bools), ckpt, Expect::Refused);

    auto missing = pth_items(Value::dict({{"a", Value(floats({1}))}, {"b", Value(floats({2}))}}));
    missing.erase(missing.begin() + 3);  // archive/data/1
    add("pth_missing_record.pth", build_zip(missing), ckpt, Expect::Refused);

    for (const char* where : {"cuda:2147483648", "cuda:-1", "cuda:65535"})
      add(std::string("pth_location_") + (where + 5) + ".pth",
          build_zip(pth_items(Value::dict({{"w", Value(floats({1}))}}), where)), ckpt, Expect::Refused);

    add("st_zero_sized_then_gap.safetensors",
        safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"z1\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                    "\"z2\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                    std::string(12, '\0')),
        ckpt, Expect::Refused);
    add("st_zero_sized_past_end.safetensors",
        safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[64,64]}}",
                    std::string(4, '\0')),
        ckpt, Expect::Refused);

    // A native tensor on cuda:65535, checksum repaired.
    save(Value::dict({{"t", Value(floats({1, 2}))}}), dir + "/tmp_device.ember");
    std::vector<uint8_t> nb = read_bytes(dir + "/tmp_device.ember");
    size_t at = 48 + 4 + 4 + 1 + 1;  // tensor count, name "t", dtype: the device type
    nb[at] = 1;
    nb[at + 1] = 0xff;
    nb[at + 2] = 0xff;
    fix_header_crc(nb);
    add("native_cuda_65535.ember", str(nb), ckpt, Expect::Refused);
  }

  // -- One name, one tensor: {"": {"a": T1}, "a": T2} with both table entries named "a", as an
  // earlier Ember wrote it (T2 would load with T1's bytes).
  {
    std::string tree = tag(kDict) + u32(2) + u32(0) + tag(kDict) + u32(1) + u32(1) + "a" + tag(6) + u32(0) + u32(1) +
                       "a" + tag(6) + u32(1);
    add("native_two_tensors_named_a.ember", native_file(tree, {"a", "a"}), ckpt, Expect::Refused);
    std::string fine = tag(kDict) + u32(2) + u32(0) + tag(kDict) + u32(1) + u32(1) + "a" + tag(6) + u32(0) + u32(1) +
                       "a" + tag(6) + u32(1);
    add("native_empty_key_escaped.ember", native_file(fine, {"~2/a", "a"}), ckpt, Expect::Accepted);
  }

  // -- A temporary file of an interrupted save, however complete it looks.
  {
    add(".model.ember.tmp-4242-0", str(read_bytes(dir + "/tmp_device.ember")), ckpt, Expect::Refused);
    add("model.ember", str(read_bytes(dir + "/tmp_device.ember")), ckpt, Expect::Accepted);
  }

  // -- Odd paths: a FIFO, a folder, a device, an empty file, a missing file.
  {
    std::string fifo = dir + "/fifo";
    ::mkfifo(fifo.c_str(), 0600);
    cases.push_back({"fifo", fifo, all, Expect::Refused});
    std::string folder = dir + "/folder";
    ::mkdir(folder.c_str(), 0700);
    cases.push_back({"folder", folder, all, Expect::Refused});
    cases.push_back({"dev_zero", "/dev/zero", all, Expect::Refused});
    add("empty", "", all, Expect::Refused);
    cases.push_back({"missing", dir + "/missing", all, Expect::Refused});
  }
  return cases;
}

}  // namespace ember::test::hostile

namespace {

enum Outcome : int { kAccepted = 10, kRefused = 11, kOtherException = 12 };

// Runs one reader over one file in this (child) process and returns its outcome; the error's
// message goes to `why`.
int run_reader(const std::string& reader, const std::string& file, std::string& why) {
  try {
    if (reader == "load") {
      (void)ember::load(file, "cpu");
    } else if (reader == "verify") {
      auto r = io::open_checkpoint(file);
      for (size_t i = 0; i < r->tensors().size(); ++i)
        if (!(why = r->check_tensor(i)).empty()) return kRefused;
    } else {
      (void)data::read_idx(file, data::IdxKind::Images);
    }
    return kAccepted;
  } catch (const Error& e) {
    why = e.what();
    return kRefused;
  } catch (const std::exception& e) {
    why = e.what();
    return kOtherException;  // std::bad_alloc above all: an allocation past the limit
  }
}

struct Limits {
  uint64_t address_space = uint64_t(3) << 30;  // bytes
  int cpu_seconds = 10;       // the quadratic cases took minutes; the largest valid file takes ~2 s
  double wall_seconds = 60;   // only a hang (a FIFO opened for reading) comes near this
};

// "accepted", "refused", "other exception", "signal N", "timeout" or "exit N"; the reader's error
// message, if any, in `why`.
std::string run_in_child(const std::string& reader, const std::string& file, const Limits& lim, std::string& why) {
  std::fflush(nullptr);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    // The child dies of its signals as they come: the test framework's handlers stay out of it.
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) ::signal(sig, SIG_DFL);
#if !defined(__SANITIZE_ADDRESS__)
    rlimit as{lim.address_space, lim.address_space};
    ::setrlimit(RLIMIT_AS, &as);  // sanitizers reserve terabytes of address space: no limit there
#endif
    rlimit cpu{rlim_t(lim.cpu_seconds), rlim_t(lim.cpu_seconds)};
    ::setrlimit(RLIMIT_CPU, &cpu);
    set_num_threads(1);
    std::string message;
    int outcome = run_reader(reader, file, message);
    message = message.substr(0, 400);
    if (!message.empty() && ::write(pipe_fds[1], message.data(), message.size()) < 0) outcome = 99;
    ::_exit(outcome);
  }
  ::close(pipe_fds[1]);
  struct Reader {
    int fd;
    ~Reader() { ::close(fd); }
  } pipe_in{pipe_fds[0]};
  auto start = std::chrono::steady_clock::now();
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > lim.wall_seconds) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return "timeout";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  char buf[512];
  ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
  why.assign(buf, n > 0 ? size_t(n) : 0);
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  switch (WEXITSTATUS(status)) {
    case kAccepted: return "accepted";
    case kRefused: return "refused";
    case kOtherException: return "other exception";
    default: return "exit " + std::to_string(WEXITSTATUS(status));
  }
}

}  // namespace

TEST_CASE("every reader over the hostile corpus: a clear error or a load, in bounded time and memory") {
  ScratchDir dir("hostile");
  // EMBER_HOSTILE_KEEP=FOLDER writes the corpus there and leaves it, to run other programs over it.
  const char* keep = std::getenv("EMBER_HOSTILE_KEEP");
  if (keep) std::filesystem::create_directories(keep);
  auto begin = std::chrono::steady_clock::now();
  std::vector<Case> cases = write_hostile_corpus(keep ? std::string(keep) : dir.dir.string());
  MESSAGE("corpus written in ", std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count(), " s");
  std::string slow;
  Limits lim;
  int failures = 0;
  for (const Case& c : cases) {
    for (const std::string& reader : c.readers) {
      auto start = std::chrono::steady_clock::now();
      std::string why;
      std::string got = run_in_child(reader, c.file, lim, why);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::string want = c.expect == Expect::Accepted ? "accepted" : "refused";
      if (secs > 0.5) slow += " " + c.name + "/" + reader + " " + std::to_string(secs) + " s;";
      if (got != want) ++failures;
      if (std::getenv("EMBER_HOSTILE_VERBOSE")) MESSAGE(c.name, " via ", reader, ": ", got, " in ", secs, " s: ", why);
      CHECK_MESSAGE(got == want, c.name, " via ", reader, ": ", got, " (expected ", want, ") after ", secs, " s: ", why);
      // A refusal says what is wrong, naming the file (or what it is).
      if (got == "refused" && reader != "verify") {
        bool named = why.find(c.file) != std::string::npos;
        CHECK_MESSAGE(named, c.name, ": ", why);
      }
    }
  }
  MESSAGE(cases.size(), " files, ", failures, " failures; slowest:", slow);
}
