// sd_resume_loop: a training loop of one's own, stopped mid-epoch and resumed exactly with
// ember::train::TrainingCheckpoint (model, optimizer, scheduler, loader, random generator, counters
// and the loop's own values in one file). docs/state-dicts.md, section "Resuming your own loop".
//
//   build/bin/sd_resume_loop --dir /tmp/ember-tutorial/loop/straight
//   build/bin/sd_resume_loop --dir /tmp/ember-tutorial/loop/stopped --stop-after 17
//   build/bin/sd_resume_loop --dir /tmp/ember-tutorial/loop/stopped --resume
#include <cstdio>

#include "ember/io/interop/serialize.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/sgd.h"
#include "ember/train/checkpoint.h"
#include "examples/flags.h"
#include "examples/sd_common.h"

using namespace ember;

int main(int argc, char** argv) {
  std::string dir = "/tmp/ember-tutorial/loop";
  int64_t epochs = 4, stop_after = -1;
  bool resume = false;
  examples::Flags flags("sd_resume_loop", "A loop of one's own that stops mid-epoch and resumes exactly.");
  flags.add("--dir", dir, "folder for last.ember");
  flags.add("--epochs", epochs, "epochs of the whole run");
  flags.add("--stop-after", stop_after, "stop (as a crash would) after this many steps");
  flags.add("--resume", resume, "continue from <dir>/last.ember");
  flags.parse(argc, argv);
  return examples::run_program("sd_resume_loop", [&] {
    examples::SyntheticTask task(200, 10, 4, /*teacher_seed=*/5, /*seed=*/1);
    manual_seed(0);
    examples::TwoLayerNet model(10, 32, 4);
    nn::Dropout dropout(0.2);  // draws from ember::default_generator(), which the checkpoint saves
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    optim::StepLR scheduler(optimizer, /*step_size=*/2, /*gamma=*/0.5);
    data::DataLoader loader(task, data::DataLoaderOptions(32).shuffle(true).seed(1));
    const std::string path = examples::path_in(examples::output_dir(dir), "last.ember");

    // [loop]
    train::TrainingCheckpoint ckpt(model, optimizer);
    ckpt.scheduler(scheduler).loader(loader);
    double loss = 0;
    if (resume) {
      ckpt.load(path);  // checks the whole file first: a bad one changes nothing
      loss = ckpt.values.at("loss").as_double();
      std::printf("resumed from %s at epoch %lld, step %lld\n", path.c_str(), (long long)ckpt.epoch,
                  (long long)ckpt.step);
    }
    for (; ckpt.epoch < epochs; ++ckpt.epoch) {
      // A checkpoint saved after an epoch's last batch resumes with that epoch's batches done.
      if (loader.epoch() == ckpt.epoch) {
        for (data::Batch& b : loader) {
          optimizer.zero_grad();
          Tensor out = cross_entropy(model.fc2(dropout(relu(model.fc1(b.data)))), b.target);
          out.backward();
          optimizer.step();
          loss = out.item();
          ++ckpt.step;
          if (ckpt.step % 5 == 0) {  // every 5 steps, mid-epoch too
            ckpt.values["loss"] = loss;
            ckpt.save(path);
          }
          if (ckpt.step == stop_after) {
            std::printf("stopped after step %lld\n", (long long)ckpt.step);
            return;
          }
        }
      }
      scheduler.step();
      std::printf("epoch %lld: step %lld, last loss %.6f, lr %g\n", (long long)ckpt.epoch + 1, (long long)ckpt.step,
                  loss, optimizer.lr(0));
    }
    ckpt.values["loss"] = loss;
    ckpt.save(path);
    // [/loop]
  });
}
