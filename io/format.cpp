// Shared by the native reader and writer: little-endian encoding, alignment and checked arithmetic.
#include "ember/io/format_detail.h"

#include <cstring>

namespace ember::io::detail {

bool checked_add(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_add_overflow(a, b, out); }
bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

bool align_up(uint64_t x, uint64_t* out) {
  uint64_t y;
  if (!checked_add(x, kAlignment - 1, &y)) return false;
  *out = y & ~(kAlignment - 1);
  return true;
}

void Encoder::u8(uint8_t v) { buf.push_back(v); }
void Encoder::u16(uint16_t v) {
  for (int i = 0; i < 2; ++i) buf.push_back(uint8_t(v >> (8 * i)));
}
void Encoder::u32(uint32_t v) {
  for (int i = 0; i < 4; ++i) buf.push_back(uint8_t(v >> (8 * i)));
}
void Encoder::u64(uint64_t v) {
  for (int i = 0; i < 8; ++i) buf.push_back(uint8_t(v >> (8 * i)));
}
void Encoder::f64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  u64(bits);
}
void Encoder::str(const std::string& s) {
  u32(uint32_t(s.size()));
  buf.insert(buf.end(), s.begin(), s.end());
}

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(p[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

void Decoder::need(size_t k, const char* what) {
  EMBER_CHECK(k <= size - pos, file, ": header ends inside ", what, " at header byte ", pos, " (", k,
              " bytes needed, ", size - pos, " left)");
}
uint8_t Decoder::u8(const char* what) {
  need(1, what);
  return data[pos++];
}
uint16_t Decoder::u16(const char* what) {
  need(2, what);
  uint16_t v = uint16_t(data[pos] | (data[pos + 1] << 8));
  pos += 2;
  return v;
}
uint32_t Decoder::u32(const char* what) {
  need(4, what);
  uint32_t v = get_u32(data + pos);
  pos += 4;
  return v;
}
uint64_t Decoder::u64(const char* what) {
  need(8, what);
  uint64_t v = get_u64(data + pos);
  pos += 8;
  return v;
}
double Decoder::f64(const char* what) {
  uint64_t bits = u64(what);
  double v;
  std::memcpy(&v, &bits, 8);
  return v;
}
std::string Decoder::str(const char* what) {
  uint32_t n = u32(what);
  need(n, what);
  std::string s(reinterpret_cast<const char*>(data + pos), n);
  pos += n;
  return s;
}

}  // namespace ember::io::detail
