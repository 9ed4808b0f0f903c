// sd_inference: save a trained model's state dict, load it into a fresh model for inference, and
// see why eval() matters for BatchNorm and Dropout.
// docs/state-dicts.md, section "Saving and loading a model for inference".
//
//   build/bin/sd_inference --dir /tmp/ember-tutorial
#include <cstdio>
#include <iostream>

#include "examples/flags.h"
#include "examples/sd_common.h"
#include "ember/io/interop/serialize.h"
#include "ember/optim/sgd.h"

using namespace ember;

namespace {

// [model]
// fc1 -> BatchNorm -> relu -> Dropout -> fc2. x: (N, 10) -> (N, 3)
struct Classifier : nn::Module {
  nn::Linear fc1{10, 32};
  nn::BatchNorm1d bn{32};
  nn::Dropout drop{0.5};
  nn::Linear fc2{32, 3};
  Classifier() {
    register_module("fc1", fc1);
    register_module("bn", bn);
    register_module("drop", drop);
    register_module("fc2", fc2);
  }
  std::string name() const override { return "Classifier"; }
  Tensor forward(const Tensor& x) { return fc2(drop(relu(bn(fc1(x))))); }
};
// [/model]

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/ember-tutorial";
  examples::Flags flags("sd_inference", "Save a model for inference and load it back.");
  flags.add("--dir", dir, "folder for model.ember");
  flags.parse(argc, argv);
  return examples::run_program("sd_inference", [&] {
    manual_seed(0);
    examples::SyntheticTask train(512, 10, 3, /*teacher_seed=*/3, /*seed=*/1), val(256, 10, 3, 3, /*seed=*/2);
    auto forward = [](Classifier& m) { return [&m](const Tensor& x) { return m.forward(x); }; };

    Classifier model;
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    data::DataLoader loader(train, data::DataLoaderOptions(32).shuffle(true).seed(1));
    for (int epoch = 0; epoch < 5; ++epoch) examples::train_epoch(model, forward(model), optimizer, loader);
    std::printf("trained: val accuracy %.2f%%\n", examples::accuracy(model, forward(model), val));

    // [save]
    std::string path = examples::path_in(examples::output_dir(dir), "model.ember");
    save(Value(model.state_dict()), path);
    std::cout << "saved " << path << ":\n";
    examples::print_state_dict(model.state_dict());
    // [/save]

    // [load]
    Classifier restored;  // the architecture comes from the code...
    restored.load_state_dict(load(path).to_state_dict());  // ...the numbers from the file
    restored.eval();  // BatchNorm uses its running statistics, Dropout passes everything through
    // [/load]
    std::printf("restored, eval mode: val accuracy %.2f%%\n", examples::accuracy(restored, forward(restored), val));
    {
      NoGradGuard no_grad;
      model.eval();
      double diff = examples::max_abs_diff(restored.forward(val.x()), model.forward(val.x()));
      std::printf("largest difference from the trained model's logits: %g\n", diff);
    }

    // [forgot-eval]
    restored.train();  // what a forgotten eval() leaves on
    NoGradGuard no_grad;
    Tensor first = restored.forward(val.x()), second = restored.forward(val.x());
    std::printf("restored, training mode: val accuracy %.2f%%, then %.2f%% on the same inputs\n",
                examples::percent_correct(first, val.y()), examples::percent_correct(second, val.y()));
    std::printf("the two calls' logits differ by up to %.4f\n", examples::max_abs_diff(first, second));
    std::printf("training mode also moved bn.running_mean[0] by %.4f\n",
                std::abs(restored.bn.running_mean.at({0}) - model.bn.running_mean.at({0})));
    try {
      restored.forward(val.x().slice(0, 1));  // one sample: BatchNorm cannot take a batch's statistics
    } catch (const Error& e) {
      std::cout << "one sample in training mode: " << e.what() << "\n";
    }
    restored.eval();
    Tensor one = restored.forward(val.x().slice(0, 1));
    std::cout << "one sample in eval mode: class " << argmax(one, 1).item<int64_t>() << " (label "
              << val.y().at({0}) << ")\n";
    // [/forgot-eval]
  });
}
