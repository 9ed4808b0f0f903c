#include "ember/core/value.h"

#include <cmath>
#include <limits>
#include <sstream>

namespace ember {

namespace {
const char* kind_str(Value::Kind k) {
  switch (k) {
    case Value::Kind::None: return "none";
    case Value::Kind::Bool: return "bool";
    case Value::Kind::Int: return "int";
    case Value::Kind::Double: return "double";
    case Value::Kind::String: return "string";
    case Value::Kind::Tensor: return "tensor";
    case Value::Kind::List: return "list";
    case Value::Kind::Dict: return "dict";
  }
  return "unknown";
}
}  // namespace

Value::Value(uint64_t v) : kind_(Kind::Int) {
  EMBER_CHECK(v <= uint64_t(std::numeric_limits<int64_t>::max()), "Value: integer ", v,
              " does not fit in int64");
  int_ = int64_t(v);
}

Value::Value(const StateDict& sd) : kind_(Kind::Dict) {
  // A StateDict's keys are unique already.
  for (const auto& [key, tensor] : sd) dict_.append_unchecked(key, Value(tensor));
}

Value Value::dict(std::initializer_list<std::pair<std::string, Value>> items) {
  Dict d;
  for (const auto& [key, value] : items) {
    EMBER_CHECK(!d.contains(key), "Value::dict: duplicate key \"", key, "\"");
    d.insert(key, value);
  }
  return Value(std::move(d));
}

Value Value::list(std::initializer_list<Value> items) { return Value(List(items)); }

const char* Value::kind_name() const { return kind_str(kind_); }

void Value::expect(Kind k) const {
  EMBER_CHECK(kind_ == k, "Value: expected ", kind_str(k), ", found ", kind_str(kind_));
}

namespace {
constexpr int64_t kExactIntInDouble = int64_t(1) << 53;  // every int of at most this size is a double exactly

bool is_scalar_tensor(const Tensor& t) { return t.defined() && t.dim() == 0; }

// The value of a 0-dim tensor, read on the host: as an int64 for integer dtypes, else as a double.
struct Scalar {
  bool integral = false;
  int64_t i = 0;
  double d = 0;
};
Scalar scalar_of(const Tensor& t) {
  Tensor c = t.to(kCPU);
  Scalar s;
  switch (c.dtype()) {
    case kInt64: s.integral = true; s.i = c.data<int64_t>()[0]; break;
    case kUInt8: s.integral = true; s.i = c.data<uint8_t>()[0]; break;
    case kBool: s.integral = true; s.i = c.data<bool>()[0] ? 1 : 0; break;
    case kFloat32: s.d = c.data<float>()[0]; break;
    case kFloat64: s.d = c.data<double>()[0]; break;
  }
  return s;
}

std::string number_str(double d) {
  std::ostringstream os;
  os.precision(17);
  os << d;
  return os.str();
}

// A double holding a whole number within int64's range, as that int; throws otherwise.
int64_t whole(double d, const char* found) {
  EMBER_CHECK(std::isfinite(d) && std::floor(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0,
              "Value: expected int, found ", found, " ", number_str(d), " (not a whole number in int64's range)");
  return int64_t(d);
}

double exact_double(int64_t i, const char* found) {
  EMBER_CHECK(i >= -kExactIntInDouble && i <= kExactIntInDouble, "Value: expected double, found ", found, " ", i,
              ", which no double holds exactly (beyond 2^53)");
  return double(i);
}
}  // namespace

bool Value::is_number() const {
  if (is_int() || is_double()) return true;
  return kind_ == Kind::Tensor && is_scalar_tensor(tensor_) && tensor_.dtype() != kBool;
}

bool Value::as_bool() const {
  if (kind_ == Kind::Tensor && is_scalar_tensor(tensor_) && tensor_.dtype() == kBool) return scalar_of(tensor_).i != 0;
  expect(Kind::Bool);
  return int_ != 0;
}

int64_t Value::as_int() const {
  if (kind_ == Kind::Double) return whole(double_, "double");
  if (kind_ == Kind::Tensor && is_scalar_tensor(tensor_) && tensor_.dtype() != kBool) {
    Scalar s = scalar_of(tensor_);
    return s.integral ? s.i : whole(s.d, "a 0-dim tensor holding");
  }
  expect(Kind::Int);
  return int_;
}

double Value::as_double() const {
  if (kind_ == Kind::Int) return exact_double(int_, "int");
  if (kind_ == Kind::Tensor && is_scalar_tensor(tensor_) && tensor_.dtype() != kBool) {
    Scalar s = scalar_of(tensor_);
    return s.integral ? exact_double(s.i, "a 0-dim tensor holding") : s.d;
  }
  if (kind_ == Kind::Tensor)
    EMBER_CHECK(!tensor_.defined() || tensor_.dim() == 0, "Value: expected double, found a tensor of shape ",
                shape_str(tensor_.shape()), " (only a 0-dim tensor reads as a number)");
  EMBER_CHECK(kind_ == Kind::Double, "Value: expected double, found ", kind_str(kind_));
  return double_;
}

const std::string& Value::as_string() const {
  expect(Kind::String);
  return string_;
}

const Tensor& Value::as_tensor() const {
  expect(Kind::Tensor);
  return tensor_;
}

const Value::List& Value::as_list() const {
  expect(Kind::List);
  return list_;
}

Value::List& Value::as_list() {
  expect(Kind::List);
  return list_;
}

const Value::Dict& Value::as_dict() const {
  expect(Kind::Dict);
  return dict_;
}

Value::Dict& Value::as_dict() {
  expect(Kind::Dict);
  return dict_;
}

StateDict Value::to_state_dict() const {
  expect(Kind::Dict);
  StateDict sd;
  for (const auto& [key, value] : dict_) {
    EMBER_CHECK(value.is_tensor(), "to_state_dict: expected a tensor at key \"", key, "\", found ",
                value.kind_name());
    sd.insert(key, value.tensor_);
  }
  return sd;
}

Value& Value::operator[](const std::string& key) {
  if (kind_ == Kind::None) kind_ = Kind::Dict;
  expect(Kind::Dict);
  return dict_[key];
}

const Value& Value::at(const std::string& key) const {
  expect(Kind::Dict);
  const Value* v = dict_.find(key);
  EMBER_CHECK(v, "Value: key \"", key, "\" not found");
  return *v;
}

bool Value::contains(const std::string& key) const {
  expect(Kind::Dict);
  return dict_.contains(key);
}

const Value& Value::at(size_t i) const {
  expect(Kind::List);
  EMBER_CHECK(i < list_.size(), "Value: list index ", i, " out of range for a list of size ",
              list_.size());
  return list_[i];
}

void Value::push_back(Value v) {
  if (kind_ == Kind::None) kind_ = Kind::List;
  expect(Kind::List);
  list_.push_back(std::move(v));
}

size_t Value::size() const {
  if (kind_ == Kind::List) return list_.size();
  if (kind_ == Kind::Dict) return dict_.size();
  EMBER_FAIL("Value: size() needs a list or dict, found ", kind_str(kind_));
}

}  // namespace ember
