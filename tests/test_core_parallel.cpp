// The default thread count: one thread per core that other processes leave idle. CTest sets
// OMP_NUM_THREADS=2 for every suite; this one unsets it before Ember first looks, to see the
// default a user gets, so its first test case must stay first.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "ember/core/parallel.h"
#include "helpers.h"

using namespace ember;

namespace {

// `n` child processes that spin on a core each until the guard ends them.
struct Hogs {
  std::vector<pid_t> pids;
  explicit Hogs(int n) {
    for (int i = 0; i < n; ++i) {
      pid_t p = fork();
      REQUIRE(p >= 0);
      if (p == 0) {
        volatile unsigned long x = 0;
        for (;;) x = x + 1;  // no library calls in the child of a threaded process
      }
      pids.push_back(p);
    }
  }
  ~Hogs() {
    for (pid_t p : pids) kill(p, SIGKILL);
    for (pid_t p : pids) waitpid(p, nullptr, 0);
  }
};

// Calls adapt_num_threads() over `ms` milliseconds while this process itself stays idle.
void adapt_for(int ms) {
  for (int waited = 0; waited < ms; waited += 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    adapt_num_threads();
  }
}

}  // namespace

TEST_CASE("with every core busy elsewhere the default drops to one thread; a fixed count stays fixed") {
  unsetenv("OMP_NUM_THREADS");
  REQUIRE(num_threads_source() == "automatic");
  const int cores = std::max(1, int(std::thread::hardware_concurrency()));
  {
    Hogs hogs(cores);
    adapt_for(600);  // more than two measurement windows of 0.25 s
    CHECK(get_num_threads() == 1);

    set_num_threads(2);
    CHECK(num_threads_source() == "set_num_threads");
    adapt_for(300);
    CHECK(get_num_threads() == 2);  // the user's count wins over the load

    set_num_threads_automatic();
    CHECK(num_threads_automatic());
    adapt_for(600);
    CHECK(get_num_threads() == 1);
  }
}

TEST_CASE("threads_for_load: one thread per idle core, a partly busy core counted as busy") {
  using detail::threads_for_load;
  CHECK(threads_for_load(2, 0.0) == 2);
  CHECK(threads_for_load(2, 0.2) == 2);   // an editor, a shell: noise
  CHECK(threads_for_load(2, 0.67) == 1);  // one CPU-bound job sharing two cores with our two threads
  CHECK(threads_for_load(2, 1.0) == 1);
  CHECK(threads_for_load(2, 3.0) == 1);   // never fewer than one
  CHECK(threads_for_load(8, 2.7) == 5);
  CHECK(threads_for_load(8, 3.0) == 5);
  CHECK(threads_for_load(1, 0.0) == 1);
  CHECK(threads_for_load(4, -0.1) == 4);  // a measurement a jiffy off
}
