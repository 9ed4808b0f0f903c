// sd_optimizer: the optimizer's state dict: param_groups with their hyper-parameters, and the
// per-parameter state (SGD's momentum buffers) before and after the first steps.
// docs/state-dicts.md, section "The optimizer's state dict".
//
//   build/bin/sd_optimizer
#include <cstdio>
#include <iostream>

#include "examples/sd_common.h"
#include "ember/optim/sgd.h"

using namespace ember;
using examples::TwoLayerNet;
using examples::value_str;

int main() {
  return examples::run_program("sd_optimizer", [] {
    manual_seed(0);
    TwoLayerNet model(10, 20, 2);
    examples::SyntheticTask task(32, 10, 2, /*teacher_seed=*/7, /*seed=*/1);

    // [before]
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.01).momentum(0.9));
    std::cout << "before any step:\n" << value_str(optimizer.state_dict()) << "\n";
    // The numbers in "params" index model.parameters(), in order:
    int index = 0;
    for (const auto& [name, p] : model.named_parameters()) std::cout << "  " << index++ << " = " << name << "\n";
    // [/before]

    // [step]
    auto step = [&] {
      optimizer.zero_grad();
      cross_entropy(model.forward(task.x()), task.y()).backward();
      optimizer.step();
    };
    step();
    Value sd = optimizer.state_dict();
    std::cout << "\nafter the first step, 'state' holds a momentum buffer per parameter"
                 " ('param_groups' is unchanged):\n"
              << value_str(sd.at("state")) << "\n";
    // fc2.bias is parameter 3. On the first step its momentum buffer is a copy of the gradient;
    // afterwards it is momentum * buffer + gradient.
    const Tensor& buffer = sd.at("state").at("3").at("momentum_buffer").as_tensor();
    std::cout << "fc2.bias.grad            = " << examples::values_of(model.fc2.bias.grad()) << "\n";
    std::cout << "state[3].momentum_buffer = " << examples::values_of(buffer) << "\n";
    Tensor before = buffer.clone();
    step();
    std::cout << "after the second step:\n";
    std::cout << "fc2.bias.grad            = " << examples::values_of(model.fc2.bias.grad()) << "\n";
    std::cout << "0.9 * old buffer + grad  = " << examples::values_of(before * 0.9 + model.fc2.bias.grad()) << "\n";
    std::cout << "state[3].momentum_buffer = " << examples::values_of(buffer) << "\n";
    // [/step]

    // [groups]
    optim::SGD per_layer({optim::SGDParamGroup(model.fc1.parameters()),
                          optim::SGDParamGroup(model.fc2.parameters(), optim::SGDOptions(0.001).momentum(0.9))},
                         optim::SGDOptions(0.01).momentum(0.9));
    std::cout << "\ntwo parameter groups, 'param_groups':\n"
              << value_str(per_layer.state_dict().at("param_groups")) << "\n";
    // [/groups]
  });
}
