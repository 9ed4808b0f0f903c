#pragma once
// Bytes from a file, shown in error messages: untrusted names escaped and cut short, checksums in hex.
#include <cstdint>
#include <cstdio>
#include <string>

namespace ember::io {

// Printable ASCII kept, every other byte as \xNN; at most `limit` bytes, then "...".
inline std::string printable(const std::string& s, size_t limit = 80) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > limit) out += "...";
  return out;
}

// "an int", "a dict": a noun with its indefinite article (vowel-initial words take "an").
inline std::string a_or_an(const std::string& noun) {
  bool vowel = !noun.empty() && std::string("aeiou").find(noun[0]) != std::string::npos;
  return (vowel ? "an " : "a ") + noun;
}

// "1 tensor", "2 tensors"; "1 entry", "2 entries" with the plural given.
inline std::string count_of(uint64_t n, const std::string& noun, const std::string& plural = "") {
  return std::to_string(n) + " " + (n == 1 ? noun : plural.empty() ? noun + "s" : plural);
}

// A CRC32 as "0x" and eight lowercase hex digits.
inline std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace ember::io
