// The checkpoint value tree: kinds, typed access and its errors, insertion order, nesting.
#include "helpers.h"
#include "ember/core/value.h"

using namespace ember;
using ember::test::error_of;

TEST_CASE("each constructor gives its kind") {
  CHECK(Value().is_none());
  CHECK(Value(nullptr).is_none());
  CHECK(Value(true).is_bool());
  CHECK(Value(3).is_int());
  CHECK(Value(int64_t(1) << 40).as_int() == int64_t(1) << 40);
  CHECK(Value(uint64_t(7)).as_int() == 7);
  CHECK(Value(0.25).is_double());
  CHECK(Value("text").is_string());
  CHECK(Value(std::string("text")).as_string() == "text");
  CHECK(Value(zeros({2})).is_tensor());
  CHECK(Value::list({1, 2}).is_list());
  CHECK(Value::dict({{"a", 1}}).is_dict());
  CHECK(Value(false).kind_name() == std::string("bool"));
  CHECK(Value::dict().kind_name() == std::string("dict"));
  CHECK(Value::dict().size() == 0);
  CHECK(Value::list().size() == 0);
}

TEST_CASE("typed access names the expected and the found kind") {
  Value s("hello");
  CHECK(error_of([&] { s.as_int(); }) == "Value: expected int, found string");
  CHECK(error_of([&] { Value(1).as_string(); }) == "Value: expected string, found int");
  CHECK(error_of([&] { Value(1.5).as_bool(); }) == "Value: expected bool, found double");
  CHECK(error_of([&] { Value().as_tensor(); }) == "Value: expected tensor, found none");
  CHECK(error_of([&] { Value(1).as_dict(); }) == "Value: expected dict, found int");
  CHECK(error_of([&] { Value(true).as_list(); }) == "Value: expected list, found bool");
  CHECK(error_of([&] { Value("x").as_double(); }) == "Value: expected double, found string");
  // An int is not a bool, nor a bool an int: a checkpoint's "epoch" must not silently become true.
  CHECK_FALSE(error_of([&] { Value(1).as_bool(); }).empty());
  CHECK_FALSE(error_of([&] { Value(true).as_int(); }).empty());
  CHECK(Value(3).as_double() == 3.0);  // ints widen to double
  CHECK(error_of([&] { Value(~uint64_t(0)); }).find("does not fit in int64") != std::string::npos);
  CHECK(error_of([&] { Value(5).size(); }).find("found int") != std::string::npos);
}

TEST_CASE("dicts keep insertion order and replace in place") {
  Value d = Value::dict({{"zeta", 1}, {"alpha", 2}});
  d["mid"] = 3;
  d["alpha"] = 20;  // replaced, keeps its position
  std::vector<std::string> keys = d.as_dict().keys();
  CHECK(keys == std::vector<std::string>{"zeta", "alpha", "mid"});
  CHECK(d.at("alpha").as_int() == 20);
  CHECK(d.contains("mid"));
  CHECK_FALSE(d.contains("nope"));
  CHECK(error_of([&] { d.at("nope"); }) == "Value: key \"nope\" not found");
  CHECK(error_of([] { Value::dict({{"a", 1}, {"a", 2}}); }).find("duplicate key \"a\"") != std::string::npos);
}

TEST_CASE("operator[] turns none into a dict; push_back turns none into a list") {
  Value v;
  v["epoch"] = 3;
  v["nested"]["deeper"] = "x";
  CHECK(v.is_dict());
  CHECK(v.at("nested").at("deeper").as_string() == "x");
  Value l;
  l.push_back(1);
  l.push_back("two");
  CHECK(l.is_list());
  CHECK(l.size() == 2);
  CHECK(l.at(1).as_string() == "two");
  CHECK(error_of([&] { l.at(size_t(2)); }) == "Value: list index 2 out of range for a list of size 2");
  Value i(5);
  CHECK(error_of([&] { i["k"]; }) == "Value: expected dict, found int");
  CHECK(error_of([&] { i.push_back(1); }) == "Value: expected list, found int");
}

TEST_CASE("a checkpoint tree as torch.save would take it") {
  StateDict model;
  model.insert("conv1.weight", ones({2, 1, 3, 3}));
  model.insert("conv1.bias", zeros({2}));
  Value ckpt = Value::dict({{"epoch", 3}, {"model_state_dict", model}, {"loss", 0.03},
                            {"history", Value::list({0.5, 0.2, Value::list({"nested"})})}});
  CHECK(ckpt.at("epoch").as_int() == 3);
  CHECK(ckpt.at("loss").as_double() == doctest::Approx(0.03));
  const Value& msd = ckpt.at("model_state_dict");
  CHECK(msd.as_dict().keys() == std::vector<std::string>{"conv1.weight", "conv1.bias"});
  CHECK(msd.at("conv1.weight").as_tensor().is_same(model.at("conv1.weight")));  // no copy
  CHECK(ckpt.at("history").at(2).at(0).as_string() == "nested");

  StateDict back = msd.to_state_dict();
  CHECK(back.keys() == model.keys());
  CHECK(back.at("conv1.bias").is_same(model.at("conv1.bias")));
  CHECK(error_of([&] { ckpt.to_state_dict(); }) == "to_state_dict: expected a tensor at key \"epoch\", found int");

  // Values are copied by value: changing the copy leaves the original alone.
  Value copy = ckpt;
  copy["epoch"] = 4;
  CHECK(ckpt.at("epoch").as_int() == 3);
  Value::List& items = copy["history"].as_list();
  items.push_back(Value());
  CHECK(ckpt.at("history").size() == 3);
  CHECK(copy.at("history").size() == 4);
}
