#include "ember/core/generator.h"

#include <bit>

#include <cmath>
#include <numbers>

#include "ember/core/error.h"
#include "ember/core/value.h"
#include "ember/core/value_reader.h"

namespace ember {

std::array<uint32_t, 4> Generator::philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c0 = n0; c1 = uint32_t(p1); c2 = n2; c3 = uint32_t(p0);
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {c0, c1, c2, c3};
}

uint32_t Generator::next_u32() {
  uint64_t block = state_.offset / 4;
  if (block != cached_block_) {
    cache_ = philox(state_.seed, block);
    cached_block_ = block;
  }
  return cache_[state_.offset++ % 4];
}

double Generator::next_normal() {
  double u1 = next_double(), u2 = next_double();
  if (u1 < 1e-300) u1 = 1e-300;  // log(0) guard
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t Generator::next_below(uint64_t n) {
  uint64_t limit = ~0ULL - (~0ULL % n);  // reject the incomplete last bucket
  for (;;) {
    uint64_t v = next_u64();
    if (v < limit) return v % n;
  }
}

Generator& default_generator() {
  static Generator g;
  return g;
}

Value Generator::state_value(const GeneratorState& s) {
  return Value::dict({{"seed", std::bit_cast<int64_t>(s.seed)}, {"offset", std::bit_cast<int64_t>(s.offset)}});
}

GeneratorState Generator::state_from(const ValueReader& r) {
  return {std::bit_cast<uint64_t>(r.integer("seed")), std::bit_cast<uint64_t>(r.integer("offset"))};
}

Value Generator::state_dict() const { return state_value(state_); }

void Generator::load_state_dict(const Value& state) {
  EMBER_CHECK(state.is_dict(), "Generator.load_state_dict: expected a dict {seed, offset}, found a ", state.kind_name());
  set_state(state_from(ValueReader(state, "Generator.load_state_dict: ")));
}

}  // namespace ember
