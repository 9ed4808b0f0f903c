// The model benchmark, Ember's side: training steps of whole models on random data of MNIST's shape
// (bench/bench_models.py is PyTorch's twin; bench/run_models.sh runs both and prints the ratios).
//   mnistnet     MNISTNet, batch 64, SGD lr 0.01 momentum 0.5 (the seed recipe), cross-entropy
//   mnistnet_bn  MNISTNet with BatchNorm (examples/models.h), the same recipe
//   resnet18     ResNet-18 on 1x28x28 (7x7 stride-2 stem, max-pool, 4 stages of 2 basic blocks), batch 64,
//                SGD lr 0.1 momentum 0.9
//   dcgan_d      the DCGAN discriminator of PyTorch's C++ example on 28x28, batch 64, Adam 2e-4 (0.5, 0.999),
//                binary cross-entropy against ones (no ConvTranspose2d in Ember yet: no generator)
//   vae          the VAE of PyTorch's examples (784-400-20), batch 128, Adam 1e-3, BCE(sum) + KL
// Prints `model <name> ember_s_per_step <median> peak_rss_mb <the process's peak>`; one model per
// process, so the peak is that model's.
//
// usage: bench_models --model NAME [--threads N] [--steps K (default 20)] [--warmup W (default 3)]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ember/core/ops.h"
#include "ember/core/parallel.h"
#include "ember/nn/layers.h"
#include "ember/optim/adam.h"
#include "ember/optim/sgd.h"
#include "examples/models.h"

using namespace ember;

namespace {

nn::Conv2dOptions conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false);
}

struct BasicBlock : nn::Module {
  nn::Conv2d conv1, conv2;
  nn::BatchNorm2d bn1, bn2;
  std::unique_ptr<nn::Sequential> downsample;  // 1x1 conv + BatchNorm where the shape changes
  BasicBlock(int64_t in, int64_t out, int64_t stride)
      : conv1(conv(in, out, 3, stride, 1)), conv2(conv(out, out, 3, 1, 1)), bn1(out), bn2(out) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    if (stride != 1 || in != out) {
      downsample = std::make_unique<nn::Sequential>(std::make_shared<nn::Conv2d>(conv(in, out, 1, stride, 0)),
                                                    std::make_shared<nn::BatchNorm2d>(out));
      register_module("downsample", *downsample);
    }
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = relu(bn1(conv1(x)));
    h = bn2(conv2(h));
    return relu(add(h, downsample ? (*downsample)(x) : x));
  }
};

// x: (N, 1, 28, 28) -> (N, 10); maps 14 after the stem, 7, 4, 2, 1 in the stages.
struct ResNet18 : nn::Module {
  nn::Conv2d stem{nn::Conv2dOptions(1, 64, 7).stride(2).padding(3).bias(false)};
  nn::BatchNorm2d bn{64};
  std::vector<std::unique_ptr<nn::Sequential>> layers;  // layer1 .. layer4, two blocks each
  nn::Linear fc{512, 10};
  ResNet18() {
    register_module("conv1", stem);
    register_module("bn1", bn);
    int64_t in = 64;
    const int64_t widths[4] = {64, 128, 256, 512};
    for (int s = 0; s < 4; ++s) {
      layers.push_back(std::make_unique<nn::Sequential>(std::make_shared<BasicBlock>(in, widths[s], s > 0 ? 2 : 1),
                                                        std::make_shared<BasicBlock>(widths[s], widths[s], 1)));
      register_module("layer" + std::to_string(s + 1), *layers.back());
      in = widths[s];
    }
    register_module("fc", fc);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = max_pool2d(relu(bn(stem(x))), 3, 2, 1);
    for (auto& l : layers) h = (*l)(h);
    return fc(adaptive_avg_pool2d(h, 1).flatten(1));
  }
};

// 28 -> 14 -> 7 -> 3 -> 1, a probability per image.
struct DcganD : nn::Module {
  nn::Conv2d c1{conv(1, 64, 4, 2, 1)}, c2{conv(64, 128, 4, 2, 1)}, c3{conv(128, 256, 4, 2, 1)}, c4{conv(256, 1, 3, 1, 0)};
  nn::BatchNorm2d b2{128}, b3{256};
  DcganD() {
    register_module("conv1", c1);
    register_module("conv2", c2);
    register_module("batch_norm2", b2);
    register_module("conv3", c3);
    register_module("batch_norm3", b3);
    register_module("conv4", c4);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = leaky_relu(c1(x), 0.2);
    h = leaky_relu(b2(c2(h)), 0.2);
    h = leaky_relu(b3(c3(h)), 0.2);
    return sigmoid(c4(h)).flatten(0);
  }
};

struct Vae : nn::Module {
  nn::Linear fc1{784, 400}, fc21{400, 20}, fc22{400, 20}, fc3{20, 400}, fc4{400, 784};
  Generator gen{7};
  Vae() {
    register_module("fc1", fc1);
    register_module("fc21", fc21);
    register_module("fc22", fc22);
    register_module("fc3", fc3);
    register_module("fc4", fc4);
  }
  // x: (N, 784) -> the loss: reconstruction BCE (summed) + KL divergence.
  Tensor loss(const Tensor& x) {
    Tensor h = relu(fc1(x));
    Tensor mu = fc21(h), logvar = fc22(h);
    Tensor z = add(mu, mul(randn(mu.shape(), gen), exp(mul(logvar, 0.5))));
    Tensor recon = sigmoid(fc4(relu(fc3(z))));
    Tensor bce = binary_cross_entropy(recon, x, Tensor(), Reduction::Sum);
    Tensor kld = mul(sum(sub(sub(add(logvar, 1.0), mul(mu, mu)), exp(logvar))), -0.5);
    return add(bce, kld);
  }
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "bench_models: %s\nusage: bench_models --model mnistnet|mnistnet_bn|resnet18|dcgan_d|vae "
               "[--threads N] [--steps K] [--warmup W]\n", why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model;
  int threads = 1, steps = 20, warmup = 3;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage(flag + " expects a value");
    const std::string value = argv[i + 1];
    if (flag == "--model") model = value;
    else if (flag == "--threads" || flag == "--steps" || flag == "--warmup") {
      const int v = std::atoi(value.c_str());
      if (v < (flag == "--warmup" ? 0 : 1)) usage(flag + " expects a positive integer, found '" + value + "'");
      (flag == "--threads" ? threads : flag == "--steps" ? steps : warmup) = v;
    } else usage("unknown option " + flag);
  }
  set_num_threads(threads);
  Generator gen(0);
  const int64_t batch = model == "vae" ? 128 : 64;
  Tensor x = model == "vae" ? rand({batch, 784}, gen) : randn({batch, 1, 28, 28}, gen);
  Tensor labels = randint(0, 10, {batch}, gen), ones_t = ones({batch});

  std::function<void()> step;
  std::shared_ptr<nn::Module> keep;
  std::shared_ptr<optim::Optimizer> opt;
  auto classifier = [&](auto net, double lr, double momentum) {
    keep = net;
    opt = std::make_shared<optim::SGD>(net->parameters(), optim::SGDOptions(lr).momentum(momentum));
    step = [net, &x, &labels, o = opt.get()] {
      o->zero_grad();
      cross_entropy((*net)(x), labels).backward();
      o->step();
    };
  };
  if (model == "mnistnet") classifier(std::make_shared<examples::MNISTNet>(), 0.01, 0.5);
  else if (model == "mnistnet_bn") classifier(std::make_shared<examples::MNISTNetBN>(), 0.01, 0.5);
  else if (model == "resnet18") classifier(std::make_shared<ResNet18>(), 0.1, 0.9);
  else if (model == "dcgan_d") {
    auto net = std::make_shared<DcganD>();
    keep = net;
    opt = std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions(2e-4).betas({0.5, 0.999}));
    step = [net, &x, &ones_t, o = opt.get()] {
      o->zero_grad();
      binary_cross_entropy((*net)(x), ones_t).backward();
      o->step();
    };
  } else if (model == "vae") {
    auto net = std::make_shared<Vae>();
    keep = net;
    opt = std::make_shared<optim::Adam>(net->parameters(), optim::AdamOptions(1e-3));
    step = [net, &x, o = opt.get()] {
      o->zero_grad();
      net->loss(x).backward();
      o->step();
    };
  } else {
    usage("unknown model '" + model + "'");
  }
  for (int i = 0; i < warmup; ++i) step();
  std::vector<double> times;
  for (int i = 0; i < steps; ++i) {
    const double t0 = now_s();
    step();
    times.push_back(now_s() - t0);
  }
  std::sort(times.begin(), times.end());
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("model %s ember_s_per_step %.5f peak_rss_mb %.0f\n", model.c_str(), times[times.size() / 2],
              double(ru.ru_maxrss) / 1024);
  return 0;
}
