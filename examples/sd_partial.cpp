// sd_partial: loading with strict=false, and what missing and unexpected keys mean.
// docs/state-dicts.md, section "Partial loading: strict=false".
//
//   build/bin/sd_partial
#include <cstdio>
#include <iostream>

#include "examples/sd_common.h"

using namespace ember;
using examples::TwoLayerNet;

namespace {

// TwoLayerNet with one more layer: fc1 -> relu -> fc2 -> relu -> fc3. x: (N, 10) -> (N, 2)
struct ThreeLayerNet : nn::Module {
  nn::Linear fc1{10, 20}, fc2{20, 2}, fc3{2, 2};
  ThreeLayerNet() {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("fc3", fc3);
  }
  std::string name() const override { return "ThreeLayerNet"; }
  Tensor forward(const Tensor& x) { return fc3(relu(fc2(relu(fc1(x))))); }
};

std::string list(const std::vector<std::string>& keys) {
  std::string out = "[";  // appended piecewise: GCC 12 warns falsely on "[" + s
  return out.append(examples::join(keys, "")).append("]");
}

}  // namespace

int main() {
  return examples::run_program("sd_partial", [] {
    manual_seed(0);
    TwoLayerNet small(10, 20, 2);
    ThreeLayerNet big;

    // [grow]
    // The small model's state dict into the bigger one: fc3 is not in the file.
    nn::LoadStateDictResult r = big.load_state_dict(small.state_dict(), /*strict=*/false);
    std::cout << "small -> big: missing " << list(r.missing_keys) << ", unexpected " << list(r.unexpected_keys) << "\n";
    std::printf("  fc1.weight copied: %s; fc3 keeps its own initial values\n",
                examples::max_abs_diff(big.fc1.weight, small.fc1.weight) == 0 ? "yes" : "no");
    // [/grow]

    // [shrink]
    // The other way round: the file has fc3, the model has nowhere to put it.
    r = small.load_state_dict(big.state_dict(), /*strict=*/false);
    std::cout << "big -> small: missing " << list(r.missing_keys) << ", unexpected " << list(r.unexpected_keys) << "\n";
    // [/shrink]

    // [prefix]
    // Keys saved from a model held under another name ("net.fc1.weight"): nothing matches, and
    // strict=false hides it unless you look at the result.
    StateDict wrapped;
    for (const auto& [key, t] : small.state_dict()) wrapped.insert("net." + key, t);
    r = small.load_state_dict(wrapped, /*strict=*/false);
    std::cout << "wrapped -> small: missing " << list(r.missing_keys) << ", unexpected " << list(r.unexpected_keys)
              << "\n";
    // The fix: rename the keys, then load strictly so that nothing can be skipped.
    StateDict renamed;
    for (const auto& [key, t] : wrapped) renamed.insert(key.substr(key.rfind("net.", 0) == 0 ? 4 : 0), t);
    r = small.load_state_dict(renamed);
    std::cout << "renamed -> small (strict): missing " << list(r.missing_keys) << ", unexpected "
              << list(r.unexpected_keys) << "\n";
    // [/prefix]
  });
}
