// GPU training benchmark: epochs of MNISTNet (batch 64, SGD lr 0.01 momentum 0.5) with the whole
// training set resident on the GPU, so that the epoch time is the model's, not the loader's.
// bench/bench_gpu.py runs the same loop in PyTorch eager; bench/run_gpu.sh runs both side by side.
// Prints `ember_epoch_s <median>` and, with --profile, the GPU time of every backend call by name.
//
// usage: bench_gpu [--data datasets/mnist] [--epochs 3] [--batch-size 64] [--device cuda:0]
//                  [--sync-every 0] [--cudnn] [--deterministic] [--profile]
// Without the MNIST files it trains on random data of the same shape (and says so).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <vector>

#include "ember/core/determinism.h"
#include "ember/data/mnist.h"
#include "examples/flags.h"
#include "examples/models.h"
#include "ember/optim/sgd.h"
#include "ember/core/cuda.h"

using namespace ember;

namespace {

struct Config {
  std::string data = "datasets/mnist";
  std::string device = "cuda:0";
  int64_t epochs = 3;
  int64_t batch_size = 64;
  int64_t sync_every = 0;
  bool cudnn = true;
  bool deterministic = false;
  bool profile = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The training images (N, 1, 28, 28) normalised as train_mnist does, and their labels.
std::pair<Tensor, Tensor> training_set(const std::string& root) {
  if (std::filesystem::exists(std::filesystem::path(root) / "train-images-idx3-ubyte") ||
      std::filesystem::exists(std::filesystem::path(root) / "train-images-idx3-ubyte.gz")) {
    data::MNIST train(root, true);
    std::vector<int64_t> all(size_t(train.size()));
    std::iota(all.begin(), all.end(), 0);
    data::Batch b = train.get_batch(all);
    return {b.data, b.target};
  }
  std::printf("note: no MNIST files in %s; training on random data of the same shape\n", root.c_str());
  Generator gen(1);
  return {randn({60000, 1, 28, 28}, gen), randint(0, 10, {60000}, gen)};
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  examples::Flags flags("bench_gpu", "MNISTNet epochs with the data resident on the GPU.");
  flags.add("--data", c.data, "folder with the MNIST IDX files");
  flags.add("--device", c.device, "cuda:N (cpu works too, for comparison)");
  flags.add("--epochs", c.epochs, "timed epochs (after one warm-up epoch)");
  flags.add("--batch-size", c.batch_size, "training batch size");
  flags.add("--sync-every", c.sync_every, "read the loss (a device synchronisation) every N steps; 0: once per epoch");
  flags.add("--cudnn", c.cudnn, "conv2d through cuDNN where built (--no-cudnn: Ember's im2col + cuBLAS)");
  flags.add("--deterministic", c.deterministic, "deterministic mode (cuDNN's deterministic algorithms)");
  flags.add("--profile", c.profile, "time every backend call with CUDA events during the last epoch");
  flags.parse(argc, argv);
  try {
    const Device device(c.device);
    if (device.is_cuda() && cuda::cudnn_built()) cuda::set_cudnn_enabled(c.cudnn);
    set_deterministic(c.deterministic);
    auto [images, labels] = training_set(c.data);
    images = images.to(device);
    labels = labels.to(device);
    const int64_t n = images.size(0), steps = (n + c.batch_size - 1) / c.batch_size;

    manual_seed(1);
    examples::MNISTNet model;
    model.to(device);
    optim::SGD opt(model.parameters(), optim::SGDOptions(0.01).momentum(0.5));
    std::printf("MNISTNet on %s: %lld images resident, batch %lld, %lld steps per epoch\n", device.str().c_str(),
                (long long)n, (long long)c.batch_size, (long long)steps);

    std::vector<double> times;
    for (int64_t epoch = 0; epoch <= c.epochs; ++epoch) {  // epoch 0 warms up (allocator, cuDNN plans)
      if (c.profile && device.is_cuda() && epoch == c.epochs) cuda::profile_start(device.index);
      Tensor loss;
      (void)zeros({1}, kFloat32, device).item();  // start from an idle device
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t s = 0; s < steps; ++s) {
        const int64_t lo = s * c.batch_size, hi = std::min(n, lo + c.batch_size);
        opt.zero_grad();
        loss = cross_entropy(model.forward(images.slice(lo, hi)), labels.slice(lo, hi));
        loss.backward();
        opt.step();
        if (c.sync_every > 0 && (s + 1) % c.sync_every == 0) (void)loss.item();
      }
      const double last = loss.item();  // waits for the epoch's work
      const double t = seconds_since(t0);
      std::printf("%s %lld: %.3f s (%.0f images/s), last loss %.4f\n", epoch == 0 ? "warm-up" : "epoch",
                  (long long)epoch, t, double(n) / t, last);
      if (epoch > 0) times.push_back(t);
    }
    std::sort(times.begin(), times.end());
    if (!times.empty()) std::printf("ember_epoch_s %.4f\n", times[times.size() / 2]);
    if (c.profile && device.is_cuda()) {
      auto report = cuda::profile_report(device.index);
      double total = 0;
      for (const auto& e : report) total += e.total_ms;
      std::printf("GPU time by backend call over the last epoch (CUDA events, %.1f ms in all):\n", total);
      std::printf("  %-24s %8s %10s %8s %7s\n", "call", "calls", "total ms", "us/call", "share");
      for (size_t i = 0; i < report.size() && i < 20; ++i)
        std::printf("  %-24s %8lld %10.2f %8.1f %6.1f%%\n", report[i].name.c_str(), (long long)report[i].calls,
                    report[i].total_ms, 1e3 * report[i].total_ms / double(std::max<int64_t>(report[i].calls, 1)),
                    100.0 * report[i].total_ms / std::max(total, 1e-9));
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_gpu: %s\n", e.what());
    return 1;
  }
  return 0;
}
