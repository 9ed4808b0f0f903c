// Module state dicts: keys, order, shapes and dtypes as PyTorch's (fixtures/nn.json); load_state_dict's
// strict and non-strict results and its messages, compared with the messages PyTorch gives for the
// same failures; loading in place (tensor identity kept, an optimizer keeps working); all-or-nothing.
#include <regex>

#include "helpers.h"
#include "ember/nn/layers.h"
#include "nn_models.h"
#include "ember/optim/sgd.h"

using namespace ember;
using namespace ember::nn;
using ember::test::MNISTNet;
using ember::test::MNISTNetBN;

namespace {

// PyTorch's message, written as Ember writes it: shapes as [5, 320] (not torch.Size([5, 320])) and
// no space after the final period of a line (PyTorch leaves one after "Missing key(s) ... ".).
std::string as_ember_message(std::string msg) {
  msg = std::regex_replace(msg, std::regex(R"(torch\.Size\((\[[0-9, ]*\])\))"), "$1");
  msg = std::regex_replace(msg, std::regex(R"(\. (\n|$))"), ".$1");
  return msg;
}

// A deep copy, so that changing the model afterwards does not change the dict.
StateDict snapshot(const StateDict& sd) {
  StateDict out;
  for (const auto& [k, t] : sd) out.insert(k, t.clone());
  return out;
}

std::string load_error(Module& m, const StateDict& sd, bool strict = true) {
  return test::error_of([&] { m.load_state_dict(sd, strict); });
}

template <class M>
void check_keys_against_pytorch(const nlohmann::json& c) {
  M m;
  StateDict sd = m.state_dict();
  CHECK(sd.keys() == c["state_dict_keys"].get<std::vector<std::string>>());
  size_t i = 0;
  for (const auto& [k, t] : sd) {
    INFO(k);
    CHECK(t.shape() == c["state_dict_shapes"][i].get<Shape>());
    CHECK(dtype_name(t.dtype()) == c["state_dict_dtypes"][i].get<std::string>());
    ++i;
  }
}

}  // namespace

TEST_CASE("state_dict keys, order, shapes and dtypes are PyTorch's") {
  auto fx = test::load_fixture("nn.json");
  check_keys_against_pytorch<MNISTNet>(fx["module/mnist"]);
  check_keys_against_pytorch<MNISTNetBN>(fx["module/mnist_bn"]);
  MNISTNetBN bn;
  StateDict sd = bn.state_dict();
  CHECK(sd.contains("bn1.num_batches_tracked"));
  CHECK(sd.contains("calls"));
  CHECK_FALSE(sd.contains("scratch"));  // non-persistent
  CHECK_FALSE(sd.contains("bn3.weight"));  // affine=false
}

TEST_CASE("state_dict values are the module's tensors, detached") {
  MNISTNet net;
  StateDict sd = net.state_dict();
  const Tensor& w = sd.at("fc1.weight");
  CHECK(w.shares_storage(net.fc1.weight));
  CHECK_FALSE(w.requires_grad());
  CHECK_FALSE(w.is_same(net.fc1.weight));
  net.fc1.weight.fill_(0.5);  // a change in the model shows through, as in PyTorch
  CHECK(w.at({0, 0}) == 0.5);
}

TEST_CASE("load_state_dict copies values in place and keeps the tensors") {
  manual_seed(1);
  MNISTNetBN a;
  manual_seed(2);
  MNISTNetBN b;
  a.bn1.num_batches_tracked.fill_(17);
  a.bn1.running_var.fill_(3.0);
  Tensor w = b.fc1.weight, nbt = b.bn1.num_batches_tracked;
  auto result = b.load_state_dict(a.state_dict());
  CHECK(result.missing_keys.empty());
  CHECK(result.unexpected_keys.empty());
  CHECK(b.fc1.weight.is_same(w));
  CHECK(b.parameters()[7].is_same(w));  // the registered parameter too
  CHECK(b.bn1.num_batches_tracked.is_same(nbt));
  CHECK(nbt.item() == 17);
  CHECK_FALSE(w.shares_storage(a.fc1.weight));  // copied, not aliased
  auto sa = a.state_dict(), sb = b.state_dict();
  for (const auto& [k, t] : sa) CHECK_MESSAGE(sb.at(k).to_vector<double>() == t.to_vector<double>(), k);
  CHECK(w.requires_grad());
  CHECK(w.is_leaf());
}

TEST_CASE("an optimizer built before loading updates the loaded values") {
  manual_seed(3);
  MNISTNet source;
  StateDict saved = snapshot(source.state_dict());
  manual_seed(4);
  MNISTNet net;
  optim::SGD opt(net.parameters(), optim::SGDOptions(0.1));
  net.load_state_dict(saved);
  CHECK(net.fc2.bias.to_vector<float>() == saved.at("fc2.bias").to_vector<float>());
  net.eval();
  Tensor x = randn({2, 1, 28, 28});
  nll_loss(net.forward(x), from_vector<int64_t>({1, 2})).backward();
  Tensor g = net.fc2.bias.grad().clone();
  opt.step();
  // bias = loaded - 0.1 * grad: the step acted on the loaded values through the same tensor.
  Tensor expected = from_vector(saved.at("fc2.bias").to_vector<float>()) - g * 0.1;
  test::check_close(net.fc2.bias, expected, 1e-6, 1e-7, "fc2.bias after a step");
}

TEST_CASE("strict loading reports missing and unexpected keys as PyTorch does") {
  auto fx = test::load_fixture("nn.json");
  const auto& c = fx["module/mnist_bn"];
  MNISTNetBN m;
  StateDict full = snapshot(m.state_dict());

  StateDict missing = snapshot(full);
  missing.erase("fc1.bias");
  CHECK(load_error(m, missing) == as_ember_message(c["error_missing"].get<std::string>()));
  CHECK(load_error(m, missing) ==
        "Error(s) in loading state_dict for MNISTNetBN:\n\tMissing key(s) in state_dict: \"fc1.bias\".");

  StateDict unexpected = snapshot(full);
  unexpected.insert("fc3.weight", zeros({2, 2}));
  CHECK(load_error(m, unexpected) == as_ember_message(c["error_unexpected"].get<std::string>()));
  CHECK(load_error(m, unexpected) ==
        "Error(s) in loading state_dict for MNISTNetBN:\n\tUnexpected key(s) in state_dict: \"fc3.weight\".");

  StateDict both = snapshot(missing);
  both.erase("conv1.weight");
  both.insert("fc3.weight", zeros({2, 2}));
  both.insert("conv1.extra", zeros({1}));
  CHECK(load_error(m, both) == as_ember_message(c["error_both"].get<std::string>()));

  auto result = m.load_state_dict(both, /*strict=*/false);
  CHECK(result.missing_keys == c["non_strict_missing"].get<std::vector<std::string>>());
  CHECK(result.unexpected_keys == c["non_strict_unexpected"].get<std::vector<std::string>>());
  CHECK(result.missing_keys == std::vector<std::string>{"conv1.weight", "fc1.bias"});
  CHECK(result.unexpected_keys == std::vector<std::string>{"fc3.weight", "conv1.extra"});
}

TEST_CASE("a size mismatch raises in either mode, with PyTorch's message") {
  auto fx = test::load_fixture("nn.json");
  const auto& c = fx["module/mnist_bn"];
  MNISTNetBN m;
  StateDict sd = snapshot(m.state_dict());
  sd.insert("fc1.weight", zeros({5, 320}));
  std::string expected = as_ember_message(c["error_size_mismatch"].get<std::string>());
  CHECK(load_error(m, sd) == expected);
  CHECK(load_error(m, sd, false) == as_ember_message(c["error_size_mismatch_non_strict"].get<std::string>()));
  CHECK(expected ==
        "Error(s) in loading state_dict for MNISTNetBN:\n\tsize mismatch for fc1.weight: copying a param with shape "
        "[5, 320] from checkpoint, the shape in current model is [50, 320].");

  StateDict everything = snapshot(m.state_dict());
  everything.erase("fc1.bias");
  everything.erase("conv1.weight");
  everything.insert("fc3.weight", zeros({2, 2}));
  everything.insert("conv1.extra", zeros({1}));
  everything.insert("fc1.weight", zeros({5, 320}));
  CHECK(load_error(m, everything) == as_ember_message(c["error_everything"].get<std::string>()));

  MNISTNet net;
  StateDict small = snapshot(net.state_dict());
  small.insert("fc2.weight", zeros({5, 50}));
  CHECK(load_error(net, small) ==
        "Error(s) in loading state_dict for MNISTNet:\n\tsize mismatch for fc2.weight: copying a param with shape "
        "[5, 50] from checkpoint, the shape in current model is [10, 50].");
}

TEST_CASE("nothing is modified when loading fails") {
  manual_seed(5);
  MNISTNetBN m;
  StateDict before = snapshot(m.state_dict());
  StateDict bad;
  for (const auto& [k, t] : before) bad.insert(k, full(t.shape(), 9.0, t.dtype()));
  bad.insert("fc1.weight", zeros({5, 320}));  // one bad entry among good ones (after them in order)
  CHECK_FALSE(load_error(m, bad, false).empty());
  bad.insert("fc1.weight", zeros({50, 320}));
  bad.insert("oops", zeros({1}));  // strict failure only
  CHECK_FALSE(load_error(m, bad).empty());
  for (const auto& [k, t] : m.state_dict()) CHECK_MESSAGE(t.to_vector<double>() == before.at(k).to_vector<double>(), k);
  // Non-strict loading of the same dict goes through and reports the stray key.
  auto result = m.load_state_dict(bad, false);
  CHECK(result.unexpected_keys == std::vector<std::string>{"oops"});
  CHECK(m.fc1.bias.to_vector<float>() == std::vector<float>(50, 9.0f));
  CHECK(m.bn2.num_batches_tracked.item() == 9);
}

TEST_CASE("a float64 state dict loads into float32 parameters, converted") {
  Linear lin(2, 2);
  StateDict sd;
  sd.insert("weight", from_vector<double>({0.1, 0.2, 0.3, 0.4}, {2, 2}));
  sd.insert("bias", from_vector<double>({1.5, -2.5}));
  lin.load_state_dict(sd);
  CHECK(lin.weight.dtype() == kFloat32);
  CHECK(lin.weight.to_vector<float>() == std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f});
  CHECK(lin.bias.to_vector<float>() == std::vector<float>{1.5f, -2.5f});
  // num_batches_tracked given as a float converts to int64.
  BatchNorm1d bn(2);
  StateDict bsd = snapshot(bn.state_dict());
  bsd.insert("num_batches_tracked", scalar_tensor(4.0, kFloat32));
  bn.load_state_dict(bsd);
  CHECK(bn.num_batches_tracked.dtype() == kInt64);
  CHECK(bn.num_batches_tracked.item() == 4);
}

TEST_CASE("a state dict loads into a freshly built model and reproduces its outputs") {
  manual_seed(6);
  MNISTNetBN trained;
  trained.train();
  Tensor x = randn({4, 1, 28, 28});
  Tensor h = relu(trained.pool(trained.bn1(trained.conv1(x))));  // moves bn1's running stats
  trained.eval();
  StateDict saved = snapshot(trained.state_dict());
  manual_seed(7);
  MNISTNetBN fresh;
  fresh.load_state_dict(saved);
  fresh.eval();
  Tensor y1 = trained.bn1(trained.conv1(x)), y2 = fresh.bn1(fresh.conv1(x));
  CHECK(y1.to_vector<float>() == y2.to_vector<float>());
  CHECK(fresh.bn1.num_batches_tracked.item() == 1);
}
