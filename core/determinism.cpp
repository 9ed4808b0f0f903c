#include "ember/core/determinism.h"

#include <atomic>

namespace ember {

namespace {
std::atomic<bool> g_deterministic{false};  // process-wide, as torch.use_deterministic_algorithms
}

void set_deterministic(bool on) { g_deterministic.store(on, std::memory_order_relaxed); }
bool deterministic() { return g_deterministic.load(std::memory_order_relaxed); }

}  // namespace ember
