#pragma once
// ValueReader: typed, range-checked reading of a value tree that came from a file (a state dict, a
// training checkpoint), one key at a time. Each read checks the entry's kind and range and throws
// ember::Error naming where the tree came from and the entry's path:
//
//   ValueReader r(ckpt, path + ": ");
//   int64_t epoch = r.integer("epoch", 0, 1 << 20);         // `ckpt.ember: "epoch" must be in [0, ...], found -1`
//   double lr = r.number_in("config/lr", 0, 1e6);           // a path reaches into nested dicts and lists
//   ValueReader dl = r.child("data_loader");                // names its entries "data_loader/batch"
//
// The optimizers, the schedulers, the data loader, the generator and the training checkpoint all
// read their state through it. Their messages predate it and differ in small ways (how a wrong value
// is named, how a list element and a missing key are written), so those are a Style.
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "ember/core/value.h"

namespace ember {

class ValueReader {
 public:
  // How a wrong entry is named after "found": by its kind ("found a string"), or by its value where
  // it has a short form ("found -0.5", "found true", "found a tensor of shape [2]"), or the same with
  // strings quoted ("found \"low\"") and tensors by kind.
  enum class Found { Kind, Value, Quoted };
  struct Style {
    Found found = Found::Kind;
    bool bracket_index = false;          // element i of "k" is "k"[i] (else "k/i")
    std::string missing = "missing ";    // `<where><missing>"k"<missing_after>`
    std::string missing_after;
  };

  // `where` starts every message and includes its separator ("SGD.load_state_dict: ", "ckpt.ember: ").
  ValueReader(const Value& value, std::string where);
  ValueReader(const Value& value, std::string where, Style style, std::string path = {});

  const Value& value() const { return value_; }
  const std::string& where() const { return where_; }
  const Style& style() const { return style_; }

  // `key` may be a path: "a/b/0" reaches dict entries and list elements (by index).
  bool has(const std::string& key) const;
  const Value& at(const std::string& key) const;  // throws the missing-key message
  // A reader of the dict at `key` whose messages name its entries by their whole path.
  ValueReader child(const std::string& key) const;

  // `"path/key"` as messages name it; label(key, i) names element i of the list at key.
  std::string label(const std::string& key) const;
  std::string label(const std::string& key, size_t i) const;
  // How the style names `v` after "found".
  std::string found(const Value& v) const { return found(v, style_.found); }
  static std::string found(const Value& v, Found how);
  // Throws `<where><label> must be <expected>, found <found>`.
  [[noreturn]] void fail(const std::string& label, const std::string& expected, const std::string& found) const;

  // A number (an int, a double, a 0-dim numeric tensor) not below `min` (NaN refused):
  // `"lr" must be a number >= 0, found -0.5` (without a min: `must be a number`).
  double number(const std::string& key, double min = kNoMin) const;
  // A finite number in [lo, hi] ((lo, hi] with open_low): first `must be a number, found a string`,
  // then `must be a finite number >= 0 and <= 1e+06, found inf`.
  double number_in(const std::string& key, double lo, double hi, bool open_low = false) const;
  // An int: `must be an int, found a string`; with a range, then `must be in [0, 10], found -1`.
  int64_t integer(const std::string& key) const;
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const;
  // An int not below `min`, one message for both faults: `"T_max" must be an int >= 1, found 0`.
  int64_t integer_at_least(const std::string& key, int64_t min) const;
  bool flag(const std::string& key) const;  // `must be a bool, found 1`
  // A string among `allowed`: `must be a string, found a double`, `must be one of sgd, adam, found "x"`.
  const std::string& one_of(const std::string& key, std::initializer_list<const char*> allowed) const;
  // A list of `count` numbers: `must be a list, found ...`, `has 3 values, expected 2<why>`,
  // `"k"[1] must be a number, found ...` (`why` explains the count, e.g. " (one per group)").
  std::vector<double> numbers(const std::string& key, size_t count, const std::string& why = {}) const;
  const Value& list(const std::string& key) const;  // `must be a list, found a dict`
  const Value& dict(const std::string& key) const;  // `must be a dict, found a list`

  static constexpr double kNoMin = std::numeric_limits<double>::lowest();

 private:
  const Value& value_;
  std::string where_;
  Style style_;
  std::string path_;  // of value_ in the tree messages name ("" at the top)
};

}  // namespace ember
