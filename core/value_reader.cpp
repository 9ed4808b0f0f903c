#include "ember/core/value_reader.h"

#include <algorithm>
#include <cmath>

#include "ember/core/error.h"
#include "ember/core/options.h"
#include "ember/core/shape.h"

namespace ember {

ValueReader::ValueReader(const Value& value, std::string where) : ValueReader(value, std::move(where), Style()) {}

ValueReader::ValueReader(const Value& value, std::string where, Style style, std::string path)
    : value_(value), where_(std::move(where)), style_(std::move(style)), path_(std::move(path)) {}

namespace {
// The entry `part` of `node`: a dict's key, or a list's element by its decimal index; null if none.
const Value* step_into(const Value& node, const std::string& part) {
  if (node.is_dict()) return node.contains(part) ? &node.at(part) : nullptr;
  if (!node.is_list() || part.empty() || part.size() > 18 ||
      !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return nullptr;
  size_t i = size_t(std::stoull(part));
  return i < node.size() ? &node.at(i) : nullptr;
}

const Value* find(const Value& root, const std::string& key) {
  const Value* node = &root;
  for (size_t start = 0; node && start <= key.size();) {
    size_t slash = std::min(key.find('/', start), key.size());
    node = step_into(*node, key.substr(start, slash - start));
    start = slash + 1;
  }
  return node;
}
}  // namespace

bool ValueReader::has(const std::string& key) const { return find(value_, key) != nullptr; }

const Value& ValueReader::at(const std::string& key) const {
  const Value* v = find(value_, key);
  EMBER_CHECK(v, where_, style_.missing, label(key), style_.missing_after);
  return *v;
}

ValueReader ValueReader::child(const std::string& key) const {
  return ValueReader(dict(key), where_, style_, path_.empty() ? key : path_ + "/" + key);
}

std::string ValueReader::label(const std::string& key) const {
  return "\"" + (path_.empty() ? key : path_ + "/" + key) + "\"";
}

std::string ValueReader::label(const std::string& key, size_t i) const {
  if (style_.bracket_index) return label(key) + "[" + std::to_string(i) + "]";
  return label(key + "/" + std::to_string(i));
}

std::string ValueReader::found(const Value& v, Found how) {
  if (how != Found::Kind) {
    if (v.is_number()) return short_float(v.as_double());
    if (v.is_bool()) return v.as_bool() ? "true" : "false";
    if (how == Found::Quoted && v.is_string()) return "\"" + v.as_string() + "\"";
    if (how == Found::Value && v.is_tensor() && v.as_tensor().defined())
      return "a tensor of shape " + shape_str(v.as_tensor().shape());
  }
  return std::string("a ") + v.kind_name();
}

void ValueReader::fail(const std::string& label, const std::string& expected, const std::string& found) const {
  EMBER_FAIL(where_, label, " must be ", expected, ", found ", found);
}

double ValueReader::number(const std::string& key, double min) const {
  const Value& v = at(key);
  std::string expected = min > kNoMin ? "a number >= " + short_float(min) : "a number";
  if (!v.is_number()) fail(label(key), expected, found(v));
  double x = v.as_double();
  if (!(x >= min)) fail(label(key), expected, short_float(x));
  return x;
}

double ValueReader::number_in(const std::string& key, double lo, double hi, bool open_low) const {
  const Value& v = at(key);
  if (!v.is_number()) fail(label(key), "a number", found(v));
  double x = v.as_double();
  bool ok = std::isfinite(x) && (open_low ? x > lo : x >= lo) && x <= hi;
  // Streamed (not short_float): the checkpoint checks of train_mnist wrote their bounds this way.
  if (!ok) fail(label(key), detail::concat("a finite number ", open_low ? "> " : ">= ", lo, " and <= ", hi), detail::concat(x));
  return x;
}

int64_t ValueReader::integer(const std::string& key) const {
  const Value& v = at(key);
  if (!v.is_int()) fail(label(key), "an int", found(v));
  return v.as_int();
}

int64_t ValueReader::integer(const std::string& key, int64_t lo, int64_t hi) const {
  int64_t x = integer(key);
  EMBER_CHECK(x >= lo && x <= hi, where_, label(key), " must be in [", lo, ", ", hi, "], found ", x);
  return x;
}

int64_t ValueReader::integer_at_least(const std::string& key, int64_t min) const {
  const Value& v = at(key);
  if (!v.is_int() || v.as_int() < min) fail(label(key), "an int >= " + std::to_string(min), found(v));
  return v.as_int();
}

bool ValueReader::flag(const std::string& key) const {
  const Value& v = at(key);
  if (!v.is_bool()) fail(label(key), "a bool", found(v));
  return v.as_bool();
}

const std::string& ValueReader::one_of(const std::string& key, std::initializer_list<const char*> allowed) const {
  const Value& v = at(key);
  if (!v.is_string()) fail(label(key), "a string", found(v));
  for (const char* a : allowed)
    if (v.as_string() == a) return v.as_string();
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  fail(label(key), "one of " + list, "\"" + v.as_string() + "\"");
}

std::vector<double> ValueReader::numbers(const std::string& key, size_t count, const std::string& why) const {
  const Value& v = list(key);
  EMBER_CHECK(v.size() == count, where_, label(key), " has ", v.size(), " values, expected ", count, why);
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v.at(i).is_number()) fail(label(key, i), "a number", found(v.at(i)));
    out.push_back(v.at(i).as_double());
  }
  return out;
}

const Value& ValueReader::list(const std::string& key) const {
  const Value& v = at(key);
  if (!v.is_list()) fail(label(key), "a list", found(v));
  return v;
}

const Value& ValueReader::dict(const std::string& key) const {
  const Value& v = at(key);
  if (!v.is_dict()) fail(label(key), "a dict", found(v));
  return v;
}

}  // namespace ember
