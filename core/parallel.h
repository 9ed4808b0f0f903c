#pragma once
// Threads for the CPU kernels (OpenMP underneath). Both cores by default.
#include <cstdint>

namespace ember {

void set_num_threads(int n);  // n >= 1
int get_num_threads();

}  // namespace ember
