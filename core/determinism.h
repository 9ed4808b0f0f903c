#pragma once
// Deterministic mode: with it on, every kernel gives bit-identical results from run to run on the
// same machine (same device, same thread count), so a resumed run ends exactly where an unbroken
// one does, on the GPU as on the CPU.
//
// Ember's own kernels are deterministic whatever the mode: CPU reductions run in a fixed order,
// and the CUDA kernels sum in fixed trees, never with floating-point atomics. The mode restricts
// the choices Ember does not make itself: with it on, cuDNN is only given algorithms it reports as
// deterministic (those for the backward of conv2d exclude the fastest ones on some shapes).
// Off by default, as in PyTorch (torch.use_deterministic_algorithms).
namespace ember {

void set_deterministic(bool on);
bool deterministic();

// Sets the mode in a scope and restores the previous one.
class DeterministicGuard {
 public:
  explicit DeterministicGuard(bool on = true) : prev_(deterministic()) { set_deterministic(on); }
  ~DeterministicGuard() { set_deterministic(prev_); }
  DeterministicGuard(const DeterministicGuard&) = delete;
  DeterministicGuard& operator=(const DeterministicGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace ember
