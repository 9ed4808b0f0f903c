#pragma once
// Threads for the CPU kernels (OpenMP underneath).
//
// By default the count follows the machine: one thread per core that other processes leave idle,
// at least one. An OpenMP region ends when its slowest thread does, and a thread on a core that
// another process holds waits for the scheduler, not for work: on a 2-core machine with two other
// CPU-bound jobs an MNIST epoch took 23-30 s on both cores and 4.6 s on one. The idle cores are
// measured from /proc/stat (everyone's busy time less this process's own), at most every 0.25 s
// when adapt_num_threads() is called; backward() calls it, so a training loop adapts by itself.
// Where /proc is absent (not Linux) the default stays at all cores.
//
// set_num_threads(n) fixes the count, and so does OMP_NUM_THREADS in the environment.
#include <string>

namespace ember {

void set_num_threads(int n);  // n >= 1; fixes the count from now on
int get_num_threads();

// Where the count comes from: "automatic", "OMP_NUM_THREADS" or "set_num_threads".
std::string num_threads_source();
bool num_threads_automatic();
// Back to the automatic count (unless OMP_NUM_THREADS is set, which still wins).
void set_num_threads_automatic();
// In automatic mode, re-measures the idle cores when the last measurement is 0.25 s old and
// changes the count if it should. Cheap (one clock read) between measurements.
void adapt_num_threads();

namespace detail {
// The count for `cores` usable cores when other processes keep `others_busy` cores busy (a
// measured average, e.g. 0.67). Rounds against a partly busy core: sharing a core costs a
// region up to a scheduler time slice, while leaving one idle costs at most its share.
int threads_for_load(int cores, double others_busy);
}  // namespace detail

}  // namespace ember
