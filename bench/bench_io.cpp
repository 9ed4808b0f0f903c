// Saving and loading a 384 MiB state dict (24 float32 tensors of 2048x2048) with ember::save and
// ember::load; bench/bench_io.py does the same with torch.save/torch.load, bench/run_io.sh runs both.
//   bench-io [--dir DIR] [--warmup N] [--repeats N] [--tensors N] [--size N]
//   bench-io --load-only FILE     (one load, then its peak RSS: run in a fresh process)
// Prints one "name seconds" line per measurement, for run_io.sh to collect. Each timed step starts
// after sync(), so that no earlier write is still on its way to the disk. "disk_direct" is what the
// disk itself takes for as many bytes: written with O_DIRECT (no page cache), four writes in flight,
// and fsynced; no format, no checksums.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ember/io/format.h"
#include "ember/io/interop/serialize.h"

using namespace ember;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

long max_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

long current_rss_kib() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Writes `n` bytes with O_DIRECT in 8 MiB blocks from 4 threads (so the disk always has several
// writes queued), then fsyncs; negative where O_DIRECT is refused.
double disk_direct(const std::string& path, const uint8_t* aligned, size_t n) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  constexpr size_t kBlock = size_t(8) << 20;
  std::atomic<size_t> next{0};
  std::atomic<bool> ok{true};
  double t0 = now();
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&] {
      for (size_t at; ok && (at = next.fetch_add(kBlock)) < n;)
        if (::pwrite(fd, aligned, kBlock, off_t(at)) != ssize_t(kBlock)) ok = false;
    });
  for (auto& w : writers) w.join();
  ok = ok && ::fsync(fd) == 0;
  double t = now() - t0;
  ::close(fd);
  ::unlink(path.c_str());
  return ok ? t : -1;
}

int usage() {
  std::fprintf(stderr, "usage: bench-io [--dir DIR] [--warmup N] [--repeats N] [--tensors N] [--size N] | --load-only FILE\n");
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".", load_only;
  int warmup = 0, repeats = 3, count = 24;
  int64_t size = 2048;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--dir") dir = argv[++i];
    else if (a == "--warmup") warmup = std::stoi(argv[++i]);
    else if (a == "--repeats") repeats = std::stoi(argv[++i]);
    else if (a == "--tensors") count = std::stoi(argv[++i]);
    else if (a == "--size") size = std::stoll(argv[++i]);
    else if (a == "--load-only") load_only = argv[++i];
    else return usage();
  }
  try {
    if (!load_only.empty()) {
      ::sync();
      long base = current_rss_kib();
      double t0 = now();
      Value v = load(load_only);
      double t1 = now();
      std::printf("load_only %.4f\n", t1 - t0);
      std::printf("baseline_rss_kib %ld\npeak_rss_kib %ld\nfile_kib %ld\n", base, max_rss_kib(),
                  long(std::filesystem::file_size(load_only) / 1024));
      return 0;
    }

    StateDict sd;
    Generator gen(0);
    for (int i = 0; i < count; ++i) sd.insert("layer" + std::to_string(i) + ".weight", randn({size, size}, gen));
    Value value(sd);
    double mib = double(count) * double(size * size * 4) / (1 << 20);
    std::printf("# %d float32 tensors of %lldx%lld, %.0f MiB, in %s\n", count, (long long)size, (long long)size, mib,
                dir.c_str());
    std::string path = dir + "/bench_io.ember";
    size_t data_bytes = size_t(count) * size_t(size * size * 4) / (size_t(8) << 20) * (size_t(8) << 20);
    void* block = std::aligned_alloc(4096, size_t(8) << 20);
    std::memset(block, 0x5a, size_t(8) << 20);
    for (int r = 0; r < warmup + repeats; ++r) {
      // Each step timed on its own: returns how long f took.
      auto timed = [](auto&& f) {
        ::sync();
        double t0 = now();
        f();
        return now() - t0;
      };
      std::filesystem::remove(path);
      double save_nosync = timed([&] { io::write_native(value, path, io::WriteOptions{.sync = false}); });
      std::filesystem::remove(path);
      double save_sync = timed([&] { save(value, path); });  // the real thing: fsync of the file and its folder
      Value back;
      double load_time = timed([&] { back = load(path); });
      back = Value();
      ::sync();
      double direct = disk_direct(dir + "/bench_io.direct", static_cast<const uint8_t*>(block), data_bytes);
      if (r < warmup) continue;  // untimed rounds: the first writes of a process meet cold memory
      std::printf("save_nosync %.4f\nsave %.4f\nload %.4f\n", save_nosync, save_sync, load_time);
      if (direct >= 0) std::printf("disk_direct %.4f\n", direct);
      std::fflush(stdout);
    }
    // Leave the file for --load-only; run_io.sh removes it.
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "bench-io: %s\n", e.what());
    return 1;
  }
}
