#pragma once
// What a training checkpoint holds, and how train_mnist writes and restores it. Everything that
// decides the next step is saved (weights, momentum buffers, BatchNorm statistics and counters,
// the scheduler, the random generators, the data loader's position), so a resumed run continues
// bit-identically to one that never stopped.
#include <bit>
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

// Throws unless `ckpt` has what restore_training needs, naming the file and the missing key.
inline void check_training_checkpoint(const Value& ckpt, const std::string& path) {
  EMBER_CHECK(ckpt.is_dict(), path, ": not a training checkpoint (the top level is a ", ckpt.kind_name(),
              ", expected a dict)");
  for (const char* key : {"epoch", "step", "model_state_dict", "optimizer_state_dict", "scheduler_state_dict",
                          "generators", "data_loader", "config"})
    EMBER_CHECK(ckpt.contains(key), path, ": not a training checkpoint: no \"", key,
                "\" entry (to start from a model's weights only, use --load)");
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
