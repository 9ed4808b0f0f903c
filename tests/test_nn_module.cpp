// nn::Module: registration, dotted names in PyTorch's order, printing as PyTorch prints (checked
// against repr() strings in fixtures/nn.json, written by tests/reference/gen_nn.py), modes, apply,
// zero_grad, default initialisation.
#include <cmath>
#include <sstream>

#include "helpers.h"
#include "ember/nn/functional.h"
#include "ember/nn/init.h"
#include "ember/nn/layers.h"
#include "ember/nn/module.h"
#include "nn_models.h"

using namespace ember;
using namespace ember::nn;
using ember::test::MNISTNet;
using ember::test::MNISTNetBN;

namespace {

template <class T>
std::vector<std::string> names_of(const NamedList<T>& items) {
  std::vector<std::string> out;
  for (const auto& [n, v] : items) out.push_back(n);
  return out;
}

std::vector<std::string> strings(const nlohmann::json& j) { return j.get<std::vector<std::string>>(); }

}  // namespace

TEST_CASE("printing matches PyTorch's repr for MNISTNet and the BatchNorm variant") {
  auto fx = test::load_fixture("nn.json");
  MNISTNet net;
  CHECK(net.repr() == fx["module/mnist"]["repr"].get<std::string>());
  MNISTNetBN bn;
  CHECK(bn.repr() == fx["module/mnist_bn"]["repr"].get<std::string>());
  std::ostringstream os;
  os << net;
  CHECK(os.str() == net.repr());
  CHECK(net.repr().rfind("MNISTNet(\n  (conv1): Conv2d(1, 10, kernel_size=(5, 5), stride=(1, 1))\n", 0) == 0);
}

TEST_CASE("each layer prints as PyTorch prints it") {
  CHECK(Linear(320, 50).repr() == "Linear(in_features=320, out_features=50, bias=True)");
  CHECK(Linear(3, 2, false).repr() == "Linear(in_features=3, out_features=2, bias=False)");
  CHECK(Conv2d(Conv2dOptions(2, 4, IntOrPair(3, 2)).stride(IntOrPair(2, 1)).padding(IntOrPair(1, 0)).bias(false))
            .repr() == "Conv2d(2, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), bias=False)");
  CHECK(MaxPool2d(2).repr() == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  CHECK(MaxPool2d(MaxPool2dOptions(3).stride(2).padding(1)).repr() ==
        "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)");
  CHECK(MaxPool2d(MaxPool2dOptions({2, 3}).stride({1, 2})).repr() ==
        "MaxPool2d(kernel_size=(2, 3), stride=(1, 2), padding=0, dilation=1, ceil_mode=False)");
  CHECK(BatchNorm2d(10).repr() == "BatchNorm2d(10, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  CHECK(BatchNorm1d(BatchNormOptions(3).momentum(std::nullopt).affine(false).track_running_stats(false)).repr() ==
        "BatchNorm1d(3, eps=1e-05, momentum=None, affine=False, track_running_stats=False)");
  CHECK(Dropout().repr() == "Dropout(p=0.5, inplace=False)");
  CHECK(ReLU().repr() == "ReLU()");
  CHECK(Flatten().repr() == "Flatten(start_dim=1, end_dim=-1)");
  CHECK(Sequential().repr() == "Sequential()");
}

TEST_CASE("py_float writes doubles as Python's repr") {
  CHECK(py_float(0.1) == "0.1");
  CHECK(py_float(1e-5) == "1e-05");
  CHECK(py_float(0.0001) == "0.0001");
  CHECK(py_float(1.0) == "1.0");
  CHECK(py_float(100.0) == "100.0");
  CHECK(py_float(0.25) == "0.25");
  CHECK(py_float(1e16) == "1e+16");
  CHECK(py_float(123456.5) == "123456.5");
  CHECK(py_float(-2.5e-7) == "-2.5e-07");
  CHECK(py_float(0.0) == "0.0");
  CHECK(short_float(-1.0) == "-1");
  CHECK(short_float(-0.1) == "-0.1");
}

TEST_CASE("named_parameters, named_buffers, named_modules and named_children in PyTorch's order") {
  auto fx = test::load_fixture("nn.json");
  for (const char* key : {"module/mnist", "module/mnist_bn"}) {
    INFO(key);
    const auto& c = fx[key];
    std::unique_ptr<Module> m;
    if (std::string(key) == "module/mnist")
      m = std::make_unique<MNISTNet>();
    else
      m = std::make_unique<MNISTNetBN>();
    CHECK(names_of(m->named_parameters()) == strings(c["named_parameters"]));
    CHECK(names_of(m->named_buffers()) == strings(c["named_buffers"]));
    CHECK(names_of(m->named_modules()) == strings(c["named_modules"]));
    CHECK(names_of(m->named_children()) == strings(c["named_children"]));
    CHECK(m->parameters().size() == c["named_parameters"].size());
    CHECK(m->modules().size() == c["named_modules"].size());
  }
}

TEST_CASE("parameters() are the layers' own tensors, requiring grad; buffers do not") {
  MNISTNet net;
  auto params = net.parameters();
  REQUIRE(params.size() == 8);
  CHECK(params[0].is_same(net.conv1.weight));
  CHECK(params[1].is_same(net.conv1.bias));
  CHECK(params[7].is_same(net.fc2.bias));
  for (auto& p : params) CHECK(p.requires_grad());
  MNISTNetBN bn;
  for (auto& b : bn.buffers()) CHECK_FALSE(b.requires_grad());
  CHECK(bn.bn1.num_batches_tracked.dtype() == kInt64);
  CHECK(bn.bn1.num_batches_tracked.dim() == 0);
  CHECK(net.named_parameters(/*recurse=*/false).empty());
  CHECK(names_of(bn.named_buffers(false)) == std::vector<std::string>{"scratch", "calls"});
  CHECK(&net.child("fc1") == &net.fc1);
  CHECK(&bn.head[1] == &bn.head.child("1"));
}

TEST_CASE("train() and eval() reach every descendant") {
  MNISTNetBN net;
  for (Module* m : net.modules()) CHECK(m->is_training());
  net.eval();
  for (Module* m : net.modules()) CHECK_FALSE(m->is_training());
  CHECK_FALSE(net.head[0].is_training());
  net.train();
  for (Module* m : net.modules()) CHECK(m->is_training());
  net.bn1.eval();  // only that subtree
  CHECK_FALSE(net.bn1.is_training());
  CHECK(net.bn2.is_training());
  CHECK(net.is_training());
}

TEST_CASE("apply visits children before their parent, every module once") {
  MNISTNetBN net;
  std::vector<std::string> order;
  net.apply([&](Module& m) { order.push_back(m.name()); });
  REQUIRE(order.size() == net.modules().size());
  CHECK(order.front() == "Conv2d");
  CHECK(order[order.size() - 3] == "ReLU");  // head's children, then head, then the net
  CHECK(order[order.size() - 2] == "Sequential");
  CHECK(order.back() == "MNISTNetBN");
  // A typical use: re-initialise every Linear.
  net.apply([](Module& m) {
    if (auto* lin = dynamic_cast<Linear*>(&m)) init::zeros_(lin->weight);
  });
  CHECK(net.fc1.weight.to_vector<float>() == std::vector<float>(size_t(50 * 320), 0.0f));
  CHECK(static_cast<Linear&>(net.head[0]).weight.to_vector<float>() == std::vector<float>(500, 0.0f));
}

TEST_CASE("zero_grad drops gradients (set_to_none) or zeroes them") {
  Linear lin(3, 2);
  Tensor x = ones({4, 3});
  sum(lin(x)).backward();
  REQUIRE(lin.weight.grad().defined());
  lin.zero_grad(/*set_to_none=*/false);
  REQUIRE(lin.weight.grad().defined());
  CHECK(lin.weight.grad().to_vector<float>() == std::vector<float>(6, 0.0f));
  sum(lin(x)).backward();
  CHECK(lin.bias.grad().to_vector<float>() == std::vector<float>{4.0f, 4.0f});
  lin.zero_grad();
  CHECK_FALSE(lin.weight.grad().defined());
  CHECK_FALSE(lin.bias.grad().defined());
}

TEST_CASE("registration refuses bad names and non-leaf parameters") {
  struct Bare : Module {
    std::string name() const override { return "Bare"; }
  } m;
  CHECK(test::error_of([&] { m.register_parameter("a.b", zeros({1})); }) ==
        "Bare: parameter name can't contain \".\", found \"a.b\"");
  CHECK(test::error_of([&] { m.register_buffer("", zeros({1})); }) == "Bare: buffer name can't be empty");
  m.register_parameter("w", zeros({2}));
  CHECK(test::error_of([&] { m.register_buffer("w", zeros({1})); }).find("already used") != std::string::npos);
  Tensor leaf = ones({2}).requires_grad_();
  Tensor computed = mul(leaf, 2.0);
  CHECK(test::error_of([&] { m.register_parameter("c", computed); }).find("not a leaf") != std::string::npos);
  CHECK(test::error_of([&] { m.parameter("nope"); }) == "Bare has no parameter \"nope\"");
  // Re-registering replaces in place, keeping the position.
  m.register_parameter("v", zeros({1}));
  m.register_parameter("w", ones({3}));
  CHECK(names_of(m.named_parameters()) == std::vector<std::string>{"w", "v"});
  CHECK(m.parameter("w").numel() == 3);
  CHECK(test::error_of([&] { m.register_module("self", m); }).find("own child") != std::string::npos);
}

TEST_CASE("the default name is the class name without namespaces") {
  struct Unnamed : Module {};
  Unnamed u;
  CHECK(u.name().find("Unnamed") != std::string::npos);
  CHECK(u.name().find("::") == std::string::npos);
  CHECK(Linear(1, 1).name() == "Linear");
}

TEST_CASE("layer options are validated with the offending value") {
  CHECK(test::error_of([] { Linear(0, 3); }) == "Linear: in_features must be positive, found 0");
  CHECK(test::error_of([] { Conv2d(Conv2dOptions(1, 2, 3).stride(0)); }) ==
        "Conv2d: stride must be positive, found (0, 0)");
  CHECK(test::error_of([] { Conv2d(1, 2, -1); }) == "Conv2d: kernel_size must be positive, found (-1, -1)");
  CHECK(test::error_of([] { MaxPool2d(MaxPool2dOptions(2).padding(2)); }) ==
        "MaxPool2d: pad should be at most half of kernel size, but got pad=2 and kernel_size=2");
  CHECK(test::error_of([] { MaxPool2d(MaxPool2dOptions(2).stride({1, -1})); }) ==
        "MaxPool2d: stride must be positive, found (1, -1)");
  CHECK(test::error_of([] { Dropout(1.5); }) == "dropout probability has to be between 0 and 1, but got 1.5");
  CHECK(test::error_of([] { BatchNorm2d(0); }) == "BatchNorm2d: num_features must be positive, found 0");
  CHECK(test::error_of([] { BatchNorm1d(BatchNormOptions(3).momentum(-0.5)); }) ==
        "BatchNorm1d: momentum must be in [0, 1], found -0.5");
}

TEST_CASE("default initialisation: PyTorch's distributions, reproducible from ember::manual_seed") {
  manual_seed(7);
  Linear a(400, 300);
  manual_seed(7);
  Linear b(400, 300);
  CHECK(a.weight.to_vector<float>() == b.weight.to_vector<float>());
  CHECK(a.bias.to_vector<float>() == b.bias.to_vector<float>());
  Linear c(400, 300);  // the generator moved on
  CHECK(a.weight.to_vector<float>() != c.weight.to_vector<float>());

  // U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias: bounds, mean and variance (bound^2 / 3).
  auto check_uniform = [](const Tensor& t, double bound) {
    auto v = t.to_vector<double>();
    double lo = 1e9, hi = -1e9, mean = 0, sq = 0;
    for (double x : v) lo = std::min(lo, x), hi = std::max(hi, x), mean += x, sq += x * x;
    mean /= double(v.size());
    double var = sq / double(v.size()) - mean * mean;
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    CHECK(lo < -0.95 * bound);  // it fills the range
    CHECK(hi > 0.95 * bound);
    CHECK(std::abs(mean) < 0.05 * bound);
    CHECK(var == doctest::Approx(bound * bound / 3).epsilon(0.1));
  };
  check_uniform(a.weight, 1.0 / std::sqrt(400.0));
  check_uniform(a.bias, 1.0 / std::sqrt(400.0));
  Conv2d conv(20, 64, 5);  // fan_in = 20 * 5 * 5
  check_uniform(conv.weight, 1.0 / std::sqrt(500.0));
  check_uniform(conv.bias, 1.0 / std::sqrt(500.0));

  BatchNorm2d bn(4);
  CHECK(bn.weight.to_vector<float>() == std::vector<float>(4, 1.0f));
  CHECK(bn.bias.to_vector<float>() == std::vector<float>(4, 0.0f));
  CHECK(bn.running_mean.to_vector<float>() == std::vector<float>(4, 0.0f));
  CHECK(bn.running_var.to_vector<float>() == std::vector<float>(4, 1.0f));
  CHECK(bn.num_batches_tracked.item() == 0);

  // The same seed gives the same whole model.
  manual_seed(3);
  MNISTNet m1;
  manual_seed(3);
  MNISTNet m2;
  auto p1 = m1.parameters(), p2 = m2.parameters();
  for (size_t i = 0; i < p1.size(); ++i) CHECK(p1[i].to_vector<float>() == p2[i].to_vector<float>());
}

TEST_CASE("init helpers compute fans and gains as torch.nn.init") {
  Tensor w = empty({8, 3, 5, 5});
  auto [fan_in, fan_out] = init::calculate_fan_in_and_fan_out(w);
  CHECK(fan_in == 75);
  CHECK(fan_out == 200);
  CHECK(init::calculate_gain(init::Nonlinearity::Relu) == doctest::Approx(std::sqrt(2.0)));
  CHECK(init::calculate_gain(init::Nonlinearity::LeakyRelu, std::sqrt(5.0)) == doctest::Approx(std::sqrt(1.0 / 3)));
  CHECK(test::error_of([] {
          Tensor b = empty({3});
          init::kaiming_uniform_(b);
        }).find("fewer than 2 dimensions") != std::string::npos);
  Generator gen(5);
  Tensor x = empty({1000, 10});
  init::xavier_uniform_(x, 1.0, gen);
  double bound = std::sqrt(6.0 / 1010.0);
  for (double v : x.to_vector<double>()) REQUIRE(std::abs(v) <= bound);
}

TEST_CASE("to(device) keeps the parameter handles") {
  MNISTNet net;
  Tensor w = net.fc1.weight;
  auto before = w.to_vector<float>();
  net.to(kCPU);
  CHECK(net.fc1.weight.is_same(w));
  CHECK(w.to_vector<float>() == before);
  if (cuda_device_count() > 0) {
    net.to(Device("cuda:0"));
    CHECK(net.fc1.weight.is_same(w));
    CHECK(w.device().is_cuda());
    CHECK(w.to_vector<float>() == before);
    MNISTNetBN bn;
    Tensor nbt = bn.bn1.num_batches_tracked;
    bn.to(Device("cuda:0"));
    CHECK(nbt.device().is_cuda());
    CHECK(bn.state_dict().at("bn1.num_batches_tracked").is_same(nbt) == false);  // detached alias
    CHECK(bn.state_dict().at("bn1.num_batches_tracked").device().is_cuda());
  }
}

TEST_CASE("MNISTNet forward gives (N, 10) log-probabilities, and dropout only in training") {
  manual_seed(1);
  MNISTNet net;
  Tensor x = randn({2, 1, 28, 28});
  net.eval();
  Tensor y1 = net.forward(x), y2 = net.forward(x);
  CHECK(y1.shape() == Shape{2, 10});
  CHECK(y1.to_vector<float>() == y2.to_vector<float>());
  for (int64_t i = 0; i < 2; ++i) {
    double total = 0;
    for (int64_t k = 0; k < 10; ++k) total += std::exp(y1.at({i, k}));
    CHECK(total == doctest::Approx(1.0).epsilon(1e-5));
  }
  net.train();
  Tensor y3 = net.forward(x);
  CHECK(y3.to_vector<float>() != y1.to_vector<float>());
  nll_loss(y3, from_vector<int64_t>({3, 7})).backward();
  for (auto& [n, p] : net.named_parameters()) {
    INFO(n);
    CHECK(p.grad().defined());
  }
}

TEST_CASE("a module or parameter registered twice is listed once, as PyTorch's remove_duplicate") {
  struct Tied : Module {
    Linear enc{3, 3};
    Tied() {
      register_module("enc", enc);
      register_module("dec", enc);
      register_parameter("scale", ones({1}));
      register_parameter("same_as_enc_weight", enc.weight);
    }
    std::string name() const override { return "Tied"; }
  } m;
  CHECK(names_of(m.named_parameters()) == std::vector<std::string>{"scale", "same_as_enc_weight", "enc.bias"});
  CHECK(names_of(m.named_modules()) == std::vector<std::string>{"", "enc"});
  CHECK(names_of(m.named_children()) == std::vector<std::string>{"enc"});
  CHECK(m.state_dict().keys() == std::vector<std::string>{"scale", "same_as_enc_weight", "enc.weight", "enc.bias",
                                                          "dec.weight", "dec.bias"});
}
