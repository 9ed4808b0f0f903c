#include "ember/core/parallel.h"

#include <omp.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "ember/core/error.h"

namespace ember {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kInterval = std::chrono::milliseconds(250);

// Jiffies of the CPUs this process may run on: all of them, and the busy part (not idle or iowait);
// this process's own user + system time. Zero totals where /proc is unreadable.
struct CpuTimes {
  double total = 0, busy = 0, self = 0;
  int cpus = 0;
};

CpuTimes read_cpu_times() {
  CpuTimes t;
  cpu_set_t mask;
  CPU_ZERO(&mask);
  bool have_mask = sched_getaffinity(0, sizeof mask, &mask) == 0;
  std::ifstream stat("/proc/stat");
  std::string line;
  while (std::getline(stat, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || !std::isdigit(static_cast<unsigned char>(line[3]))) continue;
    std::istringstream in(line.substr(3));
    int cpu = -1;
    in >> cpu;
    if (have_mask && (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &mask))) continue;
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    double v[8] = {};
    for (double& x : v) in >> x;
    if (!in) continue;
    double all = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    t.total += all;
    t.busy += all - v[3] - v[4];
    ++t.cpus;
  }
  std::ifstream self("/proc/self/stat");
  std::string s((std::istreambuf_iterator<char>(self)), std::istreambuf_iterator<char>());
  // Fields after the command name "(...)", which may hold spaces: state is field 3, utime 14, stime 15.
  if (auto close = s.rfind(')'); close != std::string::npos) {
    std::istringstream in(s.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) stime = std::atof(field.c_str());
    }
    t.self = utime + stime;  // clock ticks, the same USER_HZ unit as /proc/stat
  }
  return t;
}

// Runnable tasks right now, from /proc/stat's procs_running (this thread included); -1 if unknown.
int procs_running() {
  std::ifstream stat("/proc/stat");
  std::string key;
  long v;
  while (stat >> key) {
    if (key == "procs_running" && stat >> v) return int(v);
    stat.ignore(1 << 20, '\n');
  }
  return -1;
}

struct State {
  std::mutex mutex;
  bool initialised = false;
  std::string source = "automatic";
  int cores = 1;
  CpuTimes last;
  Clock::time_point last_at;
};

State& state() {
  static State s;
  return s;
}

// First use: the source of the count, and in automatic mode a first count from the tasks running now
// (the median of five looks 2 ms apart, so one short-lived compiler process does not decide it).
void init_locked(State& s) {
  if (s.initialised) return;
  s.initialised = true;
  s.cores = std::max(1, omp_get_num_procs());
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env && *env) {
    s.source = "OMP_NUM_THREADS";
    return;
  }
  s.last = read_cpu_times();
  s.last_at = Clock::now();
  if (s.last.total == 0) {
    s.source = "all cores (no /proc/stat)";
    return;
  }
  std::vector<int> running;
  for (int i = 0; i < 5; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    running.push_back(procs_running());
  }
  std::sort(running.begin(), running.end());
  if (running[2] >= 1) omp_set_num_threads(detail::threads_for_load(s.cores, double(running[2] - 1)));
}

}  // namespace

namespace detail {
int threads_for_load(int cores, double others_busy) {
  double idle = double(cores) - std::max(0.0, others_busy);
  return std::clamp(int(std::floor(idle + 0.35)), 1, std::max(1, cores));
}
}  // namespace detail

void set_num_threads(int n) {
  EMBER_CHECK(n >= 1, "set_num_threads: expected at least 1 thread, found ", n);
  State& s = state();
  std::lock_guard lock(s.mutex);
  init_locked(s);
  s.source = "set_num_threads";
  omp_set_num_threads(n);
}

int get_num_threads() {
  State& s = state();
  {
    std::lock_guard lock(s.mutex);
    init_locked(s);
  }
  return omp_get_max_threads();
}

std::string num_threads_source() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  init_locked(s);
  return s.source;
}

bool num_threads_automatic() { return num_threads_source() == "automatic"; }

void set_num_threads_automatic() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  init_locked(s);
  if (s.source != "set_num_threads" || std::getenv("OMP_NUM_THREADS")) return;
  s.source = "automatic";
  s.last = read_cpu_times();
  s.last_at = Clock::now();
  omp_set_num_threads(s.cores);
}

void adapt_num_threads() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  init_locked(s);
  if (s.source != "automatic" || omp_in_parallel()) return;
  Clock::time_point now = Clock::now();
  if (now - s.last_at < kInterval) return;
  CpuTimes t = read_cpu_times();
  CpuTimes d{t.total - s.last.total, t.busy - s.last.busy, t.self - s.last.self, t.cpus};
  s.last = t;
  s.last_at = now;
  if (d.total <= 0 || t.cpus <= 0) return;
  // d.total / cpus is the window's length in jiffies; others' busy jiffies over it are busy cores.
  double others = (d.busy - d.self) / (d.total / double(t.cpus));
  int n = detail::threads_for_load(std::min(s.cores, t.cpus), others);
  if (n != omp_get_max_threads()) omp_set_num_threads(n);
}

}  // namespace ember
