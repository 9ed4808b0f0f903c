#pragma once
// A counter-based random generator (Philox4x32-10). Its whole state is two integers, the seed and
// how many 32-bit draws have been taken, so it is saved and restored exactly (exact resume relies on
// it) and a GPU kernel can jump to any position without replaying the stream.
#include <array>
#include <cstdint>

namespace ember {

class Value;
class ValueReader;

struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // 32-bit values drawn so far
  bool operator==(const GeneratorState&) const = default;
};

class Generator {
 public:
  explicit Generator(uint64_t seed = 67280421310721ULL) { manual_seed(seed); }

  void manual_seed(uint64_t seed) { state_ = {seed, 0}; cached_block_ = ~0ULL; }
  uint64_t seed() const { return state_.seed; }
  GeneratorState state() const { return state_; }
  void set_state(const GeneratorState& s) { state_ = s; cached_block_ = ~0ULL; }
  // The state as a checkpoint's value tree, {"seed", "offset"}, each word as its int64 bit pattern
  // (the tree has no unsigned integers), and back; a wrong entry throws naming it.
  Value state_dict() const;
  void load_state_dict(const Value& state);
  // The same encoding for a state held elsewhere (a DataLoader's epoch start): state_value(s) is
  // what state_dict() writes, and state_from reads the dict `r` is over.
  static Value state_value(const GeneratorState& s);
  static GeneratorState state_from(const ValueReader& r);

  uint32_t next_u32();
  uint64_t next_u64() { uint64_t hi = next_u32(); return (hi << 32) | next_u32(); }
  // Uniform in [0, 1) with 24 (float) or 53 (double) random bits.
  float next_float() { return float(next_u32() >> 8) * 0x1.0p-24f; }
  double next_double() { return double(next_u64() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller, one value per two uniforms).
  double next_normal();
  // Uniform integer in [0, n), n > 0, without modulo bias.
  uint64_t next_below(uint64_t n);

  // The raw Philox block for counter `c` under key `seed`; exposed for kernels that draw in parallel.
  static std::array<uint32_t, 4> philox(uint64_t seed, uint64_t counter);

 private:
  GeneratorState state_;
  uint64_t cached_block_ = ~0ULL;
  std::array<uint32_t, 4> cache_{};
};

// The process-wide generator used when none is given (seed it with ember::manual_seed).
Generator& default_generator();
inline void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace ember
