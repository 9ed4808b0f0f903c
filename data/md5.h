#pragma once
// MD5 (RFC 1321), to recognise the published dataset files by the digests their publishers list;
// not for security.
#include <cstddef>
#include <cstdint>
#include <string>

namespace ember::data {

class Md5 {
 public:
  Md5();
  void update(const void* data, size_t n);
  std::string hex_digest();  // 32 lowercase hex digits; ends the computation

 private:
  void block(const uint8_t* p);
  uint32_t h_[4];
  uint8_t buf_[64];
  uint64_t length_ = 0;  // bytes seen
};

std::string md5_hex(const void* data, size_t n);

}  // namespace ember::data
