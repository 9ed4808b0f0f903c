#pragma once
// ember::Error and EMBER_CHECK: the one way the library reports bad input.
#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

// Visible by default so that an Error thrown in the CUDA module (built with hidden symbols) is
// caught as ember::Error by the program.
class __attribute__((visibility("default"))) Error : public std::runtime_error {
 public:
  Error(const std::string& message, const char* file, int line)
      : std::runtime_error(message), where_(std::string(file) + ":" + std::to_string(line)) {}
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  // Source location of the check that threw ("core/ops/conv.cpp:42"), empty if none.
  const std::string& where() const { return where_; }

 private:
  std::string where_;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace ember

// EMBER_CHECK(cond, "parts", value, ...): throws ember::Error with the parts streamed together.
#define EMBER_CHECK(cond, ...)                                                        \
  do {                                                                                \
    if (!(cond)) throw ::ember::Error(::ember::detail::concat(__VA_ARGS__), __FILE__, __LINE__); \
  } while (0)

#define EMBER_FAIL(...) throw ::ember::Error(::ember::detail::concat(__VA_ARGS__), __FILE__, __LINE__)
