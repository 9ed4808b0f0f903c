#pragma once
// TrainingCheckpoint: a whole training run in one file, so a user's own loop stops and resumes
// exactly (the resumed run's parameters are bit-identical to those of a run that never stopped).
// It holds references to what decides the next step, and saves and restores all of it:
//
//   ember::train::TrainingCheckpoint ckpt(model, optimizer);
//   ckpt.scheduler(scheduler).loader(loader);               // both optional; loaders are named
//   if (resuming) ckpt.load("run.ember");                   // checks everything, then restores
//   for (; ckpt.epoch < epochs; ++ckpt.epoch) {
//     for (auto& batch : loader) { ...; optimizer.step(); ++ckpt.step; }
//     scheduler.step();
//     ckpt.values["best"] = best;                            // the user's own entries
//     ckpt.save("run.ember");                                // atomic: the old file or the new one
//   }
//
// The file is a dict: "epoch", "step", "model_state_dict", "optimizer_state_dict",
// "scheduler_state_dict" (with a scheduler), "generators": {"default": {seed, offset}, ...}, each
// loader's state under its name ("data_loader" by default), then the user's values. train_mnist's
// checkpoints are such files, with "loss", "accuracy", "test_loss", "best_accuracy" and "config"
// as its values.
//
// A checkpoint is input like any flag: restore checks each entry that decides the resumed run for
// its kind and range (naming it by its path: `run.ember: "data_loader/batch" must be in [0, ...],
// found -5`) before it changes anything, and if a part refuses what it is given (a shape that does
// not match the model, a loader over another dataset), what was already restored is put back, so a
// bad file changes nothing.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ember/core/generator.h"
#include "ember/core/value.h"
#include "ember/core/value_reader.h"
#include "ember/data/dataloader.h"
#include "ember/nn/module.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/optimizer.h"

namespace ember::train {

class TrainingCheckpoint {
 public:
  TrainingCheckpoint(nn::Module& model, optim::Optimizer& optimizer);

  TrainingCheckpoint& scheduler(optim::LRScheduler& scheduler);
  // Each loader's position under `key` (a top-level entry, as train_mnist's "data_loader").
  TrainingCheckpoint& loader(data::DataLoader& loader, const std::string& key = "data_loader");
  // A generator of the user's own beside the default one (always saved), as "generators/<name>".
  TrainingCheckpoint& generator(Generator& generator, const std::string& name);

  int64_t epoch = 0;  // what the loop counts: by convention epochs completed
  int64_t step = 0;   // and optimizer steps so far
  // The user's own entries, saved beside the library's at the top level (a key the library uses is
  // refused). After restore: every top-level entry the library does not use.
  Value::Dict values;

  Value state() const;
  void save(const std::string& path) const;  // state() with ember::save
  // Checks `ckpt` (see above; `where` names it in messages, e.g. its path), then restores every part
  // and epoch, step and values. Throws ember::Error changing nothing.
  void restore(const Value& ckpt, const std::string& where);
  void load(const std::string& path);  // ember::load(path, "cpu") and restore

  // The checks of restore without changing anything.
  void check(const Value& ckpt, const std::string& where) const;

 private:
  std::vector<std::string> keys() const;  // the top-level entries this checkpoint writes

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  optim::LRScheduler* scheduler_ = nullptr;
  std::vector<std::pair<std::string, data::DataLoader*>> loaders_;
  std::vector<std::pair<std::string, Generator*>> generators_;
};

// The checks that need no objects: a dict with "epoch", "step", "model_state_dict",
// "optimizer_state_dict", "generators" and each of `required` (a missing one: `<where>: not a
// training checkpoint: no "key" entry (<hint>)`), the counters and generator words, the optimizer's
// hyper-parameters and buffers, and a scheduler's learning rates where there is one. A program that
// must read the user's values before it can build its model (train_mnist reads its recipe) calls it
// first.
void check_training_checkpoint(const Value& ckpt, const std::string& where, const std::vector<std::string>& required = {},
                               const std::string& hint = {});

// A reader over `ckpt` whose messages name the file and the entry's path as these checks do
// (`run.ember: "config/lr" must be a finite number >= 0 and <= 1e+06, found inf`), for the user's
// own values.
ValueReader checkpoint_reader(const Value& ckpt, const std::string& where);

// A model's weights from a file that holds either a state dict or a checkpoint with "model_state_dict".
StateDict model_state_from(const Value& file, const std::string& where);

}  // namespace ember::train
