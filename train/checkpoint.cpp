#include "ember/train/checkpoint.h"

#include <algorithm>
#include <cstdint>

#include "ember/io/interop/serialize.h"

namespace ember::train {

namespace {
constexpr int64_t kMaxCount = int64_t(1) << 53;  // counters stay exact as doubles and never overflow
constexpr int64_t kMaxInt = int64_t(1) << 62;
constexpr double kMaxRate = 1e6;

const char* const kLibraryKeys[] = {"epoch", "step", "model_state_dict", "optimizer_state_dict",
                                    "scheduler_state_dict", "generators"};

void check_generator(const ValueReader& r, const std::string& key) {
  r.integer(key + "/seed", INT64_MIN, INT64_MAX);
  r.integer(key + "/offset", INT64_MIN, INT64_MAX);
}

void check_loader(const ValueReader& r, const std::string& key) {
  r.integer(key + "/epoch", 0, kMaxCount);
  r.integer(key + "/batch", 0, kMaxCount);
  check_generator(r, key + "/generator");
  // Recorded since DataLoader::state_dict wrote the loader's state; older checkpoints lack them.
  if (r.has(key + "/dataset_size")) r.integer(key + "/dataset_size", 0, kMaxInt);
  if (r.has(key + "/batch_size")) r.integer(key + "/batch_size", 1, kMaxInt);
}

void check_scheduler(const ValueReader& r) {
  r.integer("scheduler_state_dict/last_epoch", -1, kMaxCount);
  for (std::string key : {"scheduler_state_dict/base_lrs", "scheduler_state_dict/_last_lr"}) {
    if (!r.has(key)) continue;  // SequentialLR keeps its parts' rates; its own load_state_dict names what it lacks
    const Value& lrs = r.list(key);
    for (size_t i = 0; i < lrs.size(); ++i) r.number_in(key + "/" + std::to_string(i), 0, kMaxRate);
  }
}

void check_optimizer(const ValueReader& r) {
  const Value& groups = r.list("optimizer_state_dict/param_groups");
  for (size_t g = 0; g < groups.size(); ++g) {
    std::string at = "optimizer_state_dict/param_groups/" + std::to_string(g);
    r.dict(at);
    for (const char* key : {"lr", "momentum", "dampening", "weight_decay"})
      if (groups.at(g).contains(key)) r.number_in(at + "/" + key, 0, kMaxRate);
  }
  const Value& state = r.dict("optimizer_state_dict/state");
  for (const auto& [param, entry] : state.as_dict()) {
    if (!entry.is_dict()) continue;  // Optimizer::load_state_dict names it
    for (const auto& [name, buffer] : entry.as_dict()) {
      bool tensor = buffer.is_tensor() && buffer.as_tensor().defined();
      if (!(tensor && is_floating(buffer.as_tensor().dtype())))
        r.fail(r.label("optimizer_state_dict/state/" + param + "/" + name), "a floating-point tensor",
               tensor ? std::string("a tensor of ") + dtype_name(buffer.as_tensor().dtype()) : r.found(buffer));
    }
  }
}

void require(const Value& ckpt, const std::string& where, const std::string& key, const std::string& hint) {
  EMBER_CHECK(ckpt.contains(key), where, ": not a training checkpoint: no \"", key, "\" entry",
              hint.empty() ? "" : " (" + hint + ")");
}
}  // namespace

ValueReader checkpoint_reader(const Value& ckpt, const std::string& where) {
  ValueReader::Style style;
  style.missing = "not a valid training checkpoint: no ";
  style.missing_after = " entry";
  return ValueReader(ckpt, where + ": ", style);
}

void check_training_checkpoint(const Value& ckpt, const std::string& where, const std::vector<std::string>& required,
                               const std::string& hint) {
  EMBER_CHECK(ckpt.is_dict(), where, ": not a training checkpoint (the top level is a ", ckpt.kind_name(),
              ", expected a dict)");
  // In the order train_mnist's checks have named them: the scheduler's entry before "generators".
  for (const char* key : {"epoch", "step", "model_state_dict", "optimizer_state_dict"}) require(ckpt, where, key, hint);
  for (const std::string& key : required)
    if (key == "scheduler_state_dict") require(ckpt, where, key, hint);
  require(ckpt, where, "generators", hint);
  for (const std::string& key : required) require(ckpt, where, key, hint);
  ValueReader r = checkpoint_reader(ckpt, where);
  r.integer("epoch", 0, kMaxCount);
  r.integer("step", 0, kMaxCount);
  check_generator(r, "generators/default");
  for (const auto& [name, unused] : r.dict("generators").as_dict())
    if (name != "default") check_generator(r, "generators/" + name);
  if (ckpt.contains("scheduler_state_dict")) check_scheduler(r);
  check_optimizer(r);
}

TrainingCheckpoint::TrainingCheckpoint(nn::Module& model, optim::Optimizer& optimizer)
    : model_(model), optimizer_(optimizer) {}

TrainingCheckpoint& TrainingCheckpoint::scheduler(optim::LRScheduler& scheduler) {
  scheduler_ = &scheduler;
  return *this;
}

TrainingCheckpoint& TrainingCheckpoint::loader(data::DataLoader& loader, const std::string& key) {
  std::vector<std::string> taken = keys();
  EMBER_CHECK(!key.empty() && key.find('/') == std::string::npos &&
                  std::find(taken.begin(), taken.end(), key) == taken.end(),
              "TrainingCheckpoint: a loader's key must be a new top-level entry without '/', found \"", key, "\"");
  loaders_.emplace_back(key, &loader);
  return *this;
}

TrainingCheckpoint& TrainingCheckpoint::generator(Generator& generator, const std::string& name) {
  bool taken = name == "default" || std::any_of(generators_.begin(), generators_.end(),
                                                [&](const auto& g) { return g.first == name; });
  EMBER_CHECK(!name.empty() && name.find('/') == std::string::npos && !taken,
              "TrainingCheckpoint: a generator's name must be new, not \"default\" and without '/', found \"", name,
              "\"");
  generators_.emplace_back(name, &generator);
  return *this;
}

std::vector<std::string> TrainingCheckpoint::keys() const {
  std::vector<std::string> out(std::begin(kLibraryKeys), std::end(kLibraryKeys));
  for (const auto& [key, unused] : loaders_) out.push_back(key);
  return out;
}

Value TrainingCheckpoint::state() const {
  std::vector<std::string> taken = keys();
  Value::Dict generators;
  generators.insert("default", default_generator().state_dict());
  for (const auto& [name, g] : generators_) generators.insert(name, g->state_dict());
  Value out = Value::dict({{"epoch", epoch},
                           {"step", step},
                           {"model_state_dict", Value(model_.state_dict())},
                           {"optimizer_state_dict", optimizer_.state_dict()}});
  if (scheduler_) out["scheduler_state_dict"] = scheduler_->state_dict();
  out["generators"] = Value(std::move(generators));
  for (const auto& [key, l] : loaders_) out[key] = l->state_dict();
  for (const auto& [key, v] : values) {
    EMBER_CHECK(std::find(taken.begin(), taken.end(), key) == taken.end(), "TrainingCheckpoint: the value \"", key,
                "\" has the name of an entry the checkpoint writes itself");
    out[key] = v;
  }
  return out;
}

void TrainingCheckpoint::save(const std::string& path) const { ember::save(state(), path); }

void TrainingCheckpoint::check(const Value& ckpt, const std::string& where) const {
  std::vector<std::string> required;
  if (scheduler_) required.push_back("scheduler_state_dict");
  for (const auto& [key, unused] : loaders_) required.push_back(key);
  check_training_checkpoint(ckpt, where, required);
  ValueReader r = checkpoint_reader(ckpt, where);
  for (const auto& [name, unused] : generators_) r.at("generators/" + name);
  for (const auto& [key, unused] : loaders_) check_loader(r, key);
}

void TrainingCheckpoint::restore(const Value& ckpt, const std::string& where) {
  check(ckpt, where);
  // What the parts hold now, to put back if one of them refuses its state (each checks all of its
  // own before it changes anything, so only the parts restored before it need undoing).
  StateDict model_before;
  for (const auto& [name, t] : model_.state_dict()) model_before.insert(name, t.clone());
  Value optimizer_before = optimizer_.state_dict();
  Value scheduler_before = scheduler_ ? scheduler_->state_dict() : Value();
  GeneratorState default_before = default_generator().state();
  std::vector<GeneratorState> generators_before;
  for (const auto& [name, g] : generators_) generators_before.push_back(g->state());
  std::vector<data::DataLoaderState> loaders_before;
  for (const auto& [key, l] : loaders_) loaders_before.push_back(l->state());
  try {
    model_.load_state_dict(ckpt.at("model_state_dict").to_state_dict());
    optimizer_.load_state_dict(ckpt.at("optimizer_state_dict"));
    if (scheduler_) scheduler_->load_state_dict(ckpt.at("scheduler_state_dict"));
    default_generator().load_state_dict(ckpt.at("generators").at("default"));
    for (const auto& [name, g] : generators_) g->load_state_dict(ckpt.at("generators").at(name));
    for (const auto& [key, l] : loaders_) l->load_state_dict(ckpt.at(key));
  } catch (...) {
    model_.load_state_dict(model_before);
    optimizer_.load_state_dict(optimizer_before);
    if (scheduler_) scheduler_->load_state_dict(scheduler_before);
    default_generator().set_state(default_before);
    for (size_t i = 0; i < generators_.size(); ++i) generators_[i].second->set_state(generators_before[i]);
    for (size_t i = 0; i < loaders_.size(); ++i) loaders_[i].second->set_state(loaders_before[i]);
    throw;
  }
  epoch = ckpt.at("epoch").as_int();
  step = ckpt.at("step").as_int();
  std::vector<std::string> taken = keys();
  values = Value::Dict();
  for (const auto& [key, v] : ckpt.as_dict())
    if (std::find(taken.begin(), taken.end(), key) == taken.end()) values.insert(key, v);
}

void TrainingCheckpoint::load(const std::string& path) { restore(ember::load(path, "cpu"), path); }

StateDict model_state_from(const Value& file, const std::string& where) {
  if (file.is_dict() && file.contains("model_state_dict")) return file.at("model_state_dict").to_state_dict();
  EMBER_CHECK(file.is_dict(), where, ": expected a state dict or a checkpoint, found a ", file.kind_name());
  return file.to_state_dict();
}

}  // namespace ember::train
