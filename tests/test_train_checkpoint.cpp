// ember::train::TrainingCheckpoint: a user's own loop saved mid-run and restored into fresh objects
// continues bit-identically to a run that never stopped (SGD with momentum and Adam, a scheduler, a
// shuffling loader, dropout drawing from the default generator); a checkpoint entry of the wrong
// kind or range is refused naming its path, and a refused checkpoint changes nothing.
#include <cmath>
#include <functional>
#include <memory>

#include "ember/core/value_reader.h"
#include "ember/data/dataloader.h"
#include "ember/io/interop/serialize.h"
#include "ember/nn/layers.h"
#include "ember/optim/adam.h"
#include "ember/optim/lr_scheduler.h"
#include "ember/optim/sgd.h"
#include "ember/train/checkpoint.h"
#include "helpers.h"
#include "interop_helpers.h"
#include "io_helpers.h"
#include "optim_helpers.h"

using namespace ember;
using ember::test::error_of;
using ember::test::ScratchDir;

namespace {

struct Net : nn::Module {
  nn::Linear fc1{4, 8}, fc2{8, 3};
  nn::Dropout drop{0.3};
  Net() {
    register_module("fc1", fc1);
    register_module("drop", drop);
    register_module("fc2", fc2);
  }
  Tensor forward(const Tensor& x) override { return fc2(relu(drop(fc1(x)))); }
};

// 40 rows of 4 features and a class in [0, 3).
struct Task {
  Tensor x, y;
  std::unique_ptr<data::TensorDataset> set;
  Task() {
    Generator g(7);
    x = randn({40, 4}, g);
    std::vector<int64_t> labels;
    for (int i = 0; i < 40; ++i) labels.push_back(int64_t(g.next_below(3)));
    y = from_vector(labels, {40});
    set = std::make_unique<data::TensorDataset>(x, y);
  }
};

// The objects of one run, built the same way each time (a fresh process would build them so).
struct Run {
  int seeded_ = (manual_seed(11), 0);  // before the model's initialisation draws
  Net model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<optim::LRScheduler> scheduler;
  data::DataLoader loader;
  train::TrainingCheckpoint ckpt;
  Run(const Task& task, bool adam)
      : optimizer(adam ? std::unique_ptr<optim::Optimizer>(
                             std::make_unique<optim::Adam>(model.parameters(), optim::AdamOptions(0.01)))
                       : std::make_unique<optim::SGD>(model.parameters(), optim::SGDOptions(0.1).momentum(0.9))),
        scheduler(std::make_unique<optim::StepLR>(*optimizer, 2, 0.5)),
        loader(*task.set, data::DataLoaderOptions(6).shuffle(true).seed(3)),
        ckpt(model, *optimizer) {
    ckpt.scheduler(*scheduler).loader(loader);
  }
  // Steps until `stop` steps are done in all (stopping mid-epoch), or to the end of `epochs`.
  void train(int64_t epochs, int64_t stop = -1) {
    for (; ckpt.epoch < epochs; ++ckpt.epoch) {
      data::Batch b;
      while (loader.next(b)) {
        optimizer->zero_grad();
        cross_entropy(model(b.data), b.target).backward();
        optimizer->step();
        if (++ckpt.step == stop) return;
      }
      scheduler->step();
    }
  }
};

std::vector<std::vector<float>> params_of(const nn::Module& m) {
  std::vector<std::vector<float>> out;
  for (const auto& [name, t] : m.state_dict()) out.push_back(t.to_vector<float>());
  return out;
}

void check_exact_resume(bool adam) {
  Task task;
  ScratchDir dir("train_ckpt");
  Run straight(task, adam);
  straight.train(4);

  Run first(task, adam);
  first.train(4, /*stop=*/9);  // 7 batches an epoch: mid-epoch 2
  first.ckpt.values["note"] = "user value";
  first.ckpt.save(dir.file("run.ember"));
  // Draw from the default generator so only a restored one can give the right dropout masks.
  randn({5});

  Run resumed(task, adam);
  resumed.ckpt.load(dir.file("run.ember"));
  CHECK(resumed.ckpt.epoch == 1);
  CHECK(resumed.ckpt.step == 9);
  CHECK(resumed.ckpt.values.at("note").as_string() == "user value");
  resumed.train(4);
  CHECK(resumed.ckpt.step == straight.ckpt.step);
  CHECK(params_of(resumed.model) == params_of(straight.model));
  CHECK(resumed.optimizer->lr(0) == straight.optimizer->lr(0));

  // A checkpoint of train_mnist before the loader recorded its dataset and batch size resumes too.
  Value old = load(dir.file("run.ember"));
  old["data_loader"].as_dict().erase("dataset_size");
  old["data_loader"].as_dict().erase("batch_size");
  Run from_old(task, adam);
  from_old.ckpt.restore(old, "old.ember");
  from_old.train(4);
  CHECK(params_of(from_old.model) == params_of(straight.model));
}

}  // namespace

TEST_CASE("a run saved mid-epoch and restored into fresh objects continues bit-identically (SGD with momentum)") {
  check_exact_resume(false);
}

TEST_CASE("a run saved mid-epoch and restored into fresh objects continues bit-identically (Adam)") {
  check_exact_resume(true);
}

TEST_CASE("the checkpoint keeps train_mnist's keys, and the loader's state is the loader's own state dict") {
  Task task;
  Run run(task, false);
  run.train(1, 3);
  Value v = run.ckpt.state();
  for (const char* key : {"epoch", "step", "model_state_dict", "optimizer_state_dict", "scheduler_state_dict",
                          "generators", "data_loader"})
    CHECK_MESSAGE(v.contains(key), key);
  CHECK(v.at("generators").at("default").at("seed").is_int());
  CHECK(v.at("data_loader").at("batch").as_int() == 3);
  CHECK(v.at("data_loader").at("dataset_size").as_int() == 40);
  // A user value may not take a name the checkpoint writes itself.
  run.ckpt.values["step"] = 3;
  CHECK(error_of([&] { run.ckpt.state(); }) ==
        "TrainingCheckpoint: the value \"step\" has the name of an entry the checkpoint writes itself");
}

TEST_CASE("a wrong entry is refused naming its path, and a refused checkpoint changes nothing") {
  Task task;
  Run source(task, false);
  source.train(2, 10);
  const Value good = source.ckpt.state();

  struct Bad {
    std::string message;
    std::function<void(Value&)> edit;
  };
  const double nan = std::nan("");
  std::vector<Bad> bad{
      {"c.ember: not a training checkpoint (the top level is a list, expected a dict)",
       [](Value& v) { v = Value::list({1}); }},
      {"c.ember: not a training checkpoint: no \"generators\" entry", [](Value& v) { v.as_dict().erase("generators"); }},
      {"c.ember: not a training checkpoint: no \"data_loader\" entry", [](Value& v) { v.as_dict().erase("data_loader"); }},
      {"c.ember: \"epoch\" must be in [0, 9007199254740992], found -1", [](Value& v) { v["epoch"] = -1; }},
      {"c.ember: \"step\" must be an int, found a string", [](Value& v) { v["step"] = "ten"; }},
      {"c.ember: \"generators/default/offset\" must be an int, found a double",
       [](Value& v) { v["generators"]["default"]["offset"] = 1.5; }},
      {"c.ember: \"data_loader/batch\" must be in [0, 9007199254740992], found -5",
       [](Value& v) { v["data_loader"]["batch"] = -5; }},
      {"c.ember: \"scheduler_state_dict/_last_lr/0\" must be a finite number >= 0 and <= 1e+06, found nan",
       [&](Value& v) { v["scheduler_state_dict"]["_last_lr"].as_list()[0] = nan; }},
      {"c.ember: \"optimizer_state_dict/param_groups/0/momentum\" must be a finite number >= 0 and <= 1e+06, found -1",
       [](Value& v) { v["optimizer_state_dict"]["param_groups"].as_list()[0]["momentum"] = -1.0; }},
      {"c.ember: \"optimizer_state_dict/state/0/momentum_buffer\" must be a floating-point tensor, found a tensor of int64",
       [](Value& v) {
         Value& buf = v["optimizer_state_dict"]["state"]["0"]["momentum_buffer"];
         buf = Value(buf.as_tensor().to(kInt64));
       }},
      // Past the checks: the parts' own refusals, after the model was already restored.
      {"DataLoader::set_state: batch 9 out of range [0, 7)",
       [](Value& v) { v["data_loader"]["batch"] = 9; }},
      {"StepLR.load_state_dict: \"step_size\" must be an int >= 1, found 0",
       [](Value& v) { v["scheduler_state_dict"]["step_size"] = 0; }},
  };
  for (const Bad& b : bad) {
    Value edited = test::deep_copy(good);
    b.edit(edited);
    Run target(task, false);
    target.train(1, 4);
    const Value before = test::deep_copy(target.ckpt.state());
    const GeneratorState gen_before = default_generator().state();
    std::string err = error_of([&] { target.ckpt.restore(edited, "c.ember"); });
    CHECK_MESSAGE(err.rfind(b.message, 0) == 0, "expected: ", b.message, "\n   found: ", err);
    CHECK_MESSAGE(test::tree_difference(target.ckpt.state(), before) == "", b.message);
    CHECK(default_generator().state() == gen_before);
    CHECK(target.ckpt.step == 4);
  }
}

TEST_CASE("ValueReader names the path and keeps each reader's wording") {
  Value v = Value::dict({{"a", Value::dict({{"b", Value::list({1, 2.5, "x"})}})}, {"s", "low"}});
  ValueReader r(v, "f: ");
  CHECK(error_of([&] { r.integer("a/b/1"); }) == "f: \"a/b/1\" must be an int, found a double");
  CHECK(error_of([&] { r.at("a/c"); }) == "f: missing \"a/c\"");
  CHECK(error_of([&] { r.child("a").flag("b"); }) == "f: \"a/b\" must be a bool, found a list");
  CHECK(error_of([&] { r.one_of("s", {"high", "mid"}); }) == "f: \"s\" must be one of high, mid, found \"low\"");
  ValueReader::Style quoted;
  quoted.found = ValueReader::Found::Quoted;
  quoted.bracket_index = true;
  ValueReader q(v.at("a"), "S: ", quoted);
  CHECK(error_of([&] { q.numbers("b", 3); }) == "S: \"b\"[2] must be a number, found \"x\"");
  CHECK(error_of([&] { q.numbers("b", 2, " (one each)"); }) == "S: \"b\" has 3 values, expected 2 (one each)");
  CHECK(ValueReader(v, "").number("a/b/1", 0) == 2.5);
}

TEST_CASE("Generator::state_dict round-trips every 64-bit word, and a wrong one is named") {
  Generator g(~0ULL);
  g.next_u64();
  Generator h;
  h.load_state_dict(g.state_dict());
  CHECK(h.state() == g.state());
  CHECK(h.next_u32() == g.next_u32());
  CHECK(error_of([&] { h.load_state_dict(Value::dict({{"seed", 1}})); }) == "Generator.load_state_dict: missing \"offset\"");
  CHECK(error_of([&] { h.load_state_dict(Value(3)); }) ==
        "Generator.load_state_dict: expected a dict {seed, offset}, found a int");
}
