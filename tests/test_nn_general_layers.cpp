// The layers beyond MNISTNet's: PyTorch's printing, parameter and buffer names, a state dict saved
// by PyTorch (tests/reference/gen_general_nn.py) loading into the same model and giving the same
// output, and the layers' training behaviour (dropout2d drops whole channels).
#include <sstream>

#include "ember/io/interop/serialize.h"
#include "ember/nn/functional.h"
#include "ember/nn/layers.h"
#include "helpers.h"

using namespace ember;
using ember::test::check_close;
using ember::test::error_of;
using ember::test::load_fixture;
using ember::test::tensor_from_json;

namespace {
// The twin of gen_general_nn.py's SeqNet.
struct SeqNet : nn::Module {
  nn::Embedding emb{nn::EmbeddingOptions(10, 4).padding_idx(0)};
  nn::LayerNorm ln{Shape{4}};
  nn::Conv1d conv1{nn::Conv1dOptions(4, 6, 3).padding(1).groups(2)};
  nn::GroupNorm gn{3, 6};
  nn::Conv2d conv2{nn::Conv2dOptions(1, 6, 3).padding(2).dilation(2)};
  nn::Conv2d dw{nn::Conv2dOptions(6, 6, 3).padding(1).groups(6).bias(false)};
  nn::BatchNorm2d bn{6};
  nn::AvgPool2d pool{2};
  nn::AdaptiveAvgPool2d gap{1};
  nn::Linear fc{12, 3};
  SeqNet() {
    register_module("emb", emb);
    register_module("ln", ln);
    register_module("conv1", conv1);
    register_module("gn", gn);
    register_module("conv2", conv2);
    register_module("dw", dw);
    register_module("bn", bn);
    register_module("pool", pool);
    register_module("gap", gap);
    register_module("fc", fc);
  }
  Tensor forward(const Tensor& tokens, const Tensor& image) {
    Tensor h = ln(emb(tokens)).transpose(1, 2);           // (N, 4, L)
    h = mean(gelu(gn(conv1(h))), {2});                     // (N, 6)
    Tensor g = relu(bn(dw(conv2(image))));                 // (N, 6, H, W)
    g = gap(pool(g)).flatten(1);                           // (N, 6)
    return fc(cat({h, g}, 1));
  }
};

std::string repr_of(const nn::Module& m) {
  std::ostringstream os;
  os << m;
  return os.str();
}
}  // namespace

TEST_CASE("a PyTorch state dict of the new layers loads and gives PyTorch's output") {
  nlohmann::json fx = load_fixture("general_layers.json");
  SeqNet net;
  CHECK(net.state_dict().keys() == fx["state_dict_keys"].get<std::vector<std::string>>());
  CHECK(net.gn.named_buffers().empty());  // GroupNorm keeps no running statistics, unlike BatchNorm
  CHECK(net.bn.named_buffers().size() == 3);
  Value sd = load(std::string(EMBER_FIXTURE_DIR) + "/general_layers.pth");
  net.load_state_dict(sd.to_state_dict());
  net.eval();
  NoGradGuard no_grad;
  Tensor out = net.forward(tensor_from_json(fx["tokens"]), tensor_from_json(fx["image"]));
  check_close(out, tensor_from_json(fx["out"]), 1e-4, 1e-5, "SeqNet output");
}

TEST_CASE("the new layers print as PyTorch prints them") {
  auto r = load_fixture("general_layers.json")["repr"];
  SeqNet net;
  CHECK(repr_of(net.emb) == r["emb"]);
  CHECK(repr_of(net.ln) == r["ln"]);
  CHECK(repr_of(net.conv1) == r["conv1"]);
  CHECK(repr_of(net.gn) == r["gn"]);
  CHECK(repr_of(net.conv2) == r["conv2"]);
  CHECK(repr_of(net.dw) == r["dw"]);
  CHECK(repr_of(net.pool) == r["pool"]);
  CHECK(repr_of(net.gap) == r["gap"]);
  CHECK(repr_of(nn::Sigmoid()) == r["sigmoid"]);
  CHECK(repr_of(nn::Tanh()) == r["tanh"]);
  CHECK(repr_of(nn::Softmax(1)) == r["softmax"]);
  CHECK(repr_of(nn::LogSoftmax(-1)) == r["log_softmax"]);
  CHECK(repr_of(nn::LeakyReLU(0.2)) == r["leaky_relu"]);
  CHECK(repr_of(nn::GELU("tanh")) == r["gelu"]);
  CHECK(repr_of(nn::Identity()) == r["identity"]);
  CHECK(repr_of(nn::Dropout2d(0.25)) == r["dropout2d"]);
  CHECK(repr_of(nn::LayerNorm(nn::LayerNormOptions({3, 4}).eps(1e-3).elementwise_affine(false))) == r["ln2"]);
  CHECK(repr_of(nn::GroupNorm(nn::GroupNormOptions(2, 4).affine(false))) == r["gn_noaffine"]);
  CHECK(repr_of(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1).dilation(2).ceil_mode(true))) ==
        r["maxpool"]);
  CHECK(repr_of(nn::AvgPool2d(nn::AvgPool2dOptions({2, 3}).stride(1).padding({1, 1}))) == r["avgpool_rect"]);
  CHECK(repr_of(nn::AdaptiveAvgPool2d({2, 3})) == r["gap_pair"]);
  CHECK(repr_of(nn::Conv1d(nn::Conv1dOptions(3, 8, 5).stride(2).bias(false))) == r["conv1d_plain"]);
  CHECK(repr_of(nn::MSELoss()) == r["mse"]);
  CHECK(repr_of(nn::L1Loss()) == r["l1"]);
  CHECK(repr_of(nn::BCELoss()) == r["bce"]);
  CHECK(repr_of(nn::BCEWithLogitsLoss()) == r["bce_logits"]);
  CHECK(repr_of(nn::NLLLoss()) == r["nll"]);
  CHECK(repr_of(nn::CrossEntropyLoss()) == r["ce"]);
}

TEST_CASE("layer initialisation, buffers and training behaviour") {
  nn::Embedding emb(nn::EmbeddingOptions(6, 3).padding_idx(-1));
  CHECK(emb.weight.select(0, 5).to_vector<float>() == std::vector<float>{0, 0, 0});  // the padding row starts at 0
  Tensor tokens = from_vector<int64_t>({5, 1, 5});
  sum(emb(tokens)).backward();
  CHECK(emb.weight.grad().select(0, 5).to_vector<float>() == std::vector<float>{0, 0, 0});  // and learns nothing
  CHECK(emb.weight.grad().select(0, 1).to_vector<float>() == std::vector<float>{1, 1, 1});

  nn::LayerNorm ln(Shape{4});
  CHECK(ln.weight.to_vector<float>() == std::vector<float>{1, 1, 1, 1});
  Tensor y = ln(randn({3, 4}));
  check_close(mean(y, {1}), zeros({3}), 0, 1e-6, "layer_norm rows have mean 0");

  nn::CrossEntropyLoss ce(CrossEntropyOptions().weight(from_vector<float>({1, 2, 3})).label_smoothing(0.1));
  CHECK(ce.named_buffers().size() == 1);  // the class weight is a buffer, as in PyTorch
  CHECK(ce(zeros({2, 3}), from_vector<int64_t>({0, 2})).item() == doctest::Approx(std::log(3.0)));

  nn::Dropout2d drop(0.5);
  Tensor x = ones({4, 8, 3, 3});
  Tensor d = drop(x);
  // each (n, c) plane is all zeros or all 2s
  auto v = d.reshape({32, 9}).to_vector<float>();
  int64_t dropped = 0;
  for (int64_t p = 0; p < 32; ++p) {
    bool all0 = true, all2 = true;
    for (int64_t i = 0; i < 9; ++i) {
      all0 = all0 && v[size_t(p * 9 + i)] == 0.0f;
      all2 = all2 && v[size_t(p * 9 + i)] == 2.0f;
    }
    CHECK((all0 || all2));
    dropped += all0;
  }
  CHECK(dropped > 4);
  CHECK(dropped < 28);
  drop.eval();
  CHECK(drop(x).is_same(x));

  CHECK(error_of([] { nn::GroupNorm(4, 6); }) ==
        "GroupNorm: num_channels must be divisible by num_groups, found num_channels 6 and num_groups 4");
  CHECK(error_of([] { nn::Conv2d(nn::Conv2dOptions(4, 6, 3).groups(4)); }) ==
        "Conv2d: in_channels (4) and out_channels (6) must be divisible by groups, found groups 4");
  CHECK(error_of([] { nn::GELU("fast"); }) == "GELU: approximate must be 'none' or 'tanh', found 'fast'");
}
