// sd_transfer: transfer learning with state dicts. Train a base model on task A; for task B (other
// classes, same inputs) load everything but the final layer, freeze the rest, train only the new
// layer; then save just that layer and load it back on top of the base.
// docs/state-dicts.md, section "Transfer learning".
//
//   build/bin/sd_transfer --dir /tmp/ember-tutorial
#include <cstdio>
#include <iostream>

#include "examples/flags.h"
#include "examples/sd_common.h"
#include "ember/io/interop/serialize.h"
#include "ember/optim/sgd.h"

using namespace ember;

namespace {

// body (fc1, fc2) -> head. x: (N, 10) -> (N, classes)
struct Net : nn::Module {
  nn::Linear fc1{10, 64}, fc2{64, 32}, head;
  explicit Net(int64_t classes) : head(32, classes) {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("head", head);
  }
  std::string name() const override { return "Net"; }
  Tensor forward(const Tensor& x) { return head(relu(fc2(relu(fc1(x))))); }
};

void train(Net& model, optim::Optimizer& optimizer, const examples::SyntheticTask& task, int epochs) {
  data::DataLoader loader(task, data::DataLoaderOptions(32).shuffle(true).seed(1));
  for (int e = 0; e < epochs; ++e)
    examples::train_epoch(model, [&](const Tensor& x) { return model.forward(x); }, optimizer, loader);
}

double accuracy(Net& model, const examples::SyntheticTask& task) {
  return examples::accuracy(model, [&](const Tensor& x) { return model.forward(x); }, task);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/ember-tutorial";
  examples::Flags flags("sd_transfer", "Transfer learning: reuse a trained body, train a new head.");
  flags.add("--dir", dir, "folder for base.ember and head.ember");
  flags.parse(argc, argv);
  return examples::run_program("sd_transfer", [&] {
    examples::output_dir(dir);
    // Task A: 5 classes, plenty of data. Task B: 3 other classes of the same kind of inputs, decided
    // by mixtures of task A's directions, and little data.
    Tensor teacher_a = examples::random_teacher(10, 5, 11);
    Tensor teacher_b = matmul(teacher_a, examples::random_teacher(5, 3, 12));  // (10, 3)
    examples::SyntheticTask a_train(2048, teacher_a, 1), a_val(512, teacher_a, 2);
    examples::SyntheticTask b_train(32, teacher_b, 3), b_val(512, teacher_b, 4);
    manual_seed(0);
    Net base(5);
    optim::SGD base_opt(base.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    train(base, base_opt, a_train, 8);
    std::string base_path = examples::path_in(dir, "base.ember");
    save(Value(base.state_dict()), base_path);
    std::printf("base model, task A: val accuracy %.2f%%\n", accuracy(base, a_val));

    // [load-body]
    Net model(3);  // same body, a new 3-class head
    StateDict body;
    for (const auto& [key, t] : load(base_path).to_state_dict())
      if (key.rfind("head.", 0) != 0) body.insert(key, t);  // everything except the final layer
    nn::LoadStateDictResult r = model.load_state_dict(body, /*strict=*/false);
    std::cout << "loaded the body; missing, to be trained: " << examples::join(r.missing_keys) << "\n";
    // [/load-body]

    // [freeze]
    for (auto& [name, p] : model.named_parameters())
      if (name.rfind("head.", 0) != 0) p.requires_grad_(false);
    std::cout << "trainable:";
    for (const auto& [name, p] : model.named_parameters())
      if (p.requires_grad()) std::cout << " " << name;
    std::cout << "\n";
    optim::SGD optimizer(model.head.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    std::printf("task B before training the head: val accuracy %.2f%%\n", accuracy(model, b_val));
    train(model, optimizer, b_train, 30);
    std::printf("task B after training the head:  val accuracy %.2f%%\n", accuracy(model, b_val));
    std::printf("fc1.weight still equal to the base's: %s\n",
                examples::max_abs_diff(model.fc1.weight, base.fc1.weight) == 0 ? "yes" : "no");
    // [/freeze]

    // For comparison: the same 3-class model trained from scratch on task B's 32 samples.
    manual_seed(1);
    Net scratch(3);
    optim::SGD scratch_opt(scratch.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    train(scratch, scratch_opt, b_train, 30);
    std::printf("task B from scratch, all layers:  val accuracy %.2f%%\n", accuracy(scratch, b_val));

    // [save-head]
    StateDict head;
    for (const auto& [key, t] : model.state_dict())
      if (key.rfind("head.", 0) == 0) head.insert(key, t);
    std::string head_path = examples::path_in(dir, "head.ember");
    save(Value(head), head_path);
    std::cout << "saved " << head_path << " with " << head.size() << " tensors\n";

    // Later: the base's body, then the fine-tuned head on top.
    Net deployed(3);
    deployed.load_state_dict(body, /*strict=*/false);
    r = deployed.load_state_dict(load(head_path).to_state_dict(), /*strict=*/false);
    std::cout << "head loaded on top of the base (" << r.missing_keys.size() << " body keys were not in head.ember)\n";
    // [/save-head]
    std::printf("deployed, task B: val accuracy %.2f%%\n", accuracy(deployed, b_val));
  });
}
