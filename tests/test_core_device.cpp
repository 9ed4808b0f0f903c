// Device dispatch as seen from any build: asking for a GPU that is not there (or not built) fails with
// a clear message, deterministic mode switches, and SGD's step (public ops on the CPU, a backend's
// fused kernel where it has one) applies torch.optim.SGD's rule. Runs with or without a GPU.
#include <cmath>
#include <string>
#include <vector>

#include "ember/core/determinism.h"
#include "ember/optim/sgd.h"
#include "helpers.h"

using namespace ember;

TEST_CASE("a cuda tensor without a GPU is refused with a clear error; with one it is made") {
  CHECK(cuda_device_count() >= 0);
  if (!cuda_built()) CHECK(cuda_device_count() == 0);
  std::string err = test::error_of([] { (void)zeros({2}, kFloat32, Device("cuda:0")); });
  if (cuda_device_count() > 0) {
    CHECK(err.empty());
    CHECK(zeros({2}, kFloat32, Device("cuda:0")).device() == Device("cuda:0"));
  } else if (cuda_built() && cuda::unavailable_reason() == "no GPU is visible to the CUDA runtime") {
    CHECK(err.find("CUDA device cuda:0 requested but no GPU is available (cudaGetDeviceCount: ") != std::string::npos);
  } else if (cuda_built()) {  // the module or the CUDA libraries could not be loaded: the error says which
    CHECK(err.find("device cuda:0 requested, but the CUDA backend module ") == 0);
    CHECK(err.find(cuda::unavailable_reason()) != std::string::npos);
  } else {
    CHECK(err.find("device cuda:0 requested, but this build of Ember has no CUDA backend") != std::string::npos);
  }
  // The CPU is always there, and moving to it is a no-op.
  Tensor x = ones({3});
  CHECK(x.to(kCPU).is_same(x));
}

TEST_CASE("deterministic mode is off by default and a guard restores it") {
  CHECK_FALSE(deterministic());
  {
    DeterministicGuard on;
    CHECK(deterministic());
    {
      DeterministicGuard off(false);
      CHECK_FALSE(deterministic());
    }
    CHECK(deterministic());
  }
  CHECK_FALSE(deterministic());
  set_deterministic(true);
  CHECK(deterministic());
  set_deterministic(false);
}

// torch.optim.SGD's rule for one value, in float as the kernels compute it.
struct Expected {
  float p, buf;
};
Expected sgd_rule(float p, float g, float buf, bool first, const SgdHyper& h) {  // h: the group's options
  float d = h.maximize ? -g : g;
  if (h.weight_decay != 0) d = d + float(h.weight_decay) * p;
  if (h.momentum != 0) {
    buf = first ? d : buf * float(h.momentum) + (h.dampening == 0 ? d : float(1.0 - h.dampening) * d);
    d = h.nesterov ? d + float(h.momentum) * buf : buf;
  }
  return {p + float(-h.lr) * d, buf};
}

TEST_CASE("SGD's step applies torch.optim.SGD's rule, creating buffers on the first step, on every device") {
  const std::vector<SgdHyper> variants = {
      {0.1, 0, 0, 0, false, false},
      {0.05, 0.9, 0, 0, false, false},
      {0.05, 0.9, 0, 0.01, true, false},
      {0.01, 0.5, 0.3, 0.001, false, true},
  };
  for (const SgdHyper& h : variants) {
    INFO("lr ", h.lr, " momentum ", h.momentum, " dampening ", h.dampening, " weight_decay ", h.weight_decay,
         " nesterov ", h.nesterov, " maximize ", h.maximize);
    const std::vector<float> p0 = {0.5f, -1.25f, 2.0f}, g0 = {0.3f, 0.7f, -1.1f}, g1 = {-0.2f, 0.4f, 0.9f};
    std::vector<Device> devices = {kCPU};
    if (cuda_device_count() > 0) devices.push_back(Device("cuda:0"));
    for (const Device& device : devices) {
      INFO("device ", device.str());
      Tensor p = from_vector(p0).to(device).requires_grad_();
      Tensor grad0 = from_vector(g0).to(device), grad1 = from_vector(g1).to(device);
      optim::SGD opt({p}, optim::SGDOptions(h.lr).momentum(h.momentum).dampening(h.dampening)
                              .weight_decay(h.weight_decay).nesterov(h.nesterov).maximize(h.maximize));
      p.set_grad(grad0);
      opt.step();
      p.set_grad(grad1);
      opt.step();
      auto got_p = p.to(kCPU).to_vector<float>();
      Value state = opt.state_dict().at("state");
      CHECK(state.size() == (h.momentum != 0 ? 1u : 0u));
      auto got_buf = h.momentum != 0 ? state.at("0").at("momentum_buffer").as_tensor().to(kCPU).to_vector<float>()
                                     : std::vector<float>(3, 0.0f);
      for (size_t i = 0; i < 3; ++i) {
        Expected e = sgd_rule(p0[i], g0[i], 0.0f, true, h);
        e = sgd_rule(e.p, g1[i], e.buf, false, h);
        // Within an ulp: GCC may fuse the multiply-adds of the kernels (and of sgd_rule) into FMAs.
        CHECK(got_p[i] == doctest::Approx(e.p).epsilon(1e-6));
        if (h.momentum != 0) CHECK(got_buf[i] == doctest::Approx(e.buf).epsilon(1e-6));
      }
      CHECK(grad0.to(kCPU).to_vector<float>() == g0);  // gradients are read, never written
    }
  }
}
