// sd_checkpoint: a general checkpoint (model, optimizer, epoch, loss, and the data order), written
// every N epochs, plus best.ember kept by validation accuracy; and resuming training from one.
// A resumed run prints exactly the lines the uninterrupted run printed for the same epochs.
// docs/state-dicts.md, section "Checkpoints: saving and resuming training".
//
//   build/bin/sd_checkpoint --dir /tmp/ember-tutorial --epochs 6 --every 2
//   build/bin/sd_checkpoint --dir /tmp/ember-tutorial/resumed --epochs 6 --every 2 --resume CKPT
// with CKPT = /tmp/ember-tutorial/checkpoint_epoch_4.ember.
#include <cstdio>
#include <iostream>

#include "examples/flags.h"
#include "examples/sd_common.h"
#include "ember/io/interop/serialize.h"
#include "ember/optim/sgd.h"

using namespace ember;
using examples::TwoLayerNet;

int main(int argc, char** argv) {
  std::string dir = "/tmp/ember-tutorial", resume;
  int64_t epochs = 6, every = 2;
  examples::Flags flags("sd_checkpoint", "Train with checkpoints every N epochs, keep the best, resume.");
  flags.add("--dir", dir, "folder for checkpoint_epoch_N.ember and best.ember");
  flags.add("--epochs", epochs, "epochs of the whole run");
  flags.add("--every", every, "epochs between checkpoints");
  flags.add("--resume", resume, "a checkpoint to continue from");
  flags.parse(argc, argv);
  if (every <= 0) flags.fail("--every: must be > 0");
  return examples::run_program("sd_checkpoint", [&] {
    examples::SyntheticTask train(512, 10, 4, /*teacher_seed=*/5, /*seed=*/1), val(256, 10, 4, 5, /*seed=*/2);
    manual_seed(0);
    TwoLayerNet model(10, 32, 4);
    auto forward = [&](const Tensor& x) { return model.forward(x); };
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    data::DataLoader loader(train, data::DataLoaderOptions(32).shuffle(true).seed(1));
    int64_t start = 0;
    double loss = 0, best = -1;
    examples::output_dir(dir);

    // [resume]
    if (!resume.empty()) {
      Value ckpt = load(resume);
      model.load_state_dict(ckpt.at("model_state_dict").to_state_dict());
      optimizer.load_state_dict(ckpt.at("optimizer_state_dict"));
      loader.load_state_dict(ckpt.at("data_loader"));  // where the shuffled batches were
      start = ckpt.at("epoch").as_int();
      loss = ckpt.at("loss").as_double();
      best = ckpt.at("best_val_accuracy").as_double();
      model.train();  // continue training (eval() instead for inference)
      std::printf("resumed from %s: %lld epochs done, loss %.4f, val accuracy %.2f%%\n", resume.c_str(),
                  (long long)start, loss, ckpt.at("val_accuracy").as_double());
    }
    // [/resume]

    for (int64_t epoch = start; epoch < epochs; ++epoch) {
      loss = examples::train_epoch(model, forward, optimizer, loader);
      double acc = examples::accuracy(model, forward, val);
      std::printf("epoch %lld: train loss %.4f, val accuracy %.2f%%", (long long)epoch + 1, loss, acc);
      // [save]
      auto checkpoint = [&] {
        return Value::dict({
            {"epoch", epoch + 1},
            {"model_state_dict", Value(model.state_dict())},
            {"optimizer_state_dict", optimizer.state_dict()},
            {"loss", loss},
            {"val_accuracy", acc},
            {"best_val_accuracy", std::max(best, acc)},
            {"data_loader", loader.state_dict()},  // where the shuffled batches are
        });
      };
      if ((epoch + 1) % every == 0) {
        save(checkpoint(), examples::path_in(dir, "checkpoint_epoch_" + std::to_string(epoch + 1) + ".ember"));
        std::printf("  -> checkpoint_epoch_%lld.ember", (long long)epoch + 1);
      }
      if (acc > best) {
        save(checkpoint(), examples::path_in(dir, "best.ember"));
        best = acc;
        std::printf("  -> best.ember");
      }
      // [/save]
      std::printf("\n");
    }

    // [best]
    Value best_ckpt = load(examples::path_in(dir, "best.ember"));
    TwoLayerNet deployed(10, 32, 4);
    deployed.load_state_dict(best_ckpt.at("model_state_dict").to_state_dict());
    double acc = examples::accuracy(deployed, [&](const Tensor& x) { return deployed.forward(x); }, val);
    std::printf("best.ember: epoch %lld, recorded val accuracy %.2f%%, measured again %.2f%%\n",
                (long long)best_ckpt.at("epoch").as_int(), best_ckpt.at("val_accuracy").as_double(), acc);
    // [/best]
  });
}
