// sd_onnx: one trained model saved two ways, as a state dict (weights only) and as an ONNX file
// (weights and graph), and what each holds.
// docs/state-dicts.md, section "Weights or weights and graph: state dicts and ONNX".
//
//   build/bin/sd_onnx --dir /tmp/ember-tutorial
#include <cstdio>
#include <iostream>

#include "examples/flags.h"
#include "examples/sd_common.h"
#include "ember/io/interop/onnx.h"
#include "ember/io/interop/serialize.h"
#include "ember/io/onnx/export.h"
#include "ember/optim/sgd.h"

using namespace ember;

namespace {

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
  Tensor forward(const Tensor& x) override { return fc2(drop(relu(bn(fc1(x))))); }
};

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/ember-tutorial";
  examples::Flags flags("sd_onnx", "Save a trained model as a state dict and as an ONNX file.");
  flags.add("--dir", dir, "folder for classifier.ember and classifier.onnx");
  flags.parse(argc, argv);
  return examples::run_program("sd_onnx", [&] {
    manual_seed(0);
    examples::SyntheticTask train(512, 10, 3, /*teacher_seed=*/3, /*seed=*/1), val(256, 10, 3, 3, /*seed=*/2);
    auto forward = [](Classifier& m) { return [&m](const Tensor& x) { return m.forward(x); }; };
    Classifier model;
    optim::SGD optimizer(model.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    data::DataLoader loader(train, data::DataLoaderOptions(32).shuffle(true).seed(1));
    for (int epoch = 0; epoch < 5; ++epoch) examples::train_epoch(model, forward(model), optimizer, loader);
    model.eval();
    std::printf("trained: val accuracy %.2f%%\n", examples::accuracy(model, forward(model), val));

    // [save-both]
    std::string out = examples::output_dir(dir);
    std::string weights = examples::path_in(out, "classifier.ember"), graph = examples::path_in(out, "classifier.onnx");
    save(Value(model.state_dict()), weights);  // weights only: the code defines the model
    model.eval();  // export what inference runs: BatchNorm's running statistics, no Dropout
    onnx::ExportSummary s = onnx::export_model(model, val.x().slice(0, 2), graph);  // weights and graph
    // [/save-both]
    std::printf("saved %s: %zu tensors\n", weights.c_str(), model.state_dict().size());
    std::printf("exported %s: %lld initializers and %lld nodes (ONNX opset %lld)\n", graph.c_str(),
                (long long)s.initializers, (long long)s.nodes, (long long)s.opset);

    // Both files read back as the same dict: the ONNX initializers are named by the state dict's keys.
    Value a = load(weights), b = load(graph);
    std::printf("\n%-24s %-10s %-24s %s\n", "state dict key", "shape", "ONNX initializer", "same values");
    auto ia = a.as_dict().begin();
    for (const auto& [name, t] : b.as_dict()) {
      const Tensor& ta = ia->second.as_tensor();
      bool same = ta.shape() == t.as_tensor().shape() &&
                  examples::max_abs_diff(ta.to(kFloat64), t.as_tensor().to(kFloat64)) == 0.0;
      std::printf("%-24s %-10s %-24s %s\n", ia->first.c_str(), shape_str(ta.shape()).c_str(), name.c_str(),
                  same ? "yes" : "NO");
      ++ia;
    }

    // What only the ONNX file holds: the computation, node by node.
    io::OnnxReader reader(graph);
    std::printf("\nthe graph in %s (the state dict has none):\n", graph.c_str());
    for (const auto& n : reader.graph().nodes) {
      if (n.op_type == "Constant") continue;
      std::string ins;
      for (const auto& i : n.inputs) ins += (ins.empty() ? "" : ", ") + i;
      std::printf("  %s(%s) -> %s\n", n.op_type.c_str(), ins.c_str(), n.outputs[0].c_str());
    }

    // [load-onnx-weights]
    Classifier restored;  // Ember still needs the code to rebuild the model...
    restored.load_state_dict(load(graph).to_state_dict());  // ...from either file's weights
    restored.eval();
    // [/load-onnx-weights]
    NoGradGuard no_grad;
    bool same = examples::max_abs_diff(restored.forward(val.x()), model.forward(val.x())) == 0.0;
    std::printf("\nthe ONNX file's weights in a fresh Classifier: %s logits on all %lld validation points\n",
                same ? "the same" : "DIFFERENT", (long long)val.x().size(0));
  });
}
