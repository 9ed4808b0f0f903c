// sd_merge: merge the state dicts of two models that share some layer names into a model that has
// the layers of both.
// docs/state-dicts.md, section "Merging state dicts".
//
//   build/bin/sd_merge
#include <cstdio>
#include <iostream>

#include "examples/sd_common.h"

using namespace ember;

namespace {

// [models]
// Two models that share an encoder: one classifies, one reconstructs its input.
struct Classifier : nn::Module {
  nn::Linear encoder{10, 16}, classifier{16, 4};
  Classifier() {
    register_module("encoder", encoder);
    register_module("classifier", classifier);
  }
  std::string name() const override { return "Classifier"; }
};

struct AutoEncoder : nn::Module {
  nn::Linear encoder{10, 16}, decoder{16, 10};
  AutoEncoder() {
    register_module("encoder", encoder);
    register_module("decoder", decoder);
  }
  std::string name() const override { return "AutoEncoder"; }
};

// One encoder, both heads.
struct MultiTask : nn::Module {
  nn::Linear encoder{10, 16}, classifier{16, 4}, decoder{16, 10};
  MultiTask() {
    register_module("encoder", encoder);
    register_module("classifier", classifier);
    register_module("decoder", decoder);
  }
  std::string name() const override { return "MultiTask"; }
};
// [/models]

}  // namespace

int main() {
  return examples::run_program("sd_merge", [] {
    manual_seed(0);
    Classifier a;
    AutoEncoder b;

    // [merge]
    // As Python's {**b, **a}: start from b, then let a's entries win, so the shared encoder is
    // the classifier's.
    StateDict merged = b.state_dict();
    for (const auto& [key, t] : a.state_dict()) {
      const char* what = merged.contains(key) ? "shared, a's wins" : "only in a";
      merged.insert(key, t);  // a replaced key keeps its position
      std::printf("  %-18s %s\n", key.c_str(), what);
    }
    for (const auto& [key, t] : b.state_dict())
      if (!a.state_dict().contains(key)) std::printf("  %-18s only in b\n", key.c_str());

    MultiTask both;
    both.load_state_dict(merged);  // strict: every key of MultiTask is accounted for
    // [/merge]
    std::cout << "merged " << merged.size() << " entries into MultiTask:\n";
    examples::print_state_dict(merged);
    std::printf("encoder.weight is a's: %s; decoder.weight is b's: %s\n",
                examples::max_abs_diff(both.encoder.weight, a.encoder.weight) == 0 ? "yes" : "no",
                examples::max_abs_diff(both.decoder.weight, b.decoder.weight) == 0 ? "yes" : "no");
  });
}
