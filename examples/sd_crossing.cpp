// sd_crossing: a training run moved from PyTorch to Ember and back. Reads a full training checkpoint
// that torch.save wrote (model, optimizer with its momentum or Adam state, scheduler, epoch, and the
// loss as a 0-dim tensor), resumes it for 10 steps, and saves a .pth that PyTorch 1.13 loads with
// torch.load(weights_only=True) and continues (tests/reference/gen_optim.py does, and
// tests/test_optim_crossing.cpp checks both directions against PyTorch's own continuation).
// docs/state-dicts.md, section "Moving a training run between PyTorch and Ember".
//
//   build/bin/sd_crossing FROM_PYTORCH.pth TO_PYTORCH.pth
#include <cstdio>
#include <iostream>

#include "examples/crossing.h"
#include "examples/sd_common.h"
#include "ember/io/interop/serialize.h"

using namespace ember;
using examples::TwoLayerNet;
using examples::value_str;

int main(int argc, char** argv) {
  return examples::run_program("sd_crossing", [&] {
    EMBER_CHECK(argc == 3, "usage: sd_crossing FROM_PYTORCH.pth TO_PYTORCH.pth");
    // [resume]
    Value ckpt = load(argv[1], "cpu");  // what torch.save({...}, path) wrote
    TwoLayerNet model(6, 12, 3);
    model.load_state_dict(ckpt.at("model_state_dict").to_state_dict());
    // The optimizer and scheduler of the same kinds, with the checkpoint's hyper-parameters
    // (examples/crossing.h reads them from the state dicts); then their state.
    auto [optimizer, scheduler] = examples::crossing::training_for(ckpt, model.parameters());
    optimizer->load_state_dict(ckpt.at("optimizer_state_dict"));
    scheduler->load_state_dict(ckpt.at("scheduler_state_dict"));
    int64_t step = ckpt.at("step").as_int();
    // PyTorch saved 'loss': loss, a 0-dim tensor; it reads as the number it holds.
    std::printf("resumed at step %lld: loss %.6f (saved as a %s), lr %.6g\n", (long long)step,
                ckpt.at("loss").as_double(), ckpt.at("loss").kind_name(), optimizer->lr(0));
    // [/resume]
    std::cout << "optimizer state of parameter 0 (fc1.weight):\n"
              << value_str(ckpt.at("optimizer_state_dict").at("state").at("0")) << "\n";

    // [continue]
    double last = 0;
    for (int i = 0; i < 10; ++i, ++step) {
      auto [x, y] = examples::crossing::batch(step);
      optimizer->zero_grad();
      Tensor loss = cross_entropy(model.forward(x), y);
      loss.backward();
      optimizer->step();
      scheduler->step();
      last = loss.item();
      std::printf("step %lld  loss %.4f  lr %.6g\n", (long long)step, last, optimizer->lr(0));
    }
    save_pth(Value::dict({{"epoch", ckpt.at("epoch").as_int() + 10},
                          {"step", step},
                          {"model_state_dict", Value(model.state_dict())},
                          {"optimizer_state_dict", optimizer->state_dict()},
                          {"scheduler_state_dict", scheduler->state_dict()},
                          {"loss", last}}),
             argv[2]);
    // [/continue]
    // What PyTorch will find: every number that was a double is a 0-dim float64 tensor.
    Value back = load(argv[2], "cpu");
    std::cout << "saved " << argv[2] << "; param_groups as PyTorch will read them:\n"
              << value_str(back.at("optimizer_state_dict").at("param_groups")) << "\n";
  });
}
