// Every layer's forward and backward against PyTorch (fixtures/nn.json, tests/reference/gen_nn.py):
// the PyTorch layer's state dict is loaded with load_state_dict, so the parameter and buffer names
// are checked too. BatchNorm's running statistics and num_batches_tracked (momentum and momentum=None)
// are compared after the training batches; eval-mode outputs as well. Dropout, which PyTorch cannot
// reproduce bit for bit, is checked by its properties.
#include <cmath>

#include "helpers.h"
#include "ember/nn/layers.h"

using namespace ember;
using namespace ember::nn;

namespace {

// Tolerances: the references are the float64 results rounded to float32; Ember computes in float32.
constexpr double kRtol = 1e-4, kAtol = 2e-5;

// Mirrors SmallNet in gen_nn.py.
struct SmallNet : Module {
  Conv2d conv1{1, 4, 3};
  BatchNorm2d bn1{4};
  Conv2d conv2{Conv2dOptions(4, 6, 3).padding(1)};
  MaxPool2d pool{2};
  Flatten flatten;
  Linear fc1{54, 10};
  BatchNorm1d bn2{10};
  Linear fc2{10, 3};
  SmallNet() {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("pool", pool);
    register_module("flatten", flatten);
    register_module("fc1", fc1);
    register_module("bn2", bn2);
    register_module("fc2", fc2);
  }
  std::string name() const override { return "SmallNet"; }
  Tensor forward(const Tensor& x) {
    Tensor h = pool(relu(bn1(conv1(x))));
    h = relu(conv2(h));
    h = relu(bn2(fc1(flatten(h))));
    return log_softmax(fc2(h), 1);
  }
};

struct Case {
  std::shared_ptr<Module> module;
  std::function<Tensor(const Tensor&)> forward;
};

template <class M>
Case wrap(std::shared_ptr<M> m) {
  return {m, [m](const Tensor& x) { return m->forward(x); }};
}

Case make_layer(const std::string& name) {
  if (name == "linear" || name == "linear_3d") return wrap(std::make_shared<Linear>(4, 3));
  if (name == "linear_nobias") return wrap(std::make_shared<Linear>(3, 2, false));
  if (name == "conv2d") return wrap(std::make_shared<Conv2d>(Conv2dOptions(2, 3, 3).stride(1).padding(1)));
  if (name == "conv2d_rect")
    return wrap(std::make_shared<Conv2d>(
        Conv2dOptions(2, 4, IntOrPair(3, 2)).stride(IntOrPair(2, 1)).padding(IntOrPair(1, 0)).bias(false)));
  if (name == "maxpool") return wrap(std::make_shared<MaxPool2d>(2));
  if (name == "maxpool_pad") return wrap(std::make_shared<MaxPool2d>(MaxPool2dOptions(3).stride(2).padding(1)));
  if (name == "maxpool_rect")
    return wrap(std::make_shared<MaxPool2d>(MaxPool2dOptions(IntOrPair(2, 3)).stride(IntOrPair(1, 2))));
  if (name == "relu") return wrap(std::make_shared<ReLU>());
  if (name == "flatten") return wrap(std::make_shared<Flatten>());
  if (name == "flatten_range") return wrap(std::make_shared<Flatten>(0, 1));
  if (name == "bn2d") return wrap(std::make_shared<BatchNorm2d>(3));
  if (name == "bn1d") return wrap(std::make_shared<BatchNorm1d>(4));
  if (name == "bn1d_3d") return wrap(std::make_shared<BatchNorm1d>(3));
  if (name == "bn2d_momentum_none")
    return wrap(std::make_shared<BatchNorm2d>(BatchNormOptions(2).momentum(std::nullopt)));
  if (name == "bn2d_momentum_0.3") return wrap(std::make_shared<BatchNorm2d>(BatchNormOptions(2).momentum(0.3)));
  if (name == "bn2d_no_affine") return wrap(std::make_shared<BatchNorm2d>(BatchNormOptions(3).affine(false)));
  if (name == "bn2d_no_stats")
    return wrap(std::make_shared<BatchNorm2d>(BatchNormOptions(3).track_running_stats(false)));
  if (name == "bn1d_bare")
    return wrap(std::make_shared<BatchNorm1d>(BatchNormOptions(3).affine(false).track_running_stats(false)));
  if (name == "sequential")
    return wrap(std::make_shared<Sequential>(std::make_shared<Linear>(4, 5), std::make_shared<ReLU>(),
                                             std::make_shared<Linear>(5, 2)));
  if (name == "small_net") return wrap(std::make_shared<SmallNet>());
  FAIL("no Ember layer for fixture case " << name);
  return {};
}

StateDict state_dict_from_json(const nlohmann::json& j) {
  StateDict sd;
  for (auto it = j.begin(); it != j.end(); ++it) sd.insert(it.key(), test::tensor_from_json(it.value()));
  return sd;
}

}  // namespace

TEST_CASE("every layer matches PyTorch forward and backward, loaded through load_state_dict") {
  auto fx = test::load_fixture("nn.json");
  for (auto it = fx.begin(); it != fx.end(); ++it) {
    if (it.key().rfind("layer/", 0) != 0) continue;
    std::string name = it.key().substr(6);
    const auto& c = it.value();
    SUBCASE(name.c_str()) {
      Case layer = make_layer(name);
      Module& m = *layer.module;
      CHECK(m.repr() == c["repr"].get<std::string>());
      auto result = m.load_state_dict(state_dict_from_json(c["state_dict"]));  // strict: names must match
      CHECK(result.missing_keys.empty());
      {
        NoGradGuard no_grad;
        for (const auto& xi : c["extra_train_inputs"]) layer.forward(test::tensor_from_json(xi));
      }
      Tensor x = test::tensor_from_json(c["x"]).requires_grad_();
      Tensor y = layer.forward(x);
      test::check_close(y, test::tensor_from_json(c["y"]), kRtol, kAtol, name + ": y");
      if (c.contains("target")) {
        Tensor loss = nll_loss(y, test::tensor_from_json(c["target"]));
        test::check_close(loss, test::tensor_from_json(c["loss"]), kRtol, kAtol, name + ": loss");
        loss.backward();
      } else {
        y.backward(test::tensor_from_json(c["gy"]));
      }
      test::check_close(x.grad(), test::tensor_from_json(c["grad_x"]), kRtol, kAtol, name + ": grad_x");
      for (auto& [pn, p] : m.named_parameters()) {
        REQUIRE_MESSAGE(c.contains("grad_" + pn), name, ": PyTorch has no parameter ", pn);
        test::check_close(p.grad(), test::tensor_from_json(c["grad_" + pn]), kRtol, kAtol, name + ": grad_" + pn);
      }
      for (auto& [bn, b] : m.named_buffers()) {
        REQUIRE_MESSAGE(c.contains(bn + "_after"), name, ": PyTorch has no buffer ", bn);
        Tensor expected = test::tensor_from_json(c[bn + "_after"]);
        if (b.dtype() == kInt64)
          CHECK_MESSAGE(b.item() == expected.item(), name, ": ", bn);
        else
          test::check_close(b, expected, kRtol, kAtol, name + ": " + bn + " after training");
      }
      if (c.contains("eval_x")) {
        m.eval();
        auto before = m.state_dict();
        std::vector<std::vector<double>> values;
        for (auto& [k, t] : before) values.push_back(t.to_vector<double>());
        Tensor ye = layer.forward(test::tensor_from_json(c["eval_x"]));
        test::check_close(ye, test::tensor_from_json(c["eval_y"]), kRtol, kAtol, name + ": eval y");
        size_t i = 0;  // eval changes no buffer
        for (auto& [k, t] : m.state_dict()) CHECK_MESSAGE(t.to_vector<double>() == values[i++], name, ": ", k);
      }
    }
  }
}

TEST_CASE("the fixture covers every layer case") {
  auto fx = test::load_fixture("nn.json");
  int n = 0;
  for (auto it = fx.begin(); it != fx.end(); ++it) n += it.key().rfind("layer/", 0) == 0;
  CHECK(n == 21);
}

TEST_CASE("BatchNorm counts batches only in training with running stats") {
  BatchNorm2d bn(2);
  Tensor x = randn({3, 2, 2, 2});
  bn.forward(x);
  bn.forward(x);
  CHECK(bn.num_batches_tracked.item() == 2);
  bn.eval();
  auto mean_before = bn.running_mean.to_vector<float>();
  bn.forward(x);
  CHECK(bn.num_batches_tracked.item() == 2);
  CHECK(bn.running_mean.to_vector<float>() == mean_before);
  bn.reset_running_stats();
  CHECK(bn.num_batches_tracked.item() == 0);
  CHECK(bn.running_var.to_vector<float>() == std::vector<float>{1.0f, 1.0f});

  BatchNorm2d untracked(BatchNormOptions(2).track_running_stats(false));
  CHECK_FALSE(untracked.num_batches_tracked.defined());
  CHECK(untracked.named_buffers().empty());
  CHECK(untracked.state_dict().keys() == std::vector<std::string>{"weight", "bias"});
  BatchNorm1d bare(BatchNormOptions(2).affine(false));
  CHECK(bare.parameters().empty());
  CHECK(bare.state_dict().keys() == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
}

TEST_CASE("momentum=None is the cumulative average of the batch statistics") {
  BatchNorm1d bn(BatchNormOptions(1).momentum(std::nullopt));
  // Batches with means 1, 2 and 6: the running mean is their average, 3.
  bn.forward(from_vector<float>({0, 2}, {2, 1}));
  bn.forward(from_vector<float>({1, 3}, {2, 1}));
  bn.forward(from_vector<float>({5, 7}, {2, 1}));
  CHECK(bn.num_batches_tracked.item() == 3);
  CHECK(bn.running_mean.item() == doctest::Approx(3.0));
  // Unbiased variances 2, 2, 2: the first batch replaces the initial 1 (factor 1/1).
  CHECK(bn.running_var.item() == doctest::Approx(2.0));
}

TEST_CASE("layers refuse inputs of the wrong shape, naming the layer") {
  CHECK(test::error_of([] { BatchNorm2d(3).forward(zeros({4, 3})); }) ==
        "BatchNorm2d: expected 4D input (got 2D input)");
  CHECK(test::error_of([] { BatchNorm1d(3).forward(zeros({4, 3, 2, 2})); }) ==
        "BatchNorm1d: expected 2D or 3D input (got 4D input)");
  CHECK(test::error_of([] { BatchNorm1d(3).forward(zeros({4, 5})); }) ==
        "BatchNorm1d: expected 3 channels (dim 1), found input of shape [4, 5]");
  CHECK(test::error_of([] { Linear(4, 2).forward(zeros({3, 5})); }) ==
        "Linear: expected input with last dimension 4 (in_features), found shape [3, 5]");
  CHECK(test::error_of([] { Conv2d(3, 2, 3).forward(zeros({1, 2, 5, 5})); }) ==
        "Conv2d: expected input of shape (N, 3, H, W), found [1, 2, 5, 5]");
  CHECK(test::error_of([] { MaxPool2d(2).forward(zeros({2, 4})); }) ==
        "MaxPool2d: expected input of shape (N, C, H, W) or (C, H, W), found [2, 4]");
}

TEST_CASE("Linear takes a single sample and any leading dims") {
  Linear lin(3, 2);
  Tensor x = from_vector<float>({1, -2, 0.5f});
  Tensor y1 = lin.forward(x);
  CHECK(y1.shape() == Shape{2});
  Tensor y2 = lin.forward(x.reshape({1, 3}));
  CHECK(y1.to_vector<float>() == y2.to_vector<float>());
}

TEST_CASE("Dropout: identity in eval and at p=0; zeros about p and scales the rest in training") {
  Tensor x = full({100, 100}, 2.0);
  Dropout d(0.3);
  d.eval();
  CHECK(d.forward(x).to_vector<float>() == x.to_vector<float>());
  d.train();
  auto v = d.forward(x).to_vector<float>();
  size_t zeros_seen = 0;
  for (float e : v) {
    if (e == 0.0f)
      ++zeros_seen;
    else
      REQUIRE(e == doctest::Approx(2.0 / 0.7));
  }
  CHECK(double(zeros_seen) / double(v.size()) == doctest::Approx(0.3).epsilon(0.1));
  Dropout none(0.0);
  CHECK(none.forward(x).to_vector<float>() == x.to_vector<float>());
  Dropout all(1.0);
  CHECK(all.forward(x).to_vector<float>() == std::vector<float>(10000, 0.0f));
}

TEST_CASE("Dropout draws from its own generator when given one, reproducibly") {
  Tensor x = ones({50, 20});
  Generator g1(11), g2(11);
  Dropout a(0.5, g1), b(0.5, g2);
  GeneratorState default_before = default_generator().state();
  Tensor ya = a.forward(x), yb = b.forward(x);
  CHECK(ya.to_vector<float>() == yb.to_vector<float>());
  CHECK(default_generator().state() == default_before);  // the default generator was not touched
  CHECK(a.forward(x).to_vector<float>() != ya.to_vector<float>());  // the next mask differs
  manual_seed(5);
  Tensor y1 = Dropout(0.5).forward(x);
  manual_seed(5);
  Tensor y2 = Dropout(0.5).forward(x);
  CHECK(y1.to_vector<float>() == y2.to_vector<float>());
  // The gradient flows through the kept elements only, scaled.
  Tensor xl = ones({4, 8}).requires_grad_();
  Generator g3(2);
  Dropout c(0.25, g3);
  Tensor y = c.forward(xl);
  sum(y).backward();
  CHECK(xl.grad().to_vector<float>() == y.to_vector<float>());  // x is ones: y is the mask itself
}

TEST_CASE("Sequential names its children by index and applies them in order") {
  Sequential seq;
  Linear& first = seq.emplace_back<Linear>(2, 3);
  seq.push_back(std::make_shared<ReLU>());
  seq.emplace_back<Linear>(3, 1, false);
  CHECK(seq.size() == 3);
  CHECK(&seq[0] == &first);
  std::vector<std::string> names;
  for (auto& [n, p] : seq.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight"});
  Tensor x = from_vector<float>({1, 2, -1, 0.5f}, {2, 2});
  Tensor expected = static_cast<Linear&>(seq[2]).forward(relu(first.forward(x)));
  CHECK(seq.forward(x).to_vector<float>() == expected.to_vector<float>());
  CHECK(test::error_of([&] { seq[3]; }) == "Sequential: index 3 out of range for 3 modules");
  CHECK(seq.repr() ==
        "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=1, bias=False)\n)");
}
