// Learning-rate schedulers against PyTorch (fixtures/optim.json "sched/*", tests/reference/gen_optim.py):
// StepLR's siblings MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR (momentum and
// beta1 cycling) and SequentialLR give PyTorch's rates to the last bit; their state dicts hold
// PyTorch's numbers, resume exactly, and refuse bad input naming the key.
#include <memory>

#include "helpers.h"
#include "ember/optim/adagrad.h"
#include "ember/optim/adam.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/sgd.h"

using namespace ember;
using namespace ember::optim;

namespace {

std::shared_ptr<LRScheduler> make_scheduler(Optimizer& opt, const nlohmann::json& s) {
  std::string type = s["type"].get<std::string>();
  if (type == "StepLR") return std::make_shared<StepLR>(opt, s["step_size"].get<int64_t>(), s["gamma"].get<double>());
  if (type == "MultiStepLR")
    return std::make_shared<MultiStepLR>(opt, s["milestones"].get<std::vector<int64_t>>(), s["gamma"].get<double>());
  if (type == "ExponentialLR") return std::make_shared<ExponentialLR>(opt, s["gamma"].get<double>());
  if (type == "CosineAnnealingLR")
    return std::make_shared<CosineAnnealingLR>(opt, s["T_max"].get<int64_t>(), s["eta_min"].get<double>());
  if (type == "LinearLR")
    return std::make_shared<LinearLR>(opt, s["start_factor"].get<double>(), s["end_factor"].get<double>(),
                                      s["total_iters"].get<int64_t>());
  if (type == "OneCycleLR") {
    OneCycleLROptions o(s["max_lr"].get<std::vector<double>>(), s["total_steps"].get<int64_t>());
    if (s.contains("pct_start")) o.pct_start(s["pct_start"].get<double>());
    if (s.contains("div_factor")) o.div_factor(s["div_factor"].get<double>());
    if (s.contains("final_div_factor")) o.final_div_factor(s["final_div_factor"].get<double>());
    if (s.contains("anneal_strategy")) o.anneal_strategy(s["anneal_strategy"].get<std::string>());
    if (s.contains("three_phase")) o.three_phase(s["three_phase"].get<bool>());
    if (s.contains("cycle_momentum")) o.cycle_momentum(s["cycle_momentum"].get<bool>());
    return std::make_shared<OneCycleLR>(opt, o);
  }
  REQUIRE(type == "SequentialLR");
  std::vector<std::shared_ptr<LRScheduler>> subs;
  for (const auto& sub : s["schedulers"]) subs.push_back(make_scheduler(opt, sub));
  return std::make_shared<SequentialLR>(opt, subs, s["milestones"].get<std::vector<int64_t>>());
}

struct Run {
  std::vector<Tensor> params;
  std::unique_ptr<Optimizer> opt;
  std::shared_ptr<LRScheduler> sched;
};

Run make_run(const nlohmann::json& c) {
  Run r;
  auto lrs = c["lrs"].get<std::vector<double>>();
  for (size_t i = 0; i < lrs.size(); ++i) r.params.push_back(zeros({1}).requires_grad_());
  if (c["optimizer"].get<std::string>() == "Adam") {
    std::vector<Adam::ParamGroup> groups;
    for (size_t i = 0; i < lrs.size(); ++i) groups.emplace_back(std::vector<Tensor>{r.params[i]}, AdamOptions(lrs[i]));
    r.opt = std::make_unique<Adam>(groups, AdamOptions(lrs[0]));
  } else {
    double momentum = c["momentum"].is_null() ? 0.0 : c["momentum"].get<double>();
    std::vector<SGDParamGroup> groups;
    for (size_t i = 0; i < lrs.size(); ++i)
      groups.emplace_back(std::vector<Tensor>{r.params[i]}, SGDOptions(lrs[i]).momentum(momentum));
    r.opt = std::make_unique<SGD>(groups, SGDOptions(lrs[0]).momentum(momentum));
  }
  r.sched = make_scheduler(*r.opt, c["spec"]);
  return r;
}

// Every number PyTorch's state dict holds, compared with Ember's (exactly).
void check_numbers(const Value& v, const nlohmann::json& j, const std::string& what) {
  INFO(what);
  if (j.is_number()) {
    REQUIRE(v.is_number());
    CHECK(v.as_double() == j.get<double>());
  } else if (j.is_boolean()) {
    CHECK(v.as_bool() == j.get<bool>());
  } else if (j.is_string()) {
    CHECK(v.as_string() == j.get<std::string>());
  } else if (j.is_array()) {
    REQUIRE(v.is_list());
    REQUIRE(v.size() == j.size());
    for (size_t i = 0; i < j.size(); ++i) check_numbers(v.at(i), j[i], what + "[" + std::to_string(i) + "]");
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      REQUIRE_MESSAGE(v.contains(it.key()), what, " lacks ", it.key());
      if (it.key() == "milestones" && v.at("milestones").is_dict()) {  // a Counter: {epoch: count}
        std::vector<int64_t> flat;
        for (const auto& [k, n] : v.at("milestones").as_dict())
          for (int64_t i = 0; i < n.as_int(); ++i) flat.push_back(std::stoll(k));
        CHECK(flat == it.value().get<std::vector<int64_t>>());
        continue;
      }
      check_numbers(v.at(it.key()), it.value(), what + "." + it.key());
    }
  }
}

double momentum_of(Optimizer& opt, size_t g) { return opt.momentum(g); }

}  // namespace

TEST_CASE("schedulers give PyTorch's learning rates, momentums and state dicts") {
  auto fx = test::load_fixture("optim.json");
  int n = 0;
  for (auto it = fx.begin(); it != fx.end(); ++it) {
    if (it.key().rfind("sched/", 0) != 0) continue;
    ++n;
    const auto& c = it.value();
    const std::string name = it.key();
    Run r = make_run(c);
    const auto& history = c["history"];
    int steps = int(history.size()) - 1;
    int resume_at = c["resume_at"].get<int>();
    for (int step = 0; step <= steps; ++step) {
      INFO(name, " after step ", step);
      if (step > 0) {
        r.opt->step();
        r.sched->step();
      }
      CHECK(r.sched->get_last_lr() == history[step].get<std::vector<double>>());
      for (size_t g = 0; g < r.params.size(); ++g) {
        CHECK(r.opt->lr(g) == history[step][g].get<double>());
        if (r.opt->momentum_key()) CHECK(momentum_of(*r.opt, g) == c["momentums"][step][g].get<double>());
      }
      if (step == resume_at) check_numbers(r.sched->state_dict(), c["state_at_resume"], name + " state at resume");
    }
    check_numbers(r.sched->state_dict(), c["state_dict"], name + " state_dict");
  }
  CHECK(n == 11);
}

TEST_CASE("a scheduler resumed from its state dict (with its optimizer's) continues exactly") {
  auto fx = test::load_fixture("optim.json");
  for (auto it = fx.begin(); it != fx.end(); ++it) {
    if (it.key().rfind("sched/", 0) != 0) continue;
    const auto& c = it.value();
    const std::string name = it.key();
    int resume_at = c["resume_at"].get<int>();
    int steps = int(c["history"].size()) - 1;
    Run a = make_run(c);
    for (int s = 0; s < resume_at; ++s) {
      a.opt->step();
      a.sched->step();
    }
    Value opt_sd = a.opt->state_dict(), sched_sd = a.sched->state_dict();
    Run b = make_run(c);  // a fresh run, as a resumed program builds it, then loads both
    b.opt->load_state_dict(opt_sd);
    b.sched->load_state_dict(sched_sd);
    for (int s = resume_at + 1; s <= steps; ++s) {
      INFO(name, " resumed, step ", s);
      b.opt->step();
      b.sched->step();
      CHECK(b.sched->get_last_lr() == c["history"][s].get<std::vector<double>>());
      if (b.opt->momentum_key())
        for (size_t g = 0; g < b.params.size(); ++g)
          CHECK(momentum_of(*b.opt, g) == c["momentums"][s][g].get<double>());
    }
  }
}

TEST_CASE("the first scheduler records initial_lr in the optimizer's groups, as PyTorch") {
  Tensor w = zeros({1}).requires_grad_();
  SGD opt({w}, 0.1);
  CHECK(!opt.state_dict().at("param_groups").at(0).contains("initial_lr"));
  LinearLR warm(opt, 0.5, 1.0, 4);
  CHECK(opt.lr(0) == 0.05);
  ExponentialLR decay(opt, 0.9);  // built second: its base is still the starting 0.1
  CHECK(decay.base_lrs() == std::vector<double>{0.1});
  CHECK(opt.state_dict().at("param_groups").at(0).at("initial_lr").as_double() == 0.1);
}

TEST_CASE("bad scheduler input is refused naming the key, and changes nothing") {
  Tensor w = zeros({1}).requires_grad_();
  SGD opt({w}, 0.1);
  CosineAnnealingLR cos(opt, 10);
  cos.step();
  Value sd = cos.state_dict();
  auto with = [&](const char* key, Value v) {
    Value bad = sd;
    bad[key] = v;
    return test::error_of([&] { cos.load_state_dict(bad); });
  };
  CHECK(with("T_max", 0) == "CosineAnnealingLR.load_state_dict: \"T_max\" must be an int >= 1, found 0");
  CHECK(with("eta_min", "low") == "CosineAnnealingLR.load_state_dict: \"eta_min\" must be a number, found \"low\"");
  // Values that would make every later rate NaN, infinite or frozen.
  CHECK(with("eta_min", 1e300) ==
        "CosineAnnealingLR.load_state_dict: \"eta_min\" must be a finite number >= 0 and <= 1e+06, found 1e+300");
  CHECK(with("eta_min", INFINITY) ==
        "CosineAnnealingLR.load_state_dict: \"eta_min\" must be a finite number >= 0 and <= 1e+06, found inf");
  CHECK(with("base_lrs", Value::list({0.1, 0.2})) ==
        "CosineAnnealingLR.load_state_dict: \"base_lrs\" has 2 values, expected 1 (one per parameter group of the "
        "optimizer)");
  CHECK(cos.last_epoch() == 1);
  CHECK(test::error_of([&] { OneCycleLR bad(opt, OneCycleLROptions(0.1, 0)); }) ==
        "Expected positive integer total_steps, but got 0");
  Adagrad ada({w}, 0.1);
  CHECK(test::error_of([&] { OneCycleLR bad(ada, OneCycleLROptions(0.1, 10)); }) ==
        "optimizer must support momentum with `cycle_momentum` option enabled");
  OneCycleLR one(opt, OneCycleLROptions(0.5, 3).cycle_momentum(false));
  one.step();
  one.step();
  one.step();  // step 3 of 3 is the last one PyTorch allows
  CHECK(test::error_of([&] { one.step(); }) == "Tried to step 5 times. The specified number of total steps is 3");
  Value seq_bad = Value::dict({{"_milestones", Value::list({3})}, {"last_epoch", 0}, {"_last_lr", Value::list({0.1})},
                               {"_schedulers", Value::list({})}});
  auto a = std::make_shared<LinearLR>(opt, 0.5);
  auto b = std::make_shared<ExponentialLR>(opt, 0.9);
  SequentialLR seq(opt, {a, b}, {3});
  CHECK(test::error_of([&] { seq.load_state_dict(seq_bad); }) ==
        "SequentialLR.load_state_dict: \"_schedulers\" must be a list of 2 state dicts (one per scheduler), found 0");
}

TEST_CASE("a loaded schedule that would train into NaN or freeze is refused: gamma, phases, a missing initial_lr") {
  Tensor w = zeros({1}).requires_grad_();
  SGD opt({w}, SGDOptions(0.1).momentum(0.9));
  StepLR step_lr(opt, 2, 0.5);
  Value sd = step_lr.state_dict();
  for (double gamma : {0.0, -1.0, 1e300, double(INFINITY)}) {
    Value bad = sd;
    bad["gamma"] = gamma;
    CHECK(test::error_of([&] { step_lr.load_state_dict(bad); }).find("StepLR.load_state_dict: \"gamma\" must be a finite number > 0 and <= 1e+06") == 0);
  }

  SGD opt2({w}, SGDOptions(0.1).momentum(0.9));
  OneCycleLR one(opt2, OneCycleLROptions(0.1, 10));
  Value good = one.state_dict();
  Value bad = good;
  Value::List phases = bad.at("_schedule_phases").as_list();
  phases[1]["end_step"] = phases[0].at("end_step");  // a phase that ends where the one before it did
  bad["_schedule_phases"] = Value(phases);
  CHECK(test::error_of([&] { one.load_state_dict(bad); }).find("\"_schedule_phases\"[1]: \"end_step\" must be finite and after the previous phase's") != std::string::npos);
  one.load_state_dict(good);

  // The optimizer's state dict without "initial_lr" (one the schedule starts from): refused when the
  // scheduler's state loads, not by dereferencing nothing at the next step.
  Value osd = opt2.state_dict();
  osd["param_groups"].as_list()[0].as_dict().erase("initial_lr");
  opt2.load_state_dict(osd);
  CHECK(test::error_of([&] { one.load_state_dict(good); }).find("parameter group 0 of the optimizer has no \"initial_lr\"") != std::string::npos);
  CHECK(test::error_of([&] { one.step(); }).find("has no \"initial_lr\"") != std::string::npos);
}
