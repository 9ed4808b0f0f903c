// The CUDA backend beyond single ops: memory and copies, the generator on the GPU, the fused SGD
// step, modules and optimizers moving between devices, checkpoints across devices, kernel-reported
// errors, deterministic mode, and a few MNISTNet training steps against the CPU. Skipped (exit 77,
// tests/cuda_main.cpp) where no GPU is visible.
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "ember/core/determinism.h"
#include "examples/models.h"
#include "helpers.h"
#include "ember/io/interop/serialize.h"
#include "ember/optim/sgd.h"
#include "ember/core/cuda.h"

using namespace ember;
using test::check_close;
using test::distinct_values;

namespace {

const Device kGpu("cuda:0");

std::vector<float> values(const Tensor& t) { return t.to_vector<float>(); }

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ember_cuda_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("tensors go to the GPU and back unchanged, whatever their dtype and size") {
  for (DType t : {kFloat32, kFloat64, kInt64, kUInt8, kBool}) {
    Tensor x = distinct_values({3, 5}, 0.5, 200, 3).to(t);  // non-negative: a valid uint8 too
    Tensor back = x.to(kGpu).to(kCPU);
    CHECK(back.device() == kCPU);
    CHECK(back.dtype() == t);
    CHECK(back.to_vector<double>() == x.to_vector<double>());
  }
  // Larger than one pinned staging buffer (4 MiB): the copy is split and reassembled in order.
  std::vector<float> big(3'000'001);
  for (size_t i = 0; i < big.size(); ++i) big[i] = float(i % 9973) - 4000.5f;
  Tensor g;
  {
    Tensor host = from_vector(big);
    g = host.to(kGpu);
  }  // the host tensor is gone before the copy is read back: staging made it safe
  CHECK(g.to(kCPU).to_vector<float>() == big);
  CHECK(zeros({0}, kFloat32, kGpu).to(kCPU).numel() == 0);
}

TEST_CASE("a tensor on the GPU prints, converts, clones and copies across devices") {
  Tensor x = from_vector(std::vector<float>{1.5f, -2.25f, 3.0f}).to(kGpu);
  CHECK(x.device() == kGpu);
  CHECK(test::error_of([&] { (void)x.item(); }).find("one element") != std::string::npos);
  CHECK(x[1].item() == -2.25);
  CHECK(x.to(kFloat64).to(kInt64).to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});
  Tensor c = x.clone();
  c.add_(1.0);
  CHECK(values(x) == std::vector<float>{1.5f, -2.25f, 3.0f});
  CHECK(values(c) == std::vector<float>{2.5f, -1.25f, 4.0f});
  Tensor host = zeros({3});
  host.copy_(c);
  CHECK(values(host) == values(c));
  std::ostringstream os;
  os << x;
  CHECK(os.str().find("device='cuda:0'") != std::string::npos);
}

TEST_CASE("the caching allocator reuses freed blocks instead of calling cudaMalloc") {
  (void)zeros({1}, kFloat32, kGpu);
  const auto before = cuda::memory_stats();
  for (int i = 0; i < 100; ++i) {
    Tensor a = empty({1000, 37}, kFloat32, kGpu);
    Tensor b = empty({1000, 37}, kFloat32, kGpu);
  }
  const auto after = cuda::memory_stats();
  CHECK(after.device_mallocs - before.device_mallocs <= 2);
  CHECK(after.reused_blocks - before.reused_blocks >= 198);
  CHECK(after.in_use_bytes == before.in_use_bytes);
  cuda::empty_cache();
  CHECK(cuda::memory_stats().cached_bytes == 0);
}

TEST_CASE("random fills on the GPU draw the CPU's values from the same generator state") {
  for (DType t : {kFloat32, kFloat64}) {
    INFO(dtype_name(t));
    Generator a(42), b(42);
    a.set_state({42, 5});
    b.set_state({42, 5});
    Tensor cpu = empty({1001}, t).uniform_(-2, 3, a);
    Tensor gpu = empty({1001}, t, kGpu).uniform_(-2, 3, b);
    CHECK(a.state() == b.state());
    // The same draws and arithmetic: equal up to the FMA contraction of the CPU build (an ulp).
    check_close(gpu.to(kCPU), cpu, t == kFloat32 ? 1.2e-7 : 4e-16, 0, "uniform_");
    Tensor ncpu = empty({777}, t).normal_(0.5, 2.0, a);
    Tensor ngpu = empty({777}, t, kGpu).normal_(0.5, 2.0, b);
    CHECK(a.state() == b.state());
    check_close(ngpu.to(kCPU), ncpu, t == kFloat32 ? 1e-6 : 1e-13, 1e-12, "normal_");
  }
}

TEST_CASE("dropout on the GPU replays exactly after its generator state is restored") {
  Generator gen(9);
  Tensor x = ones({64, 50}, kFloat32, kGpu);
  const GeneratorState saved = gen.state();
  auto first = values(dropout(x, 0.5, true, gen));
  auto second = values(dropout(x, 0.5, true, gen));
  CHECK(first != second);
  gen.set_state(saved);
  CHECK(values(dropout(x, 0.5, true, gen)) == first);
  // And the CPU draws the same mask from the same state.
  Generator cpu_gen(9);
  CHECK(values(dropout(ones({64, 50}), 0.5, true, cpu_gen)) == first);
}

TEST_CASE("the fused SGD step on the GPU follows the CPU's per-tensor kernels") {
  struct Variant {
    const char* name;
    optim::SGDOptions options;
  };
  const std::vector<Variant> variants = {
      {"plain", optim::SGDOptions(0.1)},
      {"momentum", optim::SGDOptions(0.05).momentum(0.9)},
      {"nesterov + weight decay", optim::SGDOptions(0.05).momentum(0.9).nesterov(true).weight_decay(1e-2)},
      {"dampening + maximize", optim::SGDOptions(0.01).momentum(0.5).dampening(0.3).maximize(true)},
  };
  for (const Variant& v : variants) {
    INFO(v.name);
    std::vector<Tensor> cpu_params, gpu_params;
    for (int i = 0; i < 30; ++i) {  // more tensors than one launch's table holds
      Tensor p = distinct_values({i % 3 + 1, 7}, -1, 1, uint64_t(i)).to(kFloat32);
      cpu_params.push_back(p.clone().requires_grad_());
      gpu_params.push_back(p.to(kGpu).requires_grad_());
    }
    optim::SGD cpu_opt(cpu_params, v.options), gpu_opt(gpu_params, v.options);
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < cpu_params.size(); ++i) {
        if (step == 1 && i % 5 == 0) {  // parameters without a gradient are skipped
          cpu_params[i].set_grad(Tensor());
          gpu_params[i].set_grad(Tensor());
          continue;
        }
        Tensor g = distinct_values(cpu_params[i].shape(), -2, 2, uint64_t(100 * step + i)).to(kFloat32);
        cpu_params[i].set_grad(g);
        gpu_params[i].set_grad(g.to(kGpu));
      }
      cpu_opt.step();
      gpu_opt.step();
    }
    // Bit-identical where the CPU build fuses its multiply-adds (the default -march=native on a
    // machine with FMA); within an ulp otherwise.
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      check_close(gpu_params[i].to(kCPU), cpu_params[i], 2.5e-7, 1e-9, "parameter " + std::to_string(i));
      if (v.options.momentum() != 0)
        check_close(gpu_opt.state(gpu_params[i]).at("momentum_buffer").to(kCPU),
                    cpu_opt.state(cpu_params[i]).at("momentum_buffer"), 2.5e-7, 1e-9,
                    "momentum_buffer " + std::to_string(i));
    }
  }
}

TEST_CASE("module.to moves parameters in place and the optimizer state follows them") {
  manual_seed(1);
  examples::MNISTNet net;
  optim::SGD opt(net.parameters(), optim::SGDOptions(0.01).momentum(0.5));
  Tensor x = distinct_values({4, 1, 28, 28}, 0, 1, 5).to(kFloat32);
  Tensor target = from_vector(std::vector<int64_t>{1, 2, 3, 4});
  cross_entropy(net.forward(x), target).backward();
  opt.step();  // momentum buffers now exist, on the CPU
  const Tensor w = net.conv1.weight;
  net.to(kGpu);
  CHECK(w.is_same(net.conv1.weight));
  CHECK(net.conv1.weight.device() == kGpu);
  opt.zero_grad();
  cross_entropy(net.forward(x.to(kGpu)), target.to(kGpu)).backward();
  opt.step();
  CHECK(opt.state(net.conv1.weight).at("momentum_buffer").device() == kGpu);
  CHECK(net.conv1.weight.device() == kGpu);
}

TEST_CASE("checkpoints cross devices: saved on the GPU, loaded on the CPU, and back") {
  manual_seed(3);
  examples::MNISTNet net;
  net.to(kGpu);
  const std::string path = temp_path("gpu.ember");
  save(Value::dict({{"model", Value(net.state_dict())}}), path);
  Value kept = load(path);          // recorded device
  Value on_cpu = load(path, "cpu");
  Value on_gpu = load(path, "cuda:0");
  const Tensor& a = kept.at("model").at("fc1.weight").as_tensor();
  const Tensor& b = on_cpu.at("model").at("fc1.weight").as_tensor();
  const Tensor& c = on_gpu.at("model").at("fc1.weight").as_tensor();
  CHECK(a.device() == kGpu);
  CHECK(b.device() == kCPU);
  CHECK(c.device() == kGpu);
  CHECK(values(b) == values(net.fc1.weight));
  CHECK(values(c) == values(net.fc1.weight));
  // A CPU model loads the GPU's weights, and a GPU model a CPU checkpoint.
  examples::MNISTNet cpu_net;
  cpu_net.load_state_dict(on_cpu.at("model").to_state_dict());
  CHECK(values(cpu_net.conv2.bias) == values(net.conv2.bias));
  const std::string cpu_path = temp_path("cpu.ember");
  save(Value::dict({{"model", Value(cpu_net.state_dict())}}), cpu_path);
  examples::MNISTNet gpu_net;
  gpu_net.to(kGpu);
  gpu_net.load_state_dict(load(cpu_path, "cuda:0").at("model").to_state_dict());
  CHECK(gpu_net.fc2.weight.device() == kGpu);
  CHECK(values(gpu_net.fc2.weight) == values(net.fc2.weight));
  std::filesystem::remove(path);
  std::filesystem::remove(cpu_path);
}

TEST_CASE("an nll_loss target out of range is reported at the next synchronisation") {
  Tensor logits = zeros({3, 4}, kFloat32, kGpu);
  Tensor bad = from_vector(std::vector<int64_t>{0, 7, 2}).to(kGpu);
  Tensor loss = cross_entropy(logits, bad);
  std::string err = test::error_of([&] { (void)loss.item(); });
  CHECK(err.find("nll_loss: target 7 at index 1 is out of range [0, 4)") != std::string::npos);
  // Reported once; the device keeps working.
  Tensor good = from_vector(std::vector<int64_t>{0, 3, 2}).to(kGpu);
  CHECK(cross_entropy(logits, good).item() == doctest::Approx(std::log(4.0)));
}

TEST_CASE("a cuda device that does not exist is refused with a clear error") {
  const int n = cuda_device_count();
  std::string err = test::error_of([&] { (void)zeros({2}, kFloat32, Device(DeviceType::CUDA, n)); });
  CHECK(err.find("CUDA device cuda:" + std::to_string(n) + " requested but only") != std::string::npos);
}

TEST_CASE("deterministic mode: a training step on the GPU gives the same bits every time") {
  DeterministicGuard det(true);
  auto run_steps = [] {
    manual_seed(11);
    examples::MNISTNetBN net;
    net.to(kGpu);
    optim::SGD opt(net.parameters(), optim::SGDOptions(0.05).momentum(0.9));
    Tensor x = distinct_values({64, 1, 28, 28}, -1, 2, 12).to(kFloat32).to(kGpu);
    Generator g(13);
    Tensor target = randint(0, 10, {64}, g).to(kGpu);
    for (int i = 0; i < 3; ++i) {
      opt.zero_grad();
      cross_entropy(net.forward(x), target).backward();
      opt.step();
    }
    std::vector<float> all;
    for (const Tensor& p : net.parameters()) {
      auto v = values(p);
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  CHECK(run_steps() == run_steps());
}

TEST_CASE("MNISTNet trains alike on the CPU and the GPU") {
  auto train = [](Device d) {
    manual_seed(5);
    examples::MNISTNet net;
    net.to(d);
    optim::SGD opt(net.parameters(), optim::SGDOptions(0.01).momentum(0.5));
    std::vector<double> losses;
    for (int i = 0; i < 5; ++i) {
      Tensor x = distinct_values({64, 1, 28, 28}, -0.5, 2.5, uint64_t(20 + i)).to(kFloat32);
      Generator g(uint64_t(30 + i));
      Tensor target = randint(0, 10, {64}, g);
      opt.zero_grad();
      Tensor loss = cross_entropy(net.forward(x.to(d)), target.to(d));
      loss.backward();
      opt.step();
      losses.push_back(loss.item());
    }
    return std::make_pair(losses, net.state_dict());
  };
  auto [cpu_losses, cpu_state] = train(kCPU);
  auto [gpu_losses, gpu_state] = train(kGpu);
  for (size_t i = 0; i < cpu_losses.size(); ++i) CHECK(gpu_losses[i] == doctest::Approx(cpu_losses[i]).epsilon(1e-4));
  for (const auto& [name, t] : cpu_state) check_close(gpu_state.at(name).to(kCPU), t, 1e-3, 1e-5, name);
}
