// Exercise 2: train, save a checkpoint every few epochs, then find the best one by the validation
// accuracy each recorded, and load it. The task has noisy labels, so the model starts to overfit
// and the last checkpoint is not the best one.
// docs/state-dicts.md, section "Exercises".
//
//   build/bin/exercise_best_checkpoint --dir /tmp/ember-tutorial/exercise2
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <regex>

#include "examples/flags.h"
#include "examples/sd_common.h"
#include "ember/io/checkpoint_reader.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/interop/serialize.h"
#include "ember/optim/sgd.h"

using namespace ember;
using examples::TwoLayerNet;
namespace fs = std::filesystem;

namespace {

struct Found {
  std::string path;
  int64_t epoch = -1;
  double val_accuracy = -1;
};

// [find-best]
// The checkpoint_epoch_N.ember in `dir` with the highest recorded val_accuracy (the earliest on a
// tie). Reads only each file's tree, not its tensors: open_checkpoint's skeleton has every number
// and string of the file and leaves the tensors on disk.
Found best_checkpoint(const std::string& dir) {
  std::vector<Found> all;
  std::regex name(R"(checkpoint_epoch_(\d+)\.ember)");
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    auto reader = io::open_checkpoint(entry.path().string());
    const Value& tree = reader->skeleton();
    all.push_back({entry.path().string(), tree.at("epoch").as_int(), tree.at("val_accuracy").as_double()});
  }
  EMBER_CHECK(!all.empty(), "no checkpoint_epoch_N.ember in ", dir);
  std::sort(all.begin(), all.end(), [](const Found& a, const Found& b) { return a.epoch < b.epoch; });
  for (const Found& f : all) std::printf("  epoch %2lld: val accuracy %.2f%%\n", (long long)f.epoch, f.val_accuracy);
  return *std::max_element(all.begin(), all.end(),
                           [](const Found& a, const Found& b) { return a.val_accuracy < b.val_accuracy; });
}
// [/find-best]

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/ember-tutorial/exercise2";
  int64_t epochs = 20, every = 2;
  examples::Flags flags("exercise_best_checkpoint", "Checkpoint every N epochs, then load the best.");
  flags.add("--dir", dir, "folder for the checkpoints");
  flags.add("--epochs", epochs, "epochs to train");
  flags.add("--every", every, "epochs between checkpoints");
  flags.parse(argc, argv);
  if (every <= 0) flags.fail("--every: must be > 0");
  return examples::run_program("exercise_best_checkpoint", [&] {
    examples::output_dir(dir);
    for (const auto& entry : fs::directory_iterator(dir))  // checkpoints of an earlier run would compete
      if (entry.path().extension() == ".ember") fs::remove(entry.path());
    // 30% of the training labels are wrong; the validation labels are right.
    examples::SyntheticTask train(128, 10, 4, /*teacher_seed=*/21, 1, /*noise=*/0.3), val(1024, 10, 4, 21, 2);
    manual_seed(0);
    TwoLayerNet model(10, 256, 4);
    auto forward = [&](const Tensor& x) { return model.forward(x); };
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.1).momentum(0.9));
    data::DataLoader loader(train, data::DataLoaderOptions(16).shuffle(true).seed(1));
    for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
      double loss = examples::train_epoch(model, forward, optimizer, loader);
      if (epoch % every) continue;
      double acc = examples::accuracy(model, forward, val);
      save(Value::dict({{"epoch", epoch},
                        {"model_state_dict", Value(model.state_dict())},
                        {"optimizer_state_dict", optimizer.state_dict()},
                        {"loss", loss},
                        {"val_accuracy", acc}}),
           examples::path_in(dir, "checkpoint_epoch_" + std::to_string(epoch) + ".ember"));
    }

    std::cout << "checkpoints in " << dir << ":\n";
    Found best = best_checkpoint(dir);
    std::printf("best: %s\n", best.path.c_str());
    TwoLayerNet restored(10, 256, 4);
    restored.load_state_dict(load(best.path).at("model_state_dict").to_state_dict());
    std::printf("loaded; its val accuracy measured again: %.2f%%\n",
                examples::accuracy(restored, [&](const Tensor& x) { return restored.forward(x); }, val));
  });
}
