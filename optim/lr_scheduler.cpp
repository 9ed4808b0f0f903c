// The rates are PyTorch's to the last bit only if each multiply and add rounds on its own, as in
// Python: no fused multiply-add (GCC contracts a * b + c into one by default where FMA exists).
#pragma GCC optimize("fp-contract=off")
#include "ember/optim/lr_scheduler.h"

#include "ember/core/value_reader.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace ember::optim {

namespace {
constexpr double kPi = std::numbers::pi;

Value list_of(const std::vector<double>& v) {
  Value::List out;
  for (double x : v) out.push_back(Value(x));
  return Value(std::move(out));
}

std::string found_str(const Value& v) { return ValueReader::found(v, ValueReader::Found::Quoted); }

// The state dict `sd` read with core's reader, in these messages' style: `<where>"gamma" must be a
// number, found "low"`, `"base_lrs"[1]`, `missing "T_max"`.
ValueReader reader(const std::string& where, const Value& sd) {
  ValueReader::Style style;
  style.found = ValueReader::Found::Quoted;
  style.bracket_index = true;
  return ValueReader(sd, where, style);
}

const char* const kPerGroup = " (one per parameter group of the optimizer)";
// The largest gamma or eta_min a loaded state may hold: anything past it makes the rates overflow
// (gamma 1e300) or is no learning rate a run uses; 0 and below, NaN and infinity are refused too.
constexpr double kMaxFactor = 1e6;
}  // namespace

// ---- LRScheduler ----

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) {
    if (!optimizer.initial_lr(g)) optimizer.set_initial_lr(g, optimizer.lr(g));
    base_lrs_.push_back(*optimizer.initial_lr(g));
  }
}

void LRScheduler::apply(std::vector<double> lrs) {
  for (size_t g = 0; g < lrs.size(); ++g) optimizer_.set_lr(g, lrs[g]);
  last_lr_ = std::move(lrs);
}

void LRScheduler::step() {
  ++step_count_;
  ++last_epoch_;
  apply(get_lr());
}

void LRScheduler::step_to(int64_t epoch) {
  ++step_count_;
  last_epoch_ = epoch;
  apply(closed_form_lr());
}

Value LRScheduler::state_dict() const {
  Value::Dict d;
  own_state(d);
  d.insert("base_lrs", list_of(base_lrs_));
  d.insert("last_epoch", Value(last_epoch_));
  d.insert("_step_count", Value(step_count_));
  d.insert("_last_lr", list_of(last_lr_));
  return Value(std::move(d));
}

void LRScheduler::check_state(const Value& sd) const {
  EMBER_CHECK(sd.is_dict(), where(), "expected a dict, found ", found_str(sd));
  size_t n = optimizer_.num_param_groups();
  reader(where(), sd).numbers("base_lrs", n, kPerGroup);
  reader(where(), sd).numbers("_last_lr", n, kPerGroup);
  reader(where(), sd).integer_at_least("last_epoch", -1);
  if (sd.contains("_step_count")) reader(where(), sd).integer_at_least("_step_count", 0);
  check_own_state(sd);
}

void LRScheduler::apply_state(const Value& sd) {
  size_t n = optimizer_.num_param_groups();
  base_lrs_ = reader(where(), sd).numbers("base_lrs", n, kPerGroup);
  last_lr_ = reader(where(), sd).numbers("_last_lr", n, kPerGroup);
  last_epoch_ = sd.at("last_epoch").as_int();
  step_count_ = sd.contains("_step_count") ? sd.at("_step_count").as_int() : last_epoch_ + 1;
  load_own_state(sd);
}

void LRScheduler::load_state_dict(const Value& sd) {
  check_state(sd);
  apply_state(sd);
}

// ---- StepLR ----

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size > 0, "StepLR: step_size must be positive, found ", step_size);
  step();
}

std::vector<double> StepLR::get_lr() {
  std::vector<double> lrs;
  bool decay = last_epoch_ != 0 && last_epoch_ % step_size_ == 0;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g)
    lrs.push_back(decay ? optimizer_.lr(g) * gamma_ : optimizer_.lr(g));
  return lrs;
}

std::vector<double> StepLR::closed_form_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, double(last_epoch_ / step_size_)));
  return lrs;
}

void StepLR::own_state(Value::Dict& d) const {
  d.insert("step_size", Value(step_size_));
  d.insert("gamma", Value(gamma_));
}
void StepLR::check_own_state(const Value& sd) const {
  reader(where(), sd).integer_at_least("step_size", 1);
  reader(where(), sd).number_in("gamma", 0, kMaxFactor, /*open_low=*/true);
}
void StepLR::load_own_state(const Value& sd) {
  step_size_ = sd.at("step_size").as_int();
  gamma_ = sd.at("gamma").as_double();
}

// ---- MultiStepLR ----

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  step();
}

std::vector<double> MultiStepLR::get_lr() {
  auto count = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  std::vector<double> lrs;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g)
    lrs.push_back(count == 0 ? optimizer_.lr(g) : optimizer_.lr(g) * std::pow(gamma_, double(count)));
  return lrs;
}

std::vector<double> MultiStepLR::closed_form_lr() {
  auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, double(passed)));
  return lrs;
}

void MultiStepLR::own_state(Value::Dict& d) const {
  Value::Dict counter;  // {epoch: count}, as PyTorch's Counter
  for (int64_t m : milestones_) {
    Value& c = counter[std::to_string(m)];
    c = Value(c.is_none() ? int64_t(1) : c.as_int() + 1);
  }
  d.insert("milestones", Value(std::move(counter)));
  d.insert("gamma", Value(gamma_));
}

namespace {
// "milestones": a dict {epoch: count} (Ember's and PyTorch's Counter) or a list of epochs.
std::vector<int64_t> parse_milestones(const std::string& where, const Value& v) {
  std::vector<int64_t> out;
  if (v.is_list()) {
    for (size_t i = 0; i < v.size(); ++i) {
      EMBER_CHECK(v.at(i).is_int(), where, "\"milestones\"[", i, "] must be an int, found ", found_str(v.at(i)));
      out.push_back(v.at(i).as_int());
    }
  } else {
    EMBER_CHECK(v.is_dict(), where, "\"milestones\" must be a dict {epoch: count} or a list, found ", found_str(v));
    for (const auto& [k, c] : v.as_dict()) {
      char* end = nullptr;
      long long epoch = std::strtoll(k.c_str(), &end, 10);
      EMBER_CHECK(!k.empty() && *end == '\0', where, "\"milestones\" key \"", k, "\" must be an epoch (an int)");
      EMBER_CHECK(c.is_int() && c.as_int() >= 0 && c.as_int() < 1000000, where, "\"milestones\"[", k,
                  "] must be a count (an int >= 0), found ", found_str(c));
      for (int64_t j = 0; j < c.as_int(); ++j) out.push_back(epoch);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

void MultiStepLR::check_own_state(const Value& sd) const {
  parse_milestones(where(), reader(where(), sd).at("milestones"));
  reader(where(), sd).number_in("gamma", 0, kMaxFactor, /*open_low=*/true);
}
void MultiStepLR::load_own_state(const Value& sd) {
  milestones_ = parse_milestones(where(), sd.at("milestones"));
  gamma_ = sd.at("gamma").as_double();
}

// ---- ExponentialLR ----

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) { step(); }

std::vector<double> ExponentialLR::get_lr() {
  std::vector<double> lrs;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g)
    lrs.push_back(last_epoch_ == 0 ? optimizer_.lr(g) : optimizer_.lr(g) * gamma_);
  return lrs;
}

std::vector<double> ExponentialLR::closed_form_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_) lrs.push_back(base * std::pow(gamma_, double(last_epoch_)));
  return lrs;
}

void ExponentialLR::own_state(Value::Dict& d) const { d.insert("gamma", Value(gamma_)); }
void ExponentialLR::check_own_state(const Value& sd) const {
  reader(where(), sd).number_in("gamma", 0, kMaxFactor, /*open_low=*/true);
}
void ExponentialLR::load_own_state(const Value& sd) { gamma_ = sd.at("gamma").as_double(); }

// ---- CosineAnnealingLR ----

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  EMBER_CHECK(T_max > 0, "CosineAnnealingLR: T_max must be positive, found ", T_max);
  step();
}

std::vector<double> CosineAnnealingLR::get_lr() {
  std::vector<double> lrs;
  const double e = double(last_epoch_), T = double(T_max_);
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
    const double lr = optimizer_.lr(g), base = base_lrs_[g];
    if (last_epoch_ == 0)
      lrs.push_back(lr);
    else if (step_count_ == 1 && last_epoch_ > 0)
      lrs.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(e * kPi / T)) / 2);
    else if ((last_epoch_ - 1 - T_max_) % (2 * T_max_) == 0)
      lrs.push_back(lr + (base - eta_min_) * (1 - std::cos(kPi / T)) / 2);
    else
      lrs.push_back((1 + std::cos(kPi * e / T)) / (1 + std::cos(kPi * (e - 1) / T)) * (lr - eta_min_) + eta_min_);
  }
  return lrs;
}

std::vector<double> CosineAnnealingLR::closed_form_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_)
    lrs.push_back(eta_min_ + (base - eta_min_) * (1 + std::cos(kPi * double(last_epoch_) / double(T_max_))) / 2);
  return lrs;
}

void CosineAnnealingLR::own_state(Value::Dict& d) const {
  d.insert("T_max", Value(T_max_));
  d.insert("eta_min", Value(eta_min_));
}
void CosineAnnealingLR::check_own_state(const Value& sd) const {
  reader(where(), sd).integer_at_least("T_max", 1);
  reader(where(), sd).number_in("eta_min", 0, kMaxFactor);
}
void CosineAnnealingLR::load_own_state(const Value& sd) {
  T_max_ = sd.at("T_max").as_int();
  eta_min_ = sd.at("eta_min").as_double();
}

// ---- LinearLR ----

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  EMBER_CHECK(start_factor > 0 && start_factor <= 1,
              "LinearLR: start_factor must be in (0, 1], found ", short_float(start_factor));
  EMBER_CHECK(end_factor >= 0 && end_factor <= 1, "LinearLR: end_factor must be in [0, 1], found ",
              short_float(end_factor));
  EMBER_CHECK(total_iters > 0, "LinearLR: total_iters must be positive, found ", total_iters);
  step();
}

std::vector<double> LinearLR::get_lr() {
  std::vector<double> lrs;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
    const double lr = optimizer_.lr(g);
    if (last_epoch_ == 0)
      lrs.push_back(lr * start_factor_);
    else if (last_epoch_ > total_iters_)
      lrs.push_back(lr);
    else
      lrs.push_back(lr * (1. + (end_factor_ - start_factor_) /
                                   (double(total_iters_) * start_factor_ +
                                    double(last_epoch_ - 1) * (end_factor_ - start_factor_))));
  }
  return lrs;
}

std::vector<double> LinearLR::closed_form_lr() {
  std::vector<double> lrs;
  for (double base : base_lrs_)
    lrs.push_back(base * (start_factor_ + (end_factor_ - start_factor_) *
                                              double(std::min(total_iters_, last_epoch_)) / double(total_iters_)));
  return lrs;
}

void LinearLR::own_state(Value::Dict& d) const {
  d.insert("start_factor", Value(start_factor_));
  d.insert("end_factor", Value(end_factor_));
  d.insert("total_iters", Value(total_iters_));
}
void LinearLR::check_own_state(const Value& sd) const {
  reader(where(), sd).number("start_factor", 0);
  reader(where(), sd).number("end_factor", 0);
  reader(where(), sd).integer_at_least("total_iters", 1);
}
void LinearLR::load_own_state(const Value& sd) {
  start_factor_ = sd.at("start_factor").as_double();
  end_factor_ = sd.at("end_factor").as_double();
  total_iters_ = sd.at("total_iters").as_int();
}

// ---- OneCycleLR ----

OneCycleLR::OneCycleLR(Optimizer& optimizer, const OneCycleLROptions& o)
    : LRScheduler(optimizer), total_steps_(o.total_steps()), cycle_momentum_(o.cycle_momentum()) {
  EMBER_CHECK(o.total_steps() > 0, "Expected positive integer total_steps, but got ", o.total_steps());
  EMBER_CHECK(o.pct_start() >= 0 && o.pct_start() <= 1, "Expected float between 0 and 1 pct_start, but got ",
              short_float(o.pct_start()));
  EMBER_CHECK(o.anneal_strategy() == "cos" || o.anneal_strategy() == "linear",
              "anneal_strategy must by one of 'cos' or 'linear', instead got ", o.anneal_strategy());
  cos_ = o.anneal_strategy() == "cos";
  const double total = double(total_steps_), pct = o.pct_start();
  if (o.three_phase())
    phases_ = {{pct * total - 1, false, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {2 * pct * total - 2, false, "max_lr", "initial_lr", "base_momentum", "max_momentum"},
               {total - 1, true, "initial_lr", "min_lr", "max_momentum", "max_momentum"}};
  else
    phases_ = {{pct * total - 1, false, "initial_lr", "max_lr", "max_momentum", "base_momentum"},
               {total - 1, true, "max_lr", "min_lr", "base_momentum", "max_momentum"}};
  const size_t n = optimizer.num_param_groups();
  EMBER_CHECK(o.max_lr().size() == 1 || o.max_lr().size() == n, "expected ", n, " values for max_lr, got ",
              o.max_lr().size());
  for (size_t g = 0; g < n; ++g) {
    double max_lr = o.max_lr().size() == 1 ? o.max_lr()[0] : o.max_lr()[g];
    double initial = max_lr / o.div_factor();
    optimizer.set_initial_lr(g, initial);
    max_lr_.push_back(max_lr);
    min_lr_.push_back(initial / o.final_div_factor());
    base_lrs_[g] = initial;
  }
  if (cycle_momentum_) {
    EMBER_CHECK(optimizer.momentum_key(), "optimizer must support momentum with `cycle_momentum` option enabled");
    use_beta1_ = std::string(optimizer.momentum_key()) == "betas";
    for (size_t g = 0; g < n; ++g) {
      optimizer.set_momentum(g, o.max_momentum());
      max_momentum_.push_back(o.max_momentum());
      base_momentum_.push_back(o.base_momentum());
    }
  }
  step();
}

double OneCycleLR::group_value(size_t g, const std::string& name) const {
  if (name == "initial_lr") {
    EMBER_CHECK(optimizer_.initial_lr(g), where(), "parameter group ", g, " of the optimizer has no \"initial_lr\", ",
                "which the schedule starts from (load the optimizer state dict saved with this scheduler)");
    return *optimizer_.initial_lr(g);
  }
  if (name == "max_lr") return max_lr_[g];
  if (name == "min_lr") return min_lr_[g];
  if (name == "max_momentum") return max_momentum_[g];
  return base_momentum_[g];  // "base_momentum" (names are checked when loaded)
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (cos_) {
    double cos_out = std::cos(kPi * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;
}

std::vector<double> OneCycleLR::get_lr() {
  const int64_t step_num = last_epoch_;
  EMBER_CHECK(step_num <= total_steps_, "Tried to step ", step_num + 1, " times. The specified number of total steps is ",
              total_steps_);
  std::vector<double> lrs;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
    double start_step = 0, lr = 0, momentum = 0;
    for (size_t i = 0; i < phases_.size(); ++i) {
      const Phase& ph = phases_[i];
      if (double(step_num) <= ph.end_step || i == phases_.size() - 1) {
        double pct = (double(step_num) - start_step) / (ph.end_step - start_step);
        lr = anneal(group_value(g, ph.start_lr), group_value(g, ph.end_lr), pct);
        if (cycle_momentum_) momentum = anneal(group_value(g, ph.start_momentum), group_value(g, ph.end_momentum), pct);
        break;
      }
      start_step = ph.end_step;
    }
    lrs.push_back(lr);
    if (cycle_momentum_) optimizer_.set_momentum(g, momentum);
  }
  return lrs;
}

void OneCycleLR::own_state(Value::Dict& d) const {
  d.insert("total_steps", Value(total_steps_));
  Value::List phases;
  for (const Phase& p : phases_) {
    Value::Dict ph;
    ph.insert("end_step", p.end_step_is_int ? Value(int64_t(p.end_step)) : Value(p.end_step));
    ph.insert("start_lr", Value(p.start_lr));
    ph.insert("end_lr", Value(p.end_lr));
    ph.insert("start_momentum", Value(p.start_momentum));
    ph.insert("end_momentum", Value(p.end_momentum));
    phases.push_back(Value(std::move(ph)));
  }
  d.insert("_schedule_phases", Value(std::move(phases)));
  d.insert("_anneal_func_type", Value(cos_ ? "cos" : "linear"));  // PyTorch 2's key (1.13 kept a bound method)
  d.insert("cycle_momentum", Value(cycle_momentum_));
  if (cycle_momentum_) d.insert("use_beta1", Value(use_beta1_));
}

std::vector<OneCycleLR::Phase> OneCycleLR::parse_phases(const Value& v) const {
  EMBER_CHECK(v.is_list() && v.size() >= 1, where(), "\"_schedule_phases\" must be a non-empty list, found ",
              found_str(v));
  std::vector<Phase> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const Value& p = v.at(i);
    std::string at = where() + "\"_schedule_phases\"[" + std::to_string(i) + "]: ";
    EMBER_CHECK(p.is_dict(), at, "expected a dict, found ", found_str(p));
    Phase ph;
    ph.end_step = reader(at, p).number("end_step");
    ph.end_step_is_int = p.at("end_step").is_int();
    // The phases split the steps in order: each ends after the one before it.
    EMBER_CHECK(std::isfinite(ph.end_step) && (out.empty() || ph.end_step > out.back().end_step), at,
                "\"end_step\" must be finite and after the previous phase's (",
                out.empty() ? std::string("none") : short_float(out.back().end_step), "), found ", short_float(ph.end_step));
    std::string* names[] = {&ph.start_lr, &ph.end_lr, &ph.start_momentum, &ph.end_momentum};
    const char* keys[] = {"start_lr", "end_lr", "start_momentum", "end_momentum"};
    for (int k = 0; k < 4; ++k) {
      const Value& s = reader(at, p).at(keys[k]);
      static const char* known[] = {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"};
      bool ok = s.is_string() && std::find_if(std::begin(known), std::end(known),
                                              [&](const char* n) { return s.as_string() == n; }) != std::end(known);
      EMBER_CHECK(ok, at, "\"", keys[k], "\" must be one of initial_lr, max_lr, min_lr, max_momentum, base_momentum, found ",
                  found_str(s));
      *names[k] = s.as_string();
    }
    out.push_back(ph);
  }
  return out;
}

void OneCycleLR::check_own_state(const Value& sd) const {
  reader(where(), sd).integer_at_least("total_steps", 1);
  parse_phases(reader(where(), sd).at("_schedule_phases"));
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g)  // what the phases start from
    EMBER_CHECK(optimizer_.initial_lr(g), where(), "parameter group ", g, " of the optimizer has no \"initial_lr\", ",
                "which the schedule starts from (load the optimizer state dict saved with this scheduler)");
  if (sd.contains("_anneal_func_type")) {
    const Value& a = sd.at("_anneal_func_type");
    EMBER_CHECK(a.is_string() && (a.as_string() == "cos" || a.as_string() == "linear"), where(),
                "\"_anneal_func_type\" must be \"cos\" or \"linear\", found ", found_str(a));
  }
  bool cycle = reader(where(), sd).flag("cycle_momentum");
  EMBER_CHECK(cycle == cycle_momentum_, where(), "\"cycle_momentum\" is ", cycle ? "true" : "false",
              ", this scheduler was built with cycle_momentum ", cycle_momentum_ ? "true" : "false");
  if (sd.contains("use_beta1")) reader(where(), sd).flag("use_beta1");
}

void OneCycleLR::load_own_state(const Value& sd) {
  total_steps_ = sd.at("total_steps").as_int();
  phases_ = parse_phases(sd.at("_schedule_phases"));
  if (sd.contains("_anneal_func_type")) cos_ = sd.at("_anneal_func_type").as_string() == "cos";
  if (sd.contains("use_beta1")) use_beta1_ = sd.at("use_beta1").as_bool();
}

// ---- SequentialLR ----

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : LRScheduler(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  EMBER_CHECK(!schedulers_.empty(), "SequentialLR: expected at least one scheduler");
  for (size_t i = 0; i < schedulers_.size(); ++i) {
    EMBER_CHECK(schedulers_[i], "SequentialLR: scheduler ", i, " is null");
    EMBER_CHECK(&schedulers_[i]->optimizer_ == &optimizer,
                "Sequential Schedulers expects all schedulers to belong to the same optimizer, but got schedulers at "
                "index ", i, " to be different than the optimizer passed in.");
  }
  EMBER_CHECK(milestones_.size() == schedulers_.size() - 1,
              "Sequential Schedulers expects number of schedulers provided to be one more than the number of "
              "milestone points, but got number of schedulers ", schedulers_.size(),
              " and the number of milestones to be equal to ", milestones_.size());
  last_epoch_ = 0;
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) optimizer.set_lr(g, *optimizer.initial_lr(g));
  for (auto& s : schedulers_) s->last_epoch_ -= 1;
  schedulers_[0]->step_count_ = 0;
  schedulers_[0]->step();
  last_lr_ = schedulers_[0]->get_last_lr();
}

void SequentialLR::step() {
  ++last_epoch_;
  size_t idx = std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) - milestones_.begin();
  LRScheduler& s = *schedulers_[idx];
  if (idx > 0 && milestones_[idx - 1] == last_epoch_)
    s.step_to(0);
  else
    s.step();
  last_lr_ = s.get_last_lr();
}

Value SequentialLR::state_dict() const {
  Value::Dict d;
  Value::List ms;
  for (int64_t m : milestones_) ms.push_back(Value(m));
  d.insert("_milestones", Value(std::move(ms)));
  d.insert("last_epoch", Value(last_epoch_));
  d.insert("_last_lr", list_of(last_lr_));
  Value::List subs;
  for (const auto& s : schedulers_) subs.push_back(s->state_dict());
  d.insert("_schedulers", Value(std::move(subs)));
  return Value(std::move(d));
}

void SequentialLR::check_state(const Value& sd) const {
  EMBER_CHECK(sd.is_dict(), where(), "expected a dict, found ", found_str(sd));
  const Value& ms = reader(where(), sd).at("_milestones");
  EMBER_CHECK(ms.is_list() && ms.size() == milestones_.size(), where(), "\"_milestones\" must be a list of ",
              milestones_.size(), " ints, found ", ms.is_list() ? std::to_string(ms.size()) + " values" : found_str(ms));
  for (size_t i = 0; i < ms.size(); ++i)
    EMBER_CHECK(ms.at(i).is_int(), where(), "\"_milestones\"[", i, "] must be an int, found ", found_str(ms.at(i)));
  reader(where(), sd).integer_at_least("last_epoch", -1);
  reader(where(), sd).numbers("_last_lr", optimizer_.num_param_groups(), kPerGroup);
  const Value& subs = reader(where(), sd).at("_schedulers");
  EMBER_CHECK(subs.is_list() && subs.size() == schedulers_.size(), where(), "\"_schedulers\" must be a list of ",
              schedulers_.size(), " state dicts (one per scheduler), found ",
              subs.is_list() ? std::to_string(subs.size()) : found_str(subs));
  for (size_t i = 0; i < subs.size(); ++i) schedulers_[i]->check_state(subs.at(i));
}

void SequentialLR::apply_state(const Value& sd) {
  milestones_.clear();
  for (size_t i = 0; i < sd.at("_milestones").size(); ++i) milestones_.push_back(sd.at("_milestones").at(i).as_int());
  last_epoch_ = sd.at("last_epoch").as_int();
  last_lr_ = reader(where(), sd).numbers("_last_lr", optimizer_.num_param_groups(), kPerGroup);
  for (size_t i = 0; i < schedulers_.size(); ++i) schedulers_[i]->apply_state(sd.at("_schedulers").at(i));
}

}  // namespace ember::optim
