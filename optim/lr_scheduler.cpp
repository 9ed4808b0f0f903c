#include "ember/optim/lr_scheduler.h"

namespace ember::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::step() {
  ++last_epoch_;
  std::vector<double> lrs = get_lr();
  for (size_t g = 0; g < lrs.size(); ++g) optimizer_.set_lr(g, lrs[g]);
  last_lr_ = std::move(lrs);
}

static Value list_of(const std::vector<double>& v) {
  Value::List out;
  for (double x : v) out.push_back(Value(x));
  return Value(std::move(out));
}

static std::vector<double> doubles_of(const Value& v, const char* key, size_t expected) {
  EMBER_CHECK(v.is_list(), "LRScheduler.load_state_dict: \"", key, "\" must be a list, found a ", v.kind_name());
  EMBER_CHECK(v.size() == expected, "LRScheduler.load_state_dict: \"", key, "\" has ", v.size(),
              " values, the optimizer has ", expected, " parameter groups");
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); ++i) {
    EMBER_CHECK(v.at(i).is_number(), "LRScheduler.load_state_dict: \"", key, "\"[", i, "] must be a number, found a ",
                v.at(i).kind_name());
    out.push_back(v.at(i).as_double());
  }
  return out;
}

Value LRScheduler::state_dict() const {
  Value::Dict d;
  d.insert("base_lrs", list_of(base_lrs_));
  d.insert("last_epoch", Value(last_epoch_));
  d.insert("_last_lr", list_of(last_lr_));
  return Value(std::move(d));
}

void LRScheduler::load_state_dict(const Value& sd) {
  EMBER_CHECK(sd.is_dict(), where(), "expected a dict, found a ", sd.kind_name());
  for (const char* key : {"base_lrs", "last_epoch", "_last_lr"})
    EMBER_CHECK(sd.contains(key), where(), "missing \"", key, "\"");
  size_t n = optimizer_.num_param_groups();
  std::vector<double> base = doubles_of(sd.at("base_lrs"), "base_lrs", n);
  std::vector<double> last = doubles_of(sd.at("_last_lr"), "_last_lr", n);
  EMBER_CHECK(sd.at("last_epoch").is_int(), where(), "\"last_epoch\" must be an int, found a ",
              sd.at("last_epoch").kind_name());
  int64_t epoch = sd.at("last_epoch").as_int();
  EMBER_CHECK(epoch >= -1, where(), "\"last_epoch\" must be >= -1, found ", epoch);
  base_lrs_ = std::move(base);
  last_lr_ = std::move(last);
  last_epoch_ = epoch;
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size > 0, "StepLR: step_size must be positive, found ", step_size);
  step();
}

std::vector<double> StepLR::get_lr() const {
  std::vector<double> lrs;
  bool decay = last_epoch_ != 0 && last_epoch_ % step_size_ == 0;
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g)
    lrs.push_back(decay ? optimizer_.lr(g) * gamma_ : optimizer_.lr(g));
  return lrs;
}

Value StepLR::state_dict() const {
  Value::Dict d;
  d.insert("step_size", Value(step_size_));
  d.insert("gamma", Value(gamma_));
  Value base = LRScheduler::state_dict();
  for (const auto& [k, v] : base.as_dict()) d.insert(k, v);
  return Value(std::move(d));
}

void StepLR::load_state_dict(const Value& sd) {
  EMBER_CHECK(sd.is_dict() && sd.contains("step_size") && sd.contains("gamma"), where(),
              "a StepLR state dict needs \"step_size\" and \"gamma\"");
  const Value& s = sd.at("step_size");
  const Value& g = sd.at("gamma");
  EMBER_CHECK(s.is_int() && s.as_int() > 0, where(), "\"step_size\" must be a positive int");
  EMBER_CHECK(g.is_number(), where(), "\"gamma\" must be a number, found a ", g.kind_name());
  LRScheduler::load_state_dict(sd);  // checks the rest before changing anything
  step_size_ = s.as_int();
  gamma_ = g.as_double();
}

}  // namespace ember::optim
