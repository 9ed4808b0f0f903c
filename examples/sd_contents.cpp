// sd_contents: what a model's state dict holds. Prints the architecture and the state dict of a
// two-layer fully connected network and of MNISTNet (a CNN), side by side.
// docs/state-dicts.md, section "What a state dict holds".
//
//   build/bin/sd_contents
#include <cstdio>
#include <iostream>

#include "examples/models.h"
#include "examples/sd_common.h"

using namespace ember;
using examples::MNISTNet;
using examples::TwoLayerNet;

int main() {
  return examples::run_program("sd_contents", [] {
    manual_seed(0);
    // [two-layer]
    TwoLayerNet model(10, 20, 2);
    std::cout << model << "\n";  // the architecture: code, not state

    StateDict sd = model.state_dict();
    std::cout << "state_dict: " << sd.size() << " entries, " << model.parameters().size() << " parameters\n";
    for (const auto& [key, tensor] : sd)
      std::cout << "  " << key << "  " << tensor.shape() << "  " << dtype_name(tensor.dtype()) << "\n";
    std::cout << "fc2.bias = " << sd.at("fc2.bias") << "\n";
    // [/two-layer]

    std::cout << "\n";
    // [mnistnet]
    MNISTNet cnn;
    std::cout << cnn << "\n";
    StateDict cnn_sd = cnn.state_dict();
    examples::print_state_dict(cnn_sd);
    std::cout << "total: " << examples::total_elements(cnn_sd) << " values in " << cnn_sd.size() << " tensors\n";
    // [/mnistnet]
  });
}
