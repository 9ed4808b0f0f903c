// sd_buffers: why BatchNorm's running statistics are buffers, and how they reach the state dict.
// docs/state-dicts.md, section "Buffers: state that is not trained".
//
//   build/bin/sd_buffers
#include <cstdio>
#include <iostream>

#include "examples/models.h"
#include "examples/sd_common.h"

using namespace ember;
using examples::MNISTNetBN;

int main() {
  return examples::run_program("sd_buffers", [] {
    manual_seed(0);
    // [split]
    MNISTNetBN model;
    std::cout << "parameters (trained by the optimizer): " << model.parameters().size() << "\n";
    for (const auto& [name, p] : model.named_parameters())
      if (name.rfind("bn1.", 0) == 0) std::cout << "  " << name << "  " << p.shape() << "\n";
    std::cout << "buffers (updated by the forward pass): " << model.buffers().size() << "\n";
    for (const auto& [name, b] : model.named_buffers())
      if (name.rfind("bn1.", 0) == 0)
        std::cout << "  " << name << "  " << b.shape() << "  " << dtype_name(b.dtype()) << "\n";
    std::cout << "state_dict entries (parameters + buffers): " << model.state_dict().size() << "\n";
    // [/split]

    // [running]
    Generator data_gen(1);
    Tensor images = randn({16, 1, 28, 28}, data_gen) * 2.0 + 0.5;  // a batch with mean 0.5, std 2
    std::printf("bn1, channel 0:            running_mean  running_var  num_batches_tracked\n");
    auto show = [&](const char* when) {
      std::printf("%-26s %12.4f %12.4f %20lld\n", when, model.bn1.running_mean.at({0}), model.bn1.running_var.at({0}),
                  (long long)model.bn1.num_batches_tracked.item<int64_t>());
    };
    show("new model:");
    model.train();
    model.forward(images);  // training mode: normalise with the batch's statistics, update the running ones
    show("after 1 training forward:");
    model.forward(images);
    show("after 2 training forwards:");
    model.eval();
    model.forward(images);  // eval mode: normalise with the running statistics, leave them alone
    show("after 1 eval forward:");
    // [/running]
  });
}
