#pragma once
// The value tree a checkpoint is: none, bool, int64, double, string, tensor, list, and dict with
// string keys in insertion order. A user builds {"epoch": 3, "model_state_dict": ..., "loss": 0.03}
// and saves it with ember::save, as with torch.save.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/ordered_dict.h"
#include "ember/core/tensor.h"

namespace ember {

class Value;
using StateDict = OrderedDict<Tensor>;  // a module's state: dotted name -> tensor

class Value {
 public:
  enum class Kind : uint8_t { None, Bool, Int, Double, String, Tensor, List, Dict };
  using List = std::vector<Value>;
  using Dict = OrderedDict<Value>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool v) : kind_(Kind::Bool), int_(v) {}
  Value(int v) : kind_(Kind::Int), int_(v) {}
  Value(int64_t v) : kind_(Kind::Int), int_(v) {}
  Value(uint64_t v);  // throws if it does not fit in int64
  Value(double v) : kind_(Kind::Double), double_(v) {}
  Value(const char* v) : kind_(Kind::String), string_(v) {}
  Value(std::string v) : kind_(Kind::String), string_(std::move(v)) {}
  Value(Tensor v) : kind_(Kind::Tensor), tensor_(std::move(v)) {}
  Value(List v) : kind_(Kind::List), list_(std::move(v)) {}
  Value(Dict v) : kind_(Kind::Dict), dict_(std::move(v)) {}
  Value(const StateDict& sd);  // a dict of tensors
  // Builds a dict: Value::dict({{"epoch", 3}, {"loss", 0.03}}).
  static Value dict(std::initializer_list<std::pair<std::string, Value>> items = {});
  static Value list(std::initializer_list<Value> items = {});

  Kind kind() const { return kind_; }
  const char* kind_name() const;
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_double() const { return kind_ == Kind::Double; }
  // An int, a double, or a 0-dim tensor of a numeric dtype (float32, float64, int64, uint8): what
  // as_double() may read. PyTorch saves `'loss': loss` as a 0-dim tensor, and a scheduler that ran
  // on a tensor learning rate keeps it one; both read here as the number they hold.
  bool is_number() const;
  bool is_string() const { return kind_ == Kind::String; }
  bool is_tensor() const { return kind_ == Kind::Tensor; }
  bool is_list() const { return kind_ == Kind::List; }
  bool is_dict() const { return kind_ == Kind::Dict; }

  // Typed access; a wrong kind throws "expected int, found string". A number converts to another
  // kind only where the conversion is exact, and a 0-dim tensor (on any device) reads as the number
  // it holds under the same rule:
  //   as_double(): a double; an int, or an int64/uint8 tensor, within +-2^53; a float32 or float64
  //                tensor (a float32 gives its own value: 0.1f reads as 0.10000000149011612, not 0.1);
  //   as_int():    an int; an int64/uint8 tensor; a double or a float tensor holding a whole number
  //                in int64's range (PyTorch's Adam keeps `step` as the float tensor 3.0);
  //   as_bool():   a bool or a 0-dim bool tensor (no number converts to bool).
  // Anything else throws, naming the value: "Value: 2.5 is not a whole number, found double".
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  const Tensor& as_tensor() const;
  const List& as_list() const;
  List& as_list();
  const Dict& as_dict() const;
  Dict& as_dict();
  // A dict whose values are all tensors, as a StateDict (throws naming the first non-tensor key).
  StateDict to_state_dict() const;

  // Dict helpers: operator[] inserts (turning a None into an empty dict); at() throws if missing.
  Value& operator[](const std::string& key);
  const Value& at(const std::string& key) const;
  bool contains(const std::string& key) const;
  // List helpers.
  const Value& at(size_t i) const;
  void push_back(Value v);
  size_t size() const;  // of a list or dict

 private:
  void expect(Kind k) const;

  Kind kind_ = Kind::None;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  Tensor tensor_;
  List list_;
  Dict dict_;
};

}  // namespace ember
