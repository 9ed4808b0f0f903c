// SGD against PyTorch trajectories (fixtures/sgd.json, tests/reference/gen_sgd.py): 25 steps of a
// small linear regression for each option, two parameter groups, float64 (the rule, tightly) and
// float32. Also: PyTorch's refusals and messages, skipped parameters, StepLR, and the optimizer and
// scheduler state dicts (layout, round trip reproducing the next steps exactly, mismatch errors).
#include <cmath>

#include "optim_helpers.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/sgd.h"

using namespace ember;
using namespace ember::optim;
using test::deep_copy;
using test::load_problem;
using test::Problem;
using test::regression_loss;
using test::Toy;
using test::train_steps;

namespace {

SGDOptions options_from_json(const nlohmann::json& g) {
  SGDOptions o(g["lr"].get<double>());
  if (g.contains("momentum")) o.momentum(g["momentum"].get<double>());
  if (g.contains("dampening")) o.dampening(g["dampening"].get<double>());
  if (g.contains("weight_decay")) o.weight_decay(g["weight_decay"].get<double>());
  if (g.contains("nesterov")) o.nesterov(g["nesterov"].get<bool>());
  if (g.contains("maximize")) o.maximize(g["maximize"].get<bool>());
  return o;
}

}  // namespace

TEST_CASE("SGD follows PyTorch's trajectory for every option") {
  auto fx = test::load_fixture("sgd.json");
  int n = 0;
  for (auto it = fx.begin(); it != fx.end(); ++it) {
    if (it.key().rfind("sgd/", 0) != 0) continue;
    const std::string name = it.key();
    const auto& c = it.value();
    ++n;
    DType dtype = dtype_from_name(c["dtype"].get<std::string>());
    // float64: the rule itself, to rounding; float32: Ember's and PyTorch's float32 arithmetic differ in order.
    double rtol = dtype == kFloat64 ? 1e-10 : 2e-5, atol = dtype == kFloat64 ? 1e-12 : 2e-6;
    Problem p = load_problem(fx, dtype);
    Tensor w = p.w0.clone().requires_grad_(), b = p.b0.clone().requires_grad_();
    std::vector<SGDParamGroup> groups;
    for (const auto& g : c["groups"]) {
      std::vector<Tensor> ps;
      for (const auto& pn : g["params"]) ps.push_back(pn.get<std::string>() == "w" ? w : b);
      groups.emplace_back(ps, options_from_json(g));
    }
    SGD opt(groups, options_from_json(c["groups"][0]));
    bool negate = c["negate_loss"].get<bool>();
    for (int step = 0; step < p.steps; ++step) {
      INFO(name, " step ", step);
      opt.zero_grad();
      Tensor loss = regression_loss(p, w, b);
      if (negate) loss = -loss;
      CHECK(loss.item() == doctest::Approx(c["loss"][step].get<double>()).epsilon(dtype == kFloat64 ? 1e-10 : 1e-5));
      loss.backward();
      opt.step();
      test::check_close(w, test::tensor_from_json(c["w"][step]), rtol, atol, name + " w");
      test::check_close(b, test::tensor_from_json(c["b"][step]), rtol, atol, name + " b");
    }
  }
  CHECK(n == 10);
}

TEST_CASE("invalid options are refused with PyTorch's messages") {
  Tensor w = zeros({2}).requires_grad_();
  auto make = [&](SGDOptions o) { return test::error_of([&] { SGD opt({w}, o); }); };
  CHECK(make(SGDOptions(-0.1)) == "Invalid learning rate: -0.1");
  CHECK(make(SGDOptions(0.1).momentum(-1)) == "Invalid momentum value: -1");
  CHECK(make(SGDOptions(0.1).weight_decay(-0.5)) == "Invalid weight_decay value: -0.5");
  CHECK(make(SGDOptions(0.1).nesterov(true)) == "Nesterov momentum requires a momentum and zero dampening");
  CHECK(make(SGDOptions(0.1).nesterov(true).momentum(0.9).dampening(0.1)) ==
        "Nesterov momentum requires a momentum and zero dampening");
  CHECK(make(SGDOptions(0.0)) == "");  // lr 0 is allowed, as PyTorch
  CHECK(test::error_of([] { SGD opt(std::vector<Tensor>{}, 0.1); }) == "optimizer got an empty parameter list");
  Tensor v = zeros({2}).requires_grad_();
  // A group's own options are checked as well.
  CHECK(test::error_of([&] {
          SGD opt({SGDParamGroup({w}), SGDParamGroup({v}, SGDOptions(-2))}, 0.1);
        }) == "Invalid learning rate: -2");
  CHECK(test::error_of([&] {
          SGD opt({SGDParamGroup({w}), SGDParamGroup({w})}, 0.1);
        }) == "SGD: some parameters appear in more than one parameter group");
  Tensor computed = w * 2.0;
  CHECK(test::error_of([&] { SGD opt({computed}, 0.1); }).find("can't optimize a non-leaf Tensor") !=
        std::string::npos);
  // Options changed to an invalid value between steps are refused at the next step.
  SGD opt({w}, 0.1);
  opt.options(0).lr(-1);
  CHECK(test::error_of([&] { opt.step(); }) == "Invalid learning rate: -1");
}

TEST_CASE("parameters without a gradient are skipped and get no state") {
  Tensor used = ones({2}).requires_grad_(), unused = ones({3}).requires_grad_();
  SGD opt({used, unused}, SGDOptions(0.5).momentum(0.9).weight_decay(0.1));
  sum(used * 3.0).backward();
  opt.step();
  CHECK(unused.to_vector<float>() == std::vector<float>{1, 1, 1});  // weight decay did not move it either
  CHECK(opt.state(unused).empty());
  CHECK(opt.state(used).contains("momentum_buffer"));
  // used = 1 - 0.5 * (3 + 0.1 * 1)
  CHECK(used.to_vector<float>()[0] == doctest::Approx(1 - 0.5 * 3.1));
  Value sd = opt.state_dict();
  CHECK(sd.at("state").as_dict().keys() == std::vector<std::string>{"0"});
}

TEST_CASE("zero_grad sets gradients to none by default, or zeroes them") {
  Tensor w = ones({2}).requires_grad_();
  SGD opt({w}, 0.1);
  sum(w * 2.0).backward();
  opt.zero_grad(false);
  REQUIRE(w.grad().defined());
  CHECK(w.grad().to_vector<float>() == std::vector<float>{0, 0});
  opt.zero_grad();
  CHECK_FALSE(w.grad().defined());
  opt.step();  // no gradient: nothing happens
  CHECK(w.to_vector<float>() == std::vector<float>{1, 1});
}

TEST_CASE("StepLR gives PyTorch's learning rates and state dict") {
  auto fx = test::load_fixture("sgd.json");
  for (const char* key : {"steplr/one_group", "steplr/two_groups"}) {
    INFO(key);
    const auto& c = fx[key];
    std::vector<SGDParamGroup> groups;
    for (double lr : c["lrs"]) groups.emplace_back(std::vector<Tensor>{zeros({1}).requires_grad_()}, SGDOptions(lr));
    SGD opt(groups, c["lrs"][0].get<double>());
    StepLR sched(opt, c["step_size"].get<int64_t>(), c["gamma"].get<double>());
    const auto& history = c["history"];
    CHECK(sched.get_last_lr() == history[0].get<std::vector<double>>());
    for (size_t i = 1; i < history.size(); ++i) {
      opt.step();
      sched.step();
      CHECK(sched.get_last_lr() == history[i].get<std::vector<double>>());  // bit for bit: same arithmetic
    }
    for (size_t g = 0; g < opt.num_param_groups(); ++g) CHECK(opt.lr(g) == c["group_lrs"][g].get<double>());
    Value sd = sched.state_dict();
    const auto& ref = c["state_dict"];
    CHECK(sd.as_dict().keys() ==
          std::vector<std::string>{"step_size", "gamma", "base_lrs", "last_epoch", "_step_count", "_last_lr"});
    CHECK(sd.at("step_size").as_int() == ref["step_size"].get<int64_t>());
    CHECK(sd.at("gamma").as_double() == ref["gamma"].get<double>());
    CHECK(sd.at("last_epoch").as_int() == ref["last_epoch"].get<int64_t>());
    for (size_t g = 0; g < opt.num_param_groups(); ++g) {
      CHECK(sd.at("base_lrs").at(g).as_double() == ref["base_lrs"][g].get<double>());
      CHECK(sd.at("_last_lr").at(g).as_double() == ref["_last_lr"][g].get<double>());
    }
  }
  Tensor w = zeros({1}).requires_grad_();
  SGD opt({w}, 0.1);
  CHECK(test::error_of([&] { StepLR s(opt, 0); }) == "StepLR: step_size must be positive, found 0");
}

TEST_CASE("StepLR resumes from its state dict") {
  Tensor w1 = zeros({1}).requires_grad_(), w2 = zeros({1}).requires_grad_();
  SGD a({w1}, 0.1), b({w2}, 0.1);
  StepLR sa(a, 3, 0.5);
  for (int i = 0; i < 4; ++i) sa.step();  // epoch 4: lr 0.05
  Value saved = deep_copy(sa.state_dict());
  Value opt_saved = deep_copy(a.state_dict());
  StepLR sb(b, 7, 0.9);
  b.load_state_dict(opt_saved);
  sb.load_state_dict(saved);
  CHECK(sb.step_size() == 3);
  CHECK(sb.gamma() == 0.5);
  CHECK(sb.last_epoch() == 4);
  CHECK(b.lr(0) == a.lr(0));
  for (int i = 0; i < 6; ++i) {
    sa.step();
    sb.step();
    CHECK(sa.get_last_lr() == sb.get_last_lr());
    CHECK(a.lr(0) == b.lr(0));
  }
  Value bad = deep_copy(saved);
  bad["base_lrs"] = Value::list({0.1, 0.2});
  CHECK(test::error_of([&] { sb.load_state_dict(bad); }) ==
        "StepLR.load_state_dict: \"base_lrs\" has 2 values, expected 1 (one per parameter group of the optimizer)");
}

TEST_CASE("optimizer state dict: PyTorch's layout, empty state before the first step") {
  Toy toy;
  Tensor extra = zeros({4}).requires_grad_();
  SGD opt({SGDParamGroup(toy.params()), SGDParamGroup({extra}, SGDOptions(0.5).nesterov(true).momentum(0.1))},
          SGDOptions(0.01).momentum(0.9).dampening(0.0).weight_decay(1e-4));
  Value sd = opt.state_dict();
  CHECK(sd.as_dict().keys() == std::vector<std::string>{"state", "param_groups"});
  CHECK(sd.at("state").size() == 0);
  REQUIRE(sd.at("param_groups").size() == 2);
  const Value& g0 = sd.at("param_groups").at(0);
  CHECK(g0.as_dict().keys() ==
        std::vector<std::string>{"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "params"});
  CHECK(g0.at("lr").as_double() == 0.01);
  CHECK(g0.at("momentum").as_double() == 0.9);
  CHECK(g0.at("weight_decay").as_double() == 1e-4);
  CHECK(g0.at("nesterov").as_bool() == false);
  CHECK(g0.at("maximize").as_bool() == false);
  CHECK(g0.at("params").size() == 2);
  CHECK(g0.at("params").at(0).as_int() == 0);
  CHECK(g0.at("params").at(1).as_int() == 1);
  const Value& g1 = sd.at("param_groups").at(1);
  CHECK(g1.at("params").at(0).as_int() == 2);  // numbered across groups
  CHECK(g1.at("lr").as_double() == 0.5);
  CHECK(g1.at("nesterov").as_bool() == true);

  // After the first step: one momentum buffer per parameter with a gradient: its gradient plus
  // weight decay, cloned (PyTorch's first step).
  toy.backward();
  Tensor expected_w = toy.w.grad() + toy.w.detach() * 1e-4, expected_b = toy.b.grad() + toy.b.detach() * 1e-4;
  opt.step();
  sd = opt.state_dict();
  CHECK(sd.at("state").as_dict().keys() == std::vector<std::string>{"0", "1"});  // extra had no grad
  const Tensor& buf_w = sd.at("state").at("0").at("momentum_buffer").as_tensor();
  const Tensor& buf_b = sd.at("state").at("1").at("momentum_buffer").as_tensor();
  test::check_close(buf_w, expected_w, 1e-6, 1e-6, "momentum_buffer of w");
  test::check_close(buf_b, expected_b, 1e-6, 1e-6, "momentum_buffer of b");
  CHECK_FALSE(buf_w.shares_storage(toy.w.grad()));
  CHECK(buf_w.is_same(opt.state(toy.w).at("momentum_buffer")));  // the optimizer's own tensor
}

TEST_CASE("the first momentum buffer is the gradient itself (with weight decay), later ones accumulate") {
  Tensor w = from_vector<float>({1.0f, -2.0f}).requires_grad_();
  SGD opt({w}, SGDOptions(0.1).momentum(0.9).dampening(0.5).weight_decay(0.1));
  sum(w * from_vector<float>({3.0f, 4.0f})).backward();  // grad (3, 4)
  opt.step();
  // d_p = (3, 4) + 0.1 * (1, -2) = (3.1, 3.8); buffer = d_p (no dampening on the first step)
  auto buf = opt.state(w).at("momentum_buffer").to_vector<float>();
  CHECK(buf[0] == doctest::Approx(3.1));
  CHECK(buf[1] == doctest::Approx(3.8));
  CHECK(w.to_vector<float>()[0] == doctest::Approx(1.0 - 0.31));
  double w0 = w.to_vector<float>()[0];
  opt.step();  // same gradient, still accumulated in .grad (no zero_grad): buf = 0.9 * buf + 0.5 * d_p
  double d0 = 3.0 + 0.1 * w0;
  CHECK(opt.state(w).at("momentum_buffer").to_vector<float>()[0] == doctest::Approx(0.9 * 3.1 + 0.5 * d0));
}

TEST_CASE("an optimizer state dict round trip reproduces the next steps exactly") {
  Toy a;
  SGDOptions opts = SGDOptions(0.01).momentum(0.9).nesterov(true).weight_decay(0.01);
  SGD opt_a(a.params(), opts);
  train_steps(opt_a, a, 5);
  Value saved = deep_copy(opt_a.state_dict());

  Toy b;
  b.w.detach().copy_(a.w);
  b.b.detach().copy_(a.b);
  SGD opt_b(b.params(), SGDOptions(0.5));  // other hyper-parameters: the loaded ones replace them
  opt_b.load_state_dict(saved);
  CHECK(opt_b.options(0).momentum() == 0.9);
  CHECK(opt_b.options(0).nesterov());
  CHECK(opt_b.lr(0) == 0.01);
  // The loaded buffers are copies: changing the dict afterwards changes nothing.
  Tensor loaded_buf = opt_b.state(b.w).at("momentum_buffer");
  CHECK_FALSE(loaded_buf.shares_storage(saved.at("state").at("0").at("momentum_buffer").as_tensor()));
  auto buf_before = loaded_buf.to_vector<float>();
  Tensor in_dict = saved.at("state").at("0").at("momentum_buffer").as_tensor();
  in_dict.fill_(100.0);
  CHECK(loaded_buf.to_vector<float>() == buf_before);

  train_steps(opt_a, a, 5);
  train_steps(opt_b, b, 5);
  CHECK(a.w.to_vector<float>() == b.w.to_vector<float>());
  CHECK(a.b.to_vector<float>() == b.b.to_vector<float>());
  CHECK(opt_a.state(a.w).at("momentum_buffer").to_vector<float>() ==
        opt_b.state(b.w).at("momentum_buffer").to_vector<float>());
}

TEST_CASE("loading an optimizer state dict checks groups, sizes and state, and changes nothing on failure") {
  Toy toy;
  Tensor extra = zeros({6}).requires_grad_();
  SGD opt(toy.params(), SGDOptions(0.1).momentum(0.5));
  train_steps(opt, toy, 1);
  Value good = deep_copy(opt.state_dict());

  SGD two({SGDParamGroup(toy.params()), SGDParamGroup({extra})}, 0.1);
  CHECK(test::error_of([&] { two.load_state_dict(good); }) == "loaded state dict has 1 parameter groups, optimizer has 2");

  Tensor p3 = zeros({1}).requires_grad_();
  Toy other;
  SGD three({other.w, other.b, p3}, 0.1);
  CHECK(test::error_of([&] { three.load_state_dict(good); }) ==
        "loaded state dict contains a parameter group that doesn't match the size of optimizer's group: 2 vs 3");

  Toy fresh;
  SGD target(fresh.params(), SGDOptions(0.2));
  Value bad_shape = deep_copy(good);
  bad_shape["state"]["1"]["momentum_buffer"] = Value(zeros({5}));
  CHECK(test::error_of([&] { target.load_state_dict(bad_shape); }) ==
        "SGD.load_state_dict: state \"momentum_buffer\" of parameter 1 has shape [5], expected the parameter's shape [2]");
  Value bad_index = deep_copy(good);
  Value state0 = bad_index.at("state").at("0");  // a copy: inserting "7" may move the entries
  bad_index["state"]["7"] = state0;
  CHECK(test::error_of([&] { target.load_state_dict(bad_index); }).find("\"7\" that is not the index") !=
        std::string::npos);
  Value bad_lr = deep_copy(good);
  bad_lr["param_groups"].as_list()[0]["lr"] = Value(-1.0);
  CHECK(test::error_of([&] { target.load_state_dict(bad_lr); }) ==
        "SGD.load_state_dict: parameter group 0: \"lr\" must be a number >= 0, found -1");
  Value bad_name = deep_copy(good);
  bad_name["state"]["0"]["velocity"] = Value(zeros({2, 3}));
  CHECK(test::error_of([&] { target.load_state_dict(bad_name); }) ==
        "SGD.load_state_dict: state of parameter 0 has \"velocity\", which SGD does not keep: expected momentum_buffer");
  // None of these changed the target.
  CHECK(target.lr(0) == 0.2);
  CHECK(target.state(fresh.w).empty());
  CHECK(target.state_dict().at("state").size() == 0);

  target.load_state_dict(good);
  CHECK(target.lr(0) == 0.1);
  CHECK(target.options(0).momentum() == 0.5);
  CHECK(target.state(fresh.w).contains("momentum_buffer"));
}

TEST_CASE("loaded state goes to the parameter's dtype") {
  Tensor w = zeros({2}, kFloat64).requires_grad_();
  SGD opt({w}, SGDOptions(0.1).momentum(0.9));
  Value sd = Value::dict({{"state", Value::dict({{"0", Value::dict({{"momentum_buffer",
                                                                     Value(from_vector<float>({1.0f, 2.0f}))}})}})},
                          {"param_groups", Value::list({Value::dict({{"lr", 0.3}, {"params", Value::list({0})}})})}});
  opt.load_state_dict(sd);
  CHECK(opt.state(w).at("momentum_buffer").dtype() == kFloat64);
  CHECK(opt.lr(0) == 0.3);
  CHECK(opt.options(0).momentum() == 0.9);  // absent keys keep their values
}
