// Models a user composes: Sequential and ModuleList hold any module (a user's own included), a model
// runs through a base-class handle, and a forgotten register_module is caught instead of silently
// dropping parameters from parameters() and state_dict().
#include <memory>

#include "ember/nn/layers.h"
#include "ember/optim/sgd.h"
#include "helpers.h"

using namespace ember;
using namespace ember::nn;

namespace {

// A user's block, unknown to Ember: y = relu(fc(x)) + x.
struct Residual : Module {
  Linear fc;
  explicit Residual(int64_t width) : fc(width, width) { register_module("fc", fc); }
  std::string name() const override { return "Residual"; }
  Tensor forward(const Tensor& x) override { return relu(fc(x)) + x; }
};

struct Stack : Module {
  ModuleList blocks;
  Linear head{4, 2};
  Stack() {
    for (int i = 0; i < 3; ++i) blocks.emplace_back<Residual>(4);
    register_module("blocks", blocks);
    register_module("head", head);
  }
  std::string name() const override { return "Stack"; }
  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    for (Module& b : blocks) h = b(h);
    return head(h);
  }
};

// fc2 is a member that the constructor forgot to register.
struct Forgetful : Module {
  Linear fc1{4, 4};
  Linear fc2{4, 2};
  ReLU act;  // stateless, also unregistered: harmless, so allowed
  Forgetful() { register_module("fc1", fc1); }
  std::string name() const override { return "Forgetful"; }
  Tensor forward(const Tensor& x) override { return fc2(act(fc1(x))); }
};

// A module whose forward takes two tensors: called directly, not through Module's forward.
struct Pair : Module {
  std::string name() const override { return "Pair"; }
  Tensor forward(const Tensor& a, const Tensor& b) { return a + b; }
};

}  // namespace

TEST_CASE("ModuleList holds a user's modules, names them by index, and they train") {
  Stack net;
  auto keys = net.state_dict().keys();
  CHECK(keys == std::vector<std::string>{"blocks.0.fc.weight", "blocks.0.fc.bias", "blocks.1.fc.weight",
                                         "blocks.1.fc.bias", "blocks.2.fc.weight", "blocks.2.fc.bias",
                                         "head.weight", "head.bias"});
  CHECK(net.blocks.size() == 3);
  CHECK(&net.blocks.at<Residual>(1) == &net.blocks[1]);
  CHECK(test::error_of([&] { net.blocks.at<Linear>(0); }) == "ModuleList: module 0 is a Residual, not the type asked for");
  CHECK(test::error_of([&] { net.blocks[3]; }) == "ModuleList: index 3 out of range for 3 modules");
  CHECK(test::error_of([&] { net.blocks(zeros({1, 4})); }).find("ModuleList has no forward(const Tensor&)") == 0);

  manual_seed(3);
  Tensor x = randn({5, 4});
  Tensor before = net.blocks.at<Residual>(2).fc.weight.clone();
  optim::SGD opt(net.parameters(), optim::SGDOptions(0.1));
  sum(net(x)).backward();
  opt.step();
  CHECK_FALSE(net.blocks.at<Residual>(2).fc.weight.to_vector<float>() == before.to_vector<float>());
  CHECK(net.repr().find("(blocks): ModuleList(\n    (0): Residual(\n      (fc): Linear(in_features=4") != std::string::npos);
}

TEST_CASE("Sequential holds any module and a model runs through a base-class handle") {
  auto seq = std::make_shared<Sequential>(std::make_shared<Residual>(4), std::make_shared<Linear>(4, 3));
  seq->emplace_back<ReLU>();
  std::shared_ptr<Module> handle = seq;
  manual_seed(1);
  Tensor x = randn({2, 4});
  Tensor by_hand = relu(seq->at<Linear>(1)(seq->at<Residual>(0)(x)));
  test::check_close((*handle)(x), by_hand, 0, 0, "through the handle");
  test::check_close(handle->forward(x), by_hand, 0, 0, "forward through the handle");
  CHECK(handle->state_dict().keys() ==
        std::vector<std::string>{"0.fc.weight", "0.fc.bias", "1.weight", "1.bias"});

  std::shared_ptr<Module> pair = std::make_shared<Pair>();
  CHECK(test::error_of([&] { (*pair)(x); }).find("Pair has no forward(const Tensor&)") == 0);
}

TEST_CASE("a member layer with parameters that was never registered is refused by name") {
  Forgetful net;
  CHECK(net.state_dict().size() == 2);  // fc2 is missing: the silent bug the check catches
  const std::string err = test::error_of([&] { net(zeros({1, 4})); });
  CHECK(err.find("Linear was called inside Forgetful's forward but was never registered") == 0);
  CHECK(err.find("register_module(\"<name>\", <member>)") != std::string::npos);
  // A layer on its own (no enclosing module running) is a model of its own: no complaint.
  Linear alone(4, 2);
  CHECK(alone(zeros({1, 4})).shape() == Shape{1, 2});
}
