// Adam, AdamW, RMSprop and Adagrad against PyTorch trajectories (fixtures/optim.json,
// tests/reference/gen_optim.py): 25 steps of a small linear regression for every option, two
// parameter groups with their own options, float64 (the rule, tightly) and float32; the state dict
// at the end against PyTorch's (names, steps, tensors, group keys). Then: bad input (another
// optimizer's state dict, wrong shapes, bad rates and betas) refused naming the key and changing
// nothing, "step" read in every form PyTorch writes, exact resume, and clip_grad_norm_/value_.
#include <cmath>
#include <memory>

#include "optim_helpers.h"
#include "ember/optim/adam.h"
#include "ember/optim/adagrad.h"
#include "ember/optim/clip_grad.h"
#include "ember/optim/rmsprop.h"
#include "ember/optim/sgd.h"

using namespace ember;
using namespace ember::optim;
using test::deep_copy;
using test::load_problem;
using test::Problem;
using test::regression_loss;

namespace {

template <class O>
void set_common(O& o, const nlohmann::json& g) {
  if (g.contains("eps")) o.eps(g["eps"].get<double>());
  if (g.contains("weight_decay")) o.weight_decay(g["weight_decay"].get<double>());
  if (g.contains("maximize")) o.maximize(g["maximize"].get<bool>());
}

template <class O>
O adam_options(const nlohmann::json& g) {
  O o(g["lr"].get<double>());
  set_common(o, g);
  if (g.contains("betas")) o.betas({g["betas"][0].get<double>(), g["betas"][1].get<double>()});
  if (g.contains("amsgrad")) o.amsgrad(g["amsgrad"].get<bool>());
  return o;
}

RMSpropOptions rmsprop_options(const nlohmann::json& g) {
  RMSpropOptions o(g["lr"].get<double>());
  set_common(o, g);
  if (g.contains("alpha")) o.alpha(g["alpha"].get<double>());
  if (g.contains("momentum")) o.momentum(g["momentum"].get<double>());
  if (g.contains("centered")) o.centered(g["centered"].get<bool>());
  return o;
}

AdagradOptions adagrad_options(const nlohmann::json& g) {
  AdagradOptions o(g["lr"].get<double>());
  set_common(o, g);
  if (g.contains("lr_decay")) o.lr_decay(g["lr_decay"].get<double>());
  if (g.contains("initial_accumulator_value"))
    o.initial_accumulator_value(g["initial_accumulator_value"].get<double>());
  return o;
}

template <class Opt, class Options>
std::unique_ptr<Optimizer> build(const nlohmann::json& c, const Tensor& w, const Tensor& b,
                                 Options (*options)(const nlohmann::json&)) {
  std::vector<typename Opt::ParamGroup> groups;
  for (const auto& g : c["groups"]) {
    std::vector<Tensor> ps;
    for (const auto& pn : g["params"]) ps.push_back(pn.get<std::string>() == "w" ? w : b);
    groups.emplace_back(ps, options(g));
  }
  return std::make_unique<Opt>(groups, options(c["groups"][0]));
}

std::unique_ptr<Optimizer> build_case(const nlohmann::json& c, const Tensor& w, const Tensor& b) {
  std::string kind = c["kind"].get<std::string>();
  if (kind == "Adam") return build<Adam>(c, w, b, &adam_options<AdamOptions>);
  if (kind == "AdamW") return build<AdamW>(c, w, b, &adam_options<AdamWOptions>);
  if (kind == "RMSprop") return build<RMSprop>(c, w, b, &rmsprop_options);
  return build<Adagrad>(c, w, b, &adagrad_options);
}

// Compares a Value from Ember's state dict with the fixture's JSON of PyTorch's.
void check_value(const Value& v, const nlohmann::json& j, const std::string& what, double rtol, double atol) {
  INFO(what);
  if (j.is_object() && j.contains("dtype")) {
    REQUIRE(v.is_tensor());
    Tensor expected = test::tensor_from_json(j);
    if (expected.dim() == 0) {
      CHECK(v.as_tensor().dim() == 0);
      CHECK(v.as_tensor().dtype() == expected.dtype());
      CHECK(v.as_double() == expected.item());
    } else {
      test::check_close(v.as_tensor().to(kFloat64), expected.to(kFloat64), rtol, atol, what);
    }
  } else if (j.is_boolean()) {
    CHECK(v.as_bool() == j.get<bool>());
  } else if (j.is_number()) {
    CHECK(v.as_double() == j.get<double>());
  } else if (j.is_array()) {
    REQUIRE(v.is_list());
    REQUIRE(v.size() == j.size());
    for (size_t i = 0; i < j.size(); ++i) check_value(v.at(i), j[i], what + "[" + std::to_string(i) + "]", rtol, atol);
  } else {
    REQUIRE(j.is_object());
    REQUIRE(v.is_dict());
    CHECK(v.size() == j.size());
    for (auto it = j.begin(); it != j.end(); ++it) {
      REQUIRE_MESSAGE(v.contains(it.key()), what, " lacks ", it.key());
      check_value(v.at(it.key()), it.value(), what + "." + it.key(), rtol, atol);
    }
  }
}

// The shared toy, trained n steps by train(opt, n).
struct Toy : test::Toy {
  void train(Optimizer& opt, int n) { test::train_steps(opt, *this, n); }
};

}  // namespace

TEST_CASE("Adam, AdamW, RMSprop and Adagrad follow PyTorch's trajectories for every option") {
  auto fx = test::load_fixture("optim.json");
  std::map<std::string, int> per_kind;
  for (auto it = fx.begin(); it != fx.end(); ++it) {
    const auto& c = it.value();
    if (!c.is_object() || !c.contains("kind")) continue;
    const std::string name = it.key();
    ++per_kind[c["kind"].get<std::string>()];
    DType dtype = dtype_from_name(c["dtype"].get<std::string>());
    // float64: the rule itself, to rounding; float32: the order of float32 operations differs slightly.
    double rtol = dtype == kFloat64 ? 1e-10 : 2e-5, atol = dtype == kFloat64 ? 1e-12 : 2e-6;
    Problem p = load_problem(fx, dtype);
    Tensor w = p.w0.clone().requires_grad_(), b = p.b0.clone().requires_grad_();
    auto opt = build_case(c, w, b);
    bool negate = c["negate_loss"].get<bool>();
    for (int step = 0; step < p.steps; ++step) {
      INFO(name, " step ", step);
      opt->zero_grad();
      Tensor loss = regression_loss(p, w, b);
      if (negate) loss = -loss;
      CHECK(loss.item() == doctest::Approx(c["loss"][step].get<double>()).epsilon(dtype == kFloat64 ? 1e-10 : 1e-5));
      loss.backward();
      opt->step();
      test::check_close(w, test::tensor_from_json(c["w"][step]), rtol, atol, name + " w");
      test::check_close(b, test::tensor_from_json(c["b"][step]), rtol, atol, name + " b");
    }
    Value sd = opt->state_dict();
    // The state after 25 steps: float32 moments to a looser tolerance (momentum buffers of RMSprop grow to ~1).
    check_value(sd.at("state"), c["state"], name + " state", dtype == kFloat64 ? rtol : 1e-4, dtype == kFloat64 ? atol : 1e-5);
    check_value(sd.at("param_groups"), c["param_groups"], name + " param_groups", 0, 0);
  }
  CHECK(per_kind["Adam"] == 9);
  CHECK(per_kind["AdamW"] == 5);
  CHECK(per_kind["RMSprop"] == 10);
  CHECK(per_kind["Adagrad"] == 8);
}

TEST_CASE("invalid options are refused with PyTorch's messages") {
  Tensor w = zeros({2}).requires_grad_();
  auto adam = [&](AdamOptions o) { return test::error_of([&] { Adam opt({w}, o); }); };
  CHECK(adam(AdamOptions(-0.1)) == "Invalid learning rate: -0.1");
  CHECK(adam(AdamOptions(NAN)) == "Invalid learning rate: nan");
  CHECK(adam(AdamOptions(0.1).eps(-1)) == "Invalid epsilon value: -1");
  CHECK(adam(AdamOptions(0.1).betas({1.0, 0.999})) == "Invalid beta parameter at index 0: 1");
  CHECK(adam(AdamOptions(0.1).betas({0.9, -0.5})) == "Invalid beta parameter at index 1: -0.5");
  CHECK(adam(AdamOptions(0.1).weight_decay(-1)) == "Invalid weight_decay value: -1");
  CHECK(test::error_of([&] { RMSprop opt({w}, RMSpropOptions(0.1).alpha(-1)); }) == "Invalid alpha value: -1");
  CHECK(test::error_of([&] { Adagrad opt({w}, AdagradOptions(0.1).lr_decay(-1)); }) == "Invalid lr_decay value: -1");
  CHECK(test::error_of([&] { Adagrad opt({w}, AdagradOptions(0.1).initial_accumulator_value(-1)); }) ==
        "Invalid initial_accumulator_value value: -1");
  CHECK(test::error_of([] { Adam opt(std::vector<Tensor>{}); }) == "optimizer got an empty parameter list");
  CHECK(AdamW({w}).options().weight_decay() == 0.01);  // AdamW's default, as PyTorch
  CHECK(Adam({w}).options().lr() == 1e-3);
}

TEST_CASE("state dicts: PyTorch's names per parameter and per group") {
  Toy toy;
  Adam adam({toy.w, toy.b}, AdamOptions(0.01).amsgrad(true));
  CHECK(adam.state_dict().at("state").size() == 0);  // nothing before the first step
  toy.train(adam, 3);
  Value sd = adam.state_dict();
  const Value& s0 = sd.at("state").at("0");
  std::vector<std::string> names;
  for (const auto& [k, unused] : s0.as_dict()) names.push_back(k);
  CHECK(names == std::vector<std::string>{"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"});
  CHECK(s0.at("step").as_tensor().dim() == 0);
  CHECK(s0.at("step").as_tensor().dtype() == kFloat32);
  CHECK(s0.at("step").as_int() == 3);
  CHECK(s0.at("exp_avg").as_tensor().shape() == Shape{2, 3});
  const Value& g = sd.at("param_groups").at(0);
  std::vector<std::string> keys;
  for (const auto& [k, unused] : g.as_dict()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "params"});

  // Adagrad has state from the start, as PyTorch's constructor makes it.
  Adagrad ada({toy.w}, AdagradOptions(0.1).initial_accumulator_value(0.5));
  Value a = ada.state_dict().at("state").at("0");
  CHECK(a.at("step").as_int() == 0);
  CHECK(a.at("sum").as_tensor().to_vector<float>() == std::vector<float>(6, 0.5f));
}

TEST_CASE("a state dict round trip reproduces the next steps exactly, for every kind") {
  auto run = [](auto make) {
    Toy a;
    auto opt_a = make(a);
    a.train(*opt_a, 4);
    Value saved = deep_copy(opt_a->state_dict());
    Tensor w_saved = a.w.detach().clone(), b_saved = a.b.detach().clone();
    a.train(*opt_a, 3);

    Toy b;
    {
      NoGradGuard ng;
      b.w.copy_(w_saved);
      b.b.copy_(b_saved);
    }
    auto opt_b = make(b);
    opt_b->load_state_dict(saved);
    b.train(*opt_b, 3);
    CHECK(b.w.to_vector<float>() == a.w.to_vector<float>());
    CHECK(b.b.to_vector<float>() == a.b.to_vector<float>());
  };
  run([](Toy& t) { return std::make_unique<Adam>(std::vector<Tensor>{t.w, t.b}, AdamOptions(0.01).amsgrad(true)); });
  run([](Toy& t) { return std::make_unique<AdamW>(std::vector<Tensor>{t.w, t.b}, AdamWOptions(0.01)); });
  run([](Toy& t) {
    return std::make_unique<RMSprop>(std::vector<Tensor>{t.w, t.b}, RMSpropOptions(0.01).momentum(0.9).centered(true));
  });
  run([](Toy& t) { return std::make_unique<Adagrad>(std::vector<Tensor>{t.w, t.b}, AdagradOptions(0.1).lr_decay(0.1)); });

  // Why "step" matters: restarting it at 0 makes the next step differ from the run it continues.
  Toy a;
  Adam opt_a({a.w, a.b}, 0.01);
  a.train(opt_a, 5);
  Value saved = deep_copy(opt_a.state_dict());
  Tensor w5 = a.w.detach().clone(), b5 = a.b.detach().clone();
  a.train(opt_a, 1);
  for (const char* key : {"0", "1"}) saved["state"][key]["step"] = Value(scalar_tensor(0.0));
  Toy b;
  {
    NoGradGuard ng;
    b.w.copy_(w5);
    b.b.copy_(b5);
  }
  Adam opt_b({b.w, b.b}, 0.01);
  opt_b.load_state_dict(saved);
  b.train(opt_b, 1);
  CHECK(test::max_abs_diff(b.w, a.w) > 1e-4);
}

TEST_CASE("\"step\" loads from every form PyTorch writes: a 0-dim float tensor, a [1] tensor, an int") {
  for (Value step : {Value(scalar_tensor(7.0)), Value(full({1}, 7.0)), Value(int64_t(7)), Value(7.0),
                     Value(scalar_tensor(7.0, kFloat64))}) {
    Toy toy;
    Adam opt({toy.w, toy.b}, 0.01);
    toy.train(opt, 1);
    Value sd = deep_copy(opt.state_dict());
    sd["state"]["0"]["step"] = step;
    opt.load_state_dict(sd);
    const Tensor& t = opt.state(toy.w).at("step");
    CHECK(t.dim() == 0);
    CHECK(t.dtype() == kFloat32);
    CHECK(t.item() == 7.0);
  }
}

TEST_CASE("bad state dicts are refused naming the key, the expected and the found, and change nothing") {
  Toy toy;
  SGD sgd({toy.w, toy.b}, SGDOptions(0.1).momentum(0.9));
  Adam adam({toy.w, toy.b}, 0.01);
  toy.train(sgd, 2);
  toy.train(adam, 2);
  Value sgd_sd = deep_copy(sgd.state_dict()), adam_sd = deep_copy(adam.state_dict());
  Value adam_before = deep_copy(adam.state_dict());

  auto unchanged = [&] {
    Value now = adam.state_dict();
    CHECK(now.at("param_groups").at(0).at("lr").as_double() == 0.01);
    for (const char* k : {"0", "1"})
      for (const char* n : {"exp_avg", "exp_avg_sq"})
        CHECK(test::max_abs_diff(now.at("state").at(k).at(n).as_tensor(),
                                 adam_before.at("state").at(k).at(n).as_tensor()) == 0);
  };

  // Another kind's state dict, both ways.
  std::string e = test::error_of([&] { sgd.load_state_dict(adam_sd); });
  CHECK(e.find("SGD.load_state_dict: parameter group 0 has \"betas\", which SGD does not have") != std::string::npos);
  CHECK(e.find("found Adam or AdamW's") != std::string::npos);
  e = test::error_of([&] { adam.load_state_dict(sgd_sd); });
  CHECK(e.find("Adam.load_state_dict: parameter group 0 has \"momentum\"") != std::string::npos);
  unchanged();
  // State names alone (groups stripped to lr): "momentum_buffer" into Adam.
  Value mixed = deep_copy(adam_sd);
  mixed["state"]["0"] = Value::dict({{"momentum_buffer", Value(zeros({2, 3}))}});
  e = test::error_of([&] { adam.load_state_dict(mixed); });
  CHECK(e.find("state of parameter 0 has \"momentum_buffer\", which Adam does not keep") != std::string::npos);
  CHECK(e.find("found SGD or RMSprop's state") != std::string::npos);
  unchanged();

  // A state tensor of the wrong shape.
  Value bad = deep_copy(adam_sd);
  bad["state"]["1"]["exp_avg_sq"] = Value(zeros({3}));
  CHECK(test::error_of([&] { adam.load_state_dict(bad); }) ==
        "Adam.load_state_dict: state \"exp_avg_sq\" of parameter 1 has shape [3], expected the parameter's shape [2]");
  unchanged();
  // A missing state entry.
  bad = deep_copy(adam_sd);
  bad["state"]["1"] = Value::dict({{"step", 2}, {"exp_avg", Value(zeros({2}))}});
  CHECK(test::error_of([&] { adam.load_state_dict(bad); }).find("state of parameter 1 lacks \"exp_avg_sq\"") !=
        std::string::npos);

  // Moment buffers that would carry the run into NaN: NaN or infinite, or a negative sum of squares.
  for (float v : {std::nanf(""), INFINITY, -INFINITY}) {
    bad = deep_copy(adam_sd);
    bad["state"]["0"]["exp_avg"] = Value(from_vector<float>({0, 0, v, 0, 0, 0}).reshape({2, 3}));
    CHECK(test::error_of([&] { adam.load_state_dict(bad); }) ==
          "Adam.load_state_dict: state \"exp_avg\" of parameter 0 holds a NaN or infinite value");
  }
  bad = deep_copy(adam_sd);
  bad["state"]["1"]["exp_avg_sq"] = Value(from_vector<float>({1e-4f, -0.5f}));
  CHECK(test::error_of([&] { adam.load_state_dict(bad); }) ==
        "Adam.load_state_dict: state \"exp_avg_sq\" of parameter 1 holds a negative value (-0.5); it is a sum of "
        "squares");
  bad = deep_copy(adam_sd);
  bad["state"]["1"]["exp_avg"] = Value(from_vector<float>({1e-4f, -0.5f}));  // a first moment may be negative
  CHECK(test::error_of([&] { adam.load_state_dict(bad); }).empty());
  adam.load_state_dict(adam_before);
  unchanged();
  // State keys: one canonical index per parameter ("0", never "00"), and no negative parameter index.
  bad = deep_copy(adam_sd);
  bad["state"] = Value::dict({{"00", adam_sd.at("state").at("0")}, {"1", adam_sd.at("state").at("1")}});
  CHECK(test::error_of([&] { adam.load_state_dict(bad); }) ==
        "Adam.load_state_dict: \"state\" has an entry \"00\", which is not a parameter index (an int >= 0 written "
        "without sign or leading zeros)");
  bad = deep_copy(adam_sd);
  bad["param_groups"].as_list()[0]["params"] = Value::list({-1, 1});
  bad["state"] = Value::dict({{"x", adam_sd.at("state").at("0")}, {"1", adam_sd.at("state").at("1")}});
  CHECK(test::error_of([&] { adam.load_state_dict(bad); }) ==
        "Adam.load_state_dict: parameter group 0: \"params\" entry 0 must be an int >= 0, found -1");
  unchanged();

  // Rates and betas.
  auto with = [&](const char* key, Value v) {
    Value sd = deep_copy(adam_sd);
    sd["param_groups"].as_list()[0][key] = v;
    return test::error_of([&] { adam.load_state_dict(sd); });
  };
  CHECK(with("lr", -0.5) == "Adam.load_state_dict: parameter group 0: \"lr\" must be a number >= 0, found -0.5");
  CHECK(with("lr", NAN) == "Adam.load_state_dict: parameter group 0: \"lr\" must be a number >= 0, found nan");
  CHECK(with("lr", "fast") == "Adam.load_state_dict: parameter group 0: \"lr\" must be a number >= 0, found a string");
  CHECK(with("betas", Value::list({0.9, 1.0})) ==
        "Adam.load_state_dict: parameter group 0: \"betas\" must be two numbers in [0, 1), found [0.9, 1]");
  CHECK(with("betas", Value::list({-0.1, 0.9})) ==
        "Adam.load_state_dict: parameter group 0: \"betas\" must be two numbers in [0, 1), found [-0.1, 0.9]");
  CHECK(with("betas", 0.9) ==
        "Adam.load_state_dict: parameter group 0: \"betas\" must be two numbers in [0, 1), found 0.9");
  CHECK(with("amsgrad", 1) == "Adam.load_state_dict: parameter group 0: \"amsgrad\" must be a bool, found 1");
  unchanged();
  Value sgd_bad = deep_copy(sgd_sd);
  sgd_bad["param_groups"].as_list()[0]["lr"] = Value(NAN);
  CHECK(test::error_of([&] { sgd.load_state_dict(sgd_bad); }) ==
        "SGD.load_state_dict: parameter group 0: \"lr\" must be a number >= 0, found nan");

  // A learning rate PyTorch carries as a 0-dim tensor loads as the number.
  Value tensor_lr = deep_copy(adam_sd);
  tensor_lr["param_groups"].as_list()[0]["lr"] = Value(scalar_tensor(0.005, kFloat64));
  tensor_lr["param_groups"].as_list()[0]["betas"] = Value::list({Value(scalar_tensor(0.8, kFloat64)), 0.99});
  adam.load_state_dict(tensor_lr);
  CHECK(adam.options().lr() == 0.005);
  CHECK(adam.options().betas().first == 0.8);
}

TEST_CASE("clip_grad_norm_ and clip_grad_value_ give PyTorch's gradients and norm") {
  auto fx = test::load_fixture("optim.json");
  int n = 0;
  for (auto it = fx.begin(); it != fx.end(); ++it) {
    if (it.key().rfind("clip/", 0) != 0) continue;
    ++n;
    const auto& c = it.value();
    INFO(it.key());
    std::vector<Tensor> ps;
    for (const auto& g : c["grads"]) {
      Tensor grad = test::tensor_from_json(g);
      Tensor p = zeros(grad.shape()).requires_grad_();
      p.set_grad(grad);
      ps.push_back(p);
    }
    if (c.contains("clip_value")) {
      clip_grad_value_(ps, c["clip_value"].get<double>());
      for (size_t i = 0; i < ps.size(); ++i)  // exact: inside values untouched, outside ones set to the bound
        CHECK(ps[i].grad().to_vector<float>() == test::tensor_from_json(c["after"][i]).to_vector<float>());
      continue;
    }
    double norm_type = c["norm_type"].is_string() ? INFINITY : c["norm_type"].get<double>();
    double total = clip_grad_norm_(ps, c["max_norm"].get<double>(), norm_type);
    CHECK(total == doctest::Approx(c["total_norm"].get<double>()).epsilon(2e-6));
    for (size_t i = 0; i < ps.size(); ++i)
      test::check_close(ps[i].grad(), test::tensor_from_json(c["after"][i]), 2e-6, 1e-7, it.key());
  }
  CHECK(n == 6);
  Tensor p = zeros({2}).requires_grad_();
  CHECK(clip_grad_norm_({p}, 1.0) == 0);  // no gradient: nothing to clip
  p.set_grad(from_vector<float>({NAN, 1.0f}));
  CHECK(test::error_of([&] { clip_grad_norm_({p}, 1.0, 2.0, true); }).find("is non-finite") != std::string::npos);
}
