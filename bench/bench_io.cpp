// Saving and loading a 384 MiB state dict (24 float32 tensors of 2048x2048) with ember::save and
// ember::load; bench/bench_io.py does the same with torch.save/torch.load, bench/run_io.sh runs both.
//   bench-io [--dir DIR] [--repeats N] [--tensors N] [--size N]
//   bench-io --load-only FILE     (one load, then its peak RSS: run in a fresh process)
// Prints one "name seconds" line per measurement, for run_io.sh to collect.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io/format.h"
#include "io/serialize.h"

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

int usage() {
  std::fprintf(stderr, "usage: bench-io [--dir DIR] [--repeats N] [--tensors N] [--size N] | --load-only FILE\n");
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".", load_only;
  int repeats = 3, count = 24;
  int64_t size = 2048;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--dir") dir = argv[++i];
    else if (a == "--repeats") repeats = std::stoi(argv[++i]);
    else if (a == "--tensors") count = std::stoi(argv[++i]);
    else if (a == "--size") size = std::stoll(argv[++i]);
    else if (a == "--load-only") load_only = argv[++i];
    else return usage();
  }
  try {
    if (!load_only.empty()) {
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
    for (int r = 0; r < repeats; ++r) {
      std::filesystem::remove(path);
      double t0 = now();
      io::write_native(value, path, io::WriteOptions{.sync = false});
      double t1 = now();
      std::filesystem::remove(path);
      double t2 = now();
      save(value, path);  // the real thing: fsync of the file and its folder
      double t3 = now();
      Value back = load(path);
      double t4 = now();
      back = Value();
      std::printf("save_nosync %.4f\nsave %.4f\nload %.4f\n", t1 - t0, t3 - t2, t4 - t3);
      std::fflush(stdout);
    }
    // Leave the file for --load-only; run_io.sh removes it.
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "bench-io: %s\n", e.what());
    return 1;
  }
}
