// sd_adam: Adam's state dict beside SGD's: what is kept per parameter ("step", "exp_avg",
// "exp_avg_sq"), what per group (lr, betas, eps, weight_decay, amsgrad, maximize), and why "step"
// must come back with the moments for a resume to be exact.
// docs/state-dicts.md, section "Adam's state dict".
//
//   build/bin/sd_adam
#include <cstdio>
#include <iostream>

#include "examples/sd_common.h"
#include "ember/optim/adam.h"
#include "ember/optim/sgd.h"

using namespace ember;
using examples::TwoLayerNet;
using examples::value_str;

int main() {
  return examples::run_program("sd_adam", [] {
    manual_seed(0);
    TwoLayerNet model(10, 20, 2);
    examples::SyntheticTask task(32, 10, 2, /*teacher_seed=*/7, /*seed=*/1);
    auto train = [&](optim::Optimizer& opt, int steps) {
      for (int i = 0; i < steps; ++i) {
        opt.zero_grad();
        cross_entropy(model.forward(task.x()), task.y()).backward();
        opt.step();
      }
    };

    // [adam-state]
    optim::Adam adam(model.parameters(), optim::AdamOptions(0.01).betas({0.9, 0.999}));
    train(adam, 3);
    Value sd = adam.state_dict();
    std::cout << "Adam after 3 steps, 'state' (per parameter):\n" << value_str(sd.at("state")) << "\n";
    std::cout << "'param_groups' (per group):\n" << value_str(sd.at("param_groups")) << "\n";
    std::cout << "state[3]['step'] = " << sd.at("state").at("3").at("step").as_double() << "\n";
    // [/adam-state]

    // [sgd-beside]
    optim::SGD sgd(model.parameters(), optim::SGDOptions(0.01).momentum(0.9));
    train(sgd, 1);
    std::cout << "\nSGD with momentum keeps one tensor per parameter:\n"
              << value_str(sgd.state_dict().at("state").at("3")) << "\n";
    // [/sgd-beside]

    // [step-matters]
    // Save at step 3, take a 4th step; then go back and take it again from the saved state, once
    // as saved and once with "step" set back to 0 (the moments kept).
    Value saved = sd;  // the tensors are the optimizer's own: copy them before stepping on
    for (const auto& [key, entry] : sd.at("state").as_dict())
      for (const auto& [name, t] : entry.as_dict()) saved["state"][key][name] = Value(t.as_tensor().clone());
    StateDict weights = model.state_dict();
    for (auto& [name, t] : weights) t = t.clone();
    train(adam, 1);
    Tensor expected = model.fc2.weight.detach().clone();

    auto fourth_step_from = [&](const Value& state) {
      model.load_state_dict(weights);
      optim::Adam resumed(model.parameters(), 0.01);
      resumed.load_state_dict(state);
      train(resumed, 1);
      return examples::max_abs_diff(model.fc2.weight, expected);
    };
    std::printf("\nresumed with its step:   max |difference| = %g\n", fourth_step_from(saved));
    Value reset = saved;
    for (const auto& [key, unused] : saved.at("state").as_dict()) reset["state"][key]["step"] = Value(0.0);
    std::printf("resumed with step reset: max |difference| = %.2g\n", fourth_step_from(reset));
    // [/step-matters]
  });
}
