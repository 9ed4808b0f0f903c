#pragma once
// What a training checkpoint holds, and how train_mnist writes and restores it. Everything that
// decides the next step is saved (weights, momentum buffers, BatchNorm statistics and counters,
// the scheduler, the random generators, the data loader's position), so a resumed run continues
// bit-identically to one that never stopped.
#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "ember/data/dataloader.h"
#include "ember/core/value.h"
#include "ember/nn/module.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/optimizer.h"

namespace ember::examples {

struct TrainingState {
  int64_t epoch = 0;        // the epoch in progress (0-based)
  int64_t completed = 0;    // epochs finished (trained and evaluated)
  int64_t step = 0;         // optimizer steps so far
  double last_loss = 0;     // the last training batch's loss
  double best_accuracy = -1;
};

inline Value generator_value(const GeneratorState& s) {
  // Stored as int64 bit patterns: the value tree has no unsigned integers.
  return Value::dict({{"seed", std::bit_cast<int64_t>(s.seed)}, {"offset", std::bit_cast<int64_t>(s.offset)}});
}

inline GeneratorState generator_from(const Value& v) {
  return {std::bit_cast<uint64_t>(v.at("seed").as_int()), std::bit_cast<uint64_t>(v.at("offset").as_int())};
}

inline Value training_checkpoint(const TrainingState& st, const nn::Module& model, const optim::Optimizer& optimizer,
                                 const optim::LRScheduler& scheduler, const data::DataLoader& loader,
                                 const Value& config, double accuracy, double test_loss) {
  data::DataLoaderState ls = loader.state();
  return Value::dict({
      {"epoch", st.completed},
      {"step", st.step},
      {"model_state_dict", Value(model.state_dict())},
      {"optimizer_state_dict", optimizer.state_dict()},
      {"scheduler_state_dict", scheduler.state_dict()},
      {"loss", st.last_loss},
      {"accuracy", accuracy >= 0 ? Value(accuracy) : Value()},
      {"test_loss", test_loss >= 0 ? Value(test_loss) : Value()},
      {"best_accuracy", st.best_accuracy},
      {"generators", Value::dict({{"default", generator_value(default_generator().state())}})},
      {"data_loader", Value::dict({{"epoch", ls.epoch}, {"batch", ls.batch}, {"generator", generator_value(ls.generator)}})},
      {"config", config},
  });
}

// A checkpoint is input like any flag: each value that decides the resumed run is checked for its
// kind and range before anything uses it, and a wrong one is refused naming its key.
class CheckpointChecker {
 public:
  CheckpointChecker(const Value& root, const std::string& path) : root_(root), path_(path) {}

  const Value& at(const std::string& key) const {
    const Value* node = &root_;
    std::string so_far;
    for (size_t start = 0; start <= key.size();) {
      size_t slash = std::min(key.find('/', start), key.size());
      std::string part = key.substr(start, slash - start);
      EMBER_CHECK(node->is_dict() && node->contains(part), path_, ": not a valid training checkpoint: no \"", key,
                  "\" entry");
      node = &node->at(part);
      start = slash + 1;
    }
    return *node;
  }
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    const Value& v = at(key);
    EMBER_CHECK(v.is_int(), path_, ": \"", key, "\" must be an int, found a ", v.kind_name());
    EMBER_CHECK(v.as_int() >= lo && v.as_int() <= hi, path_, ": \"", key, "\" must be in [", lo, ", ", hi, "], found ",
                v.as_int());
    return v.as_int();
  }
  double number(const std::string& key, double lo, double hi, bool open_low = false) const {
    return number_of(at(key), key, lo, hi, open_low);
  }
  double number_of(const Value& v, const std::string& key, double lo, double hi, bool open_low = false) const {
    EMBER_CHECK(v.is_number(), path_, ": \"", key, "\" must be a number, found a ", v.kind_name());
    double x = v.as_double();
    EMBER_CHECK(std::isfinite(x) && (open_low ? x > lo : x >= lo) && x <= hi, path_, ": \"", key, "\" must be a finite number ",
                open_low ? "> " : ">= ", lo, " and <= ", hi, ", found ", x);
    return x;
  }
  void boolean(const std::string& key) const {
    EMBER_CHECK(at(key).is_bool(), path_, ": \"", key, "\" must be a bool, found a ", at(key).kind_name());
  }
  void one_of(const std::string& key, std::initializer_list<const char*> allowed) const {
    const Value& v = at(key);
    EMBER_CHECK(v.is_string(), path_, ": \"", key, "\" must be a string, found a ", v.kind_name());
    for (const char* a : allowed)
      if (v.as_string() == a) return;
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    EMBER_FAIL(path_, ": \"", key, "\" must be one of ", list, ", found \"", v.as_string(), "\"");
  }

 private:
  const Value& root_;
  const std::string& path_;
};

// Throws unless `ckpt` has what restore_training needs, each value of its kind and in its range,
// naming the file and the key.
inline void check_training_checkpoint(const Value& ckpt, const std::string& path) {
  EMBER_CHECK(ckpt.is_dict(), path, ": not a training checkpoint (the top level is a ", ckpt.kind_name(),
              ", expected a dict)");
  for (const char* key : {"epoch", "step", "model_state_dict", "optimizer_state_dict", "scheduler_state_dict",
                          "generators", "data_loader", "config"})
    EMBER_CHECK(ckpt.contains(key), path, ": not a training checkpoint: no \"", key,
                "\" entry (to start from a model's weights only, use --load)");
  constexpr int64_t kMaxCount = int64_t(1) << 53;  // counters stay exact as doubles and never overflow
  constexpr int64_t kMaxInt = int64_t(1) << 62;
  constexpr double kMaxRate = 1e6;
  CheckpointChecker c(ckpt, path);
  int64_t epoch = c.integer("epoch", 0, kMaxCount);
  c.integer("step", 0, kMaxCount);
  // "loss" is a record of the last batch (NaN where a run diverged), not an input of the next step.
  EMBER_CHECK(c.at("loss").is_number(), path, ": \"loss\" must be a number, found a ", c.at("loss").kind_name());
  c.number("best_accuracy", -1, 100);  // percent; -1 before the first evaluation
  c.integer("generators/default/seed", INT64_MIN, INT64_MAX);
  c.integer("generators/default/offset", INT64_MIN, INT64_MAX);
  c.integer("data_loader/epoch", 0, kMaxCount);
  c.integer("data_loader/batch", 0, kMaxCount);
  c.integer("data_loader/generator/seed", INT64_MIN, INT64_MAX);
  c.integer("data_loader/generator/offset", INT64_MIN, INT64_MAX);
  // The recipe: the same ranges as the flags that set it.
  c.one_of("config/dataset", {"mnist", "fashion-mnist"});
  c.one_of("config/model", {"mnistnet", "mnistnet-bn"});
  int64_t epochs = c.integer("config/epochs", 0, kMaxCount);
  EMBER_CHECK(epoch <= epochs, path, ": \"epoch\" (", epoch, ") is past \"config/epochs\" (", epochs, ")");
  c.integer("config/batch_size", 1, kMaxInt);
  c.integer("config/test_batch_size", 1, kMaxInt);
  c.number("config/lr", 0, kMaxRate);
  c.number("config/momentum", 0, kMaxRate);
  c.boolean("config/nesterov");
  c.number("config/weight_decay", 0, kMaxRate);
  c.integer("config/step_size", 1, kMaxCount);
  c.number("config/gamma", 0, kMaxRate, /*open_low=*/true);
  c.boolean("config/shuffle");
  // Recorded since train_mnist learnt other optimizers and schedulers; older checkpoints lack them.
  if (ckpt.at("config").contains("optimizer")) c.one_of("config/optimizer", {"sgd", "adam", "adamw"});
  if (ckpt.at("config").contains("scheduler")) c.one_of("config/scheduler", {"step", "cosine", "onecycle"});
  c.integer("config/seed", INT64_MIN, INT64_MAX);
  c.integer("config/train_size", 0, kMaxInt);
  if (ckpt.at("config").contains("threads")) c.integer("config/threads", 0, 1024);
  // The learning-rate state and the optimizer's hyper-parameters and buffers.
  c.integer("scheduler_state_dict/last_epoch", -1, kMaxCount);
  for (const char* key : {"scheduler_state_dict/base_lrs", "scheduler_state_dict/_last_lr"}) {
    const Value& lrs = c.at(key);
    EMBER_CHECK(lrs.is_list(), path, ": \"", key, "\" must be a list, found a ", lrs.kind_name());
    for (size_t i = 0; i < lrs.size(); ++i) c.number_of(lrs.at(i), std::string(key) + "/" + std::to_string(i), 0, kMaxRate);
  }
  const Value& groups = c.at("optimizer_state_dict/param_groups");
  EMBER_CHECK(groups.is_list(), path, ": \"optimizer_state_dict/param_groups\" must be a list, found a ", groups.kind_name());
  for (size_t g = 0; g < groups.size(); ++g) {
    std::string at = "optimizer_state_dict/param_groups/" + std::to_string(g);
    EMBER_CHECK(groups.at(g).is_dict(), path, ": \"", at, "\" must be a dict, found a ", groups.at(g).kind_name());
    for (const char* key : {"lr", "momentum", "dampening", "weight_decay"})
      if (groups.at(g).contains(key)) c.number_of(groups.at(g).at(key), at + "/" + key, 0, kMaxRate);
  }
  const Value& state = c.at("optimizer_state_dict/state");
  EMBER_CHECK(state.is_dict(), path, ": \"optimizer_state_dict/state\" must be a dict, found a ", state.kind_name());
  for (const auto& [param, entry] : state.as_dict()) {
    if (!entry.is_dict()) continue;  // Optimizer::load_state_dict names it
    for (const auto& [name, buffer] : entry.as_dict()) {
      bool floating = buffer.is_tensor() && buffer.as_tensor().defined() && is_floating(buffer.as_tensor().dtype());
      EMBER_CHECK(floating, path, ": \"optimizer_state_dict/state/", param, "/", name, "\" must be a floating-point tensor, found ",
                  buffer.is_tensor() && buffer.as_tensor().defined() ? std::string("a tensor of ") + dtype_name(buffer.as_tensor().dtype())
                                                                      : std::string("a ") + buffer.kind_name());
    }
  }
}

inline TrainingState restore_training(const Value& ckpt, nn::Module& model, optim::Optimizer& optimizer,
                                      optim::LRScheduler& scheduler, data::DataLoader& loader) {
  model.load_state_dict(ckpt.at("model_state_dict").to_state_dict());
  optimizer.load_state_dict(ckpt.at("optimizer_state_dict"));
  scheduler.load_state_dict(ckpt.at("scheduler_state_dict"));
  default_generator().set_state(generator_from(ckpt.at("generators").at("default")));
  const Value& dl = ckpt.at("data_loader");
  loader.set_state({dl.at("epoch").as_int(), dl.at("batch").as_int(), generator_from(dl.at("generator"))});
  TrainingState st;
  st.epoch = st.completed = ckpt.at("epoch").as_int();
  st.step = ckpt.at("step").as_int();
  st.last_loss = ckpt.at("loss").as_double();
  st.best_accuracy = ckpt.at("best_accuracy").as_double();
  return st;
}

// A model's weights from a file that holds either a state dict or a checkpoint with "model_state_dict".
inline StateDict model_state_from(const Value& file, const std::string& path) {
  if (file.is_dict() && file.contains("model_state_dict")) return file.at("model_state_dict").to_state_dict();
  EMBER_CHECK(file.is_dict(), path, ": expected a state dict or a checkpoint, found a ", file.kind_name());
  return file.to_state_dict();
}

}  // namespace ember::examples
