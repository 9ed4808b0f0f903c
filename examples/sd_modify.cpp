// sd_modify: change one parameter in a state dict and load it back; what state_dict() shares with
// the model, and why load_state_dict copies in place.
// docs/state-dicts.md, section "Changing a parameter".
//
//   build/bin/sd_modify
#include <cstdio>
#include <iostream>

#include "examples/sd_common.h"
#include "ember/optim/sgd.h"

using namespace ember;
using examples::TwoLayerNet;
using examples::values_of;

int main() {
  return examples::run_program("sd_modify", [] {
    manual_seed(0);
    TwoLayerNet model(10, 20, 2);
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.01));

    // [replace]
    StateDict sd = model.state_dict();
    std::cout << "fc2.bias before:          " << values_of(model.fc2.bias) << "\n";
    sd.insert("fc2.bias", from_vector<float>({1.0f, 2.0f}));  // a new tensor: the model is not affected yet
    std::cout << "after changing the dict:  " << values_of(model.fc2.bias) << "\n";
    model.load_state_dict(sd);
    std::cout << "after load_state_dict:    " << values_of(model.fc2.bias) << "\n";
    // [/replace]

    // [in-place]
    Tensor fc2_bias = model.fc2.bias;
    model.load_state_dict(sd);  // copies into the existing tensors
    std::cout << "same tensor objects after loading: " << (model.fc2.bias.is_same(fc2_bias) ? "yes" : "no")
              << "; the optimizer's parameter 3 is fc2.bias: "
              << (optimizer.params(0)[3].is_same(model.fc2.bias) ? "yes" : "no") << "\n";
    // [/in-place]

    // [shared]
    StateDict live = model.state_dict();  // entries share storage with the parameters
    live.at("fc2.bias").fill_(0.5);
    std::cout << "after live.at(\"fc2.bias\").fill_(0.5): model's fc2.bias = " << values_of(model.fc2.bias) << "\n";

    StateDict snapshot;  // a copy that later training cannot change
    for (const auto& [key, t] : model.state_dict()) snapshot.insert(key, t.clone());
    model.fc2.bias.fill_(-1.0);
    std::cout << "after model.fc2.bias.fill_(-1): live = " << values_of(live.at("fc2.bias"))
              << ", snapshot = " << values_of(snapshot.at("fc2.bias")) << "\n";
    // [/shared]
  });
}
