// Exercise 4: a function that merges the state dicts of two models that share some layer names
// but differ in architecture, with a rule for shared names and a report of clashes.
// docs/state-dicts.md, section "Exercises".
//
//   build/bin/exercise_merge
#include <cstdio>
#include <iostream>

#include "examples/sd_common.h"

using namespace ember;

namespace {

// [merge]
enum class OnShared { KeepFirst, KeepSecond, Average };

struct MergeResult {
  StateDict merged;
  std::vector<std::string> averaged, clashes;  // clashes: same name, different shape or dtype (first kept)
};

// Every entry of `a`, then those of `b` it lacks. A name in both follows `rule`; averaging applies
// to floating-point entries of one shape and dtype (an int64 counter such as BatchNorm's
// num_batches_tracked keeps the first). Averaging weights makes sense for two models fine-tuned
// from one starting point; for unrelated models, keep one side.
MergeResult merge_state_dicts(const StateDict& a, const StateDict& b, OnShared rule) {
  MergeResult r;
  for (const auto& [key, t] : a) {
    const Tensor* u = b.find(key);
    if (!u) {
      r.merged.insert(key, t);
    } else if (u->shape() != t.shape() || u->dtype() != t.dtype()) {
      r.clashes.push_back(key + " " + examples::shape_of(t) + " vs " + examples::shape_of(*u));
      r.merged.insert(key, t);
    } else if (rule == OnShared::Average && is_floating(t.dtype())) {
      r.merged.insert(key, (t + *u) * 0.5);
      r.averaged.push_back(key);
    } else {
      r.merged.insert(key, rule == OnShared::KeepSecond ? *u : t);
    }
  }
  for (const auto& [key, u] : b)
    if (!a.contains(key)) r.merged.insert(key, u);
  return r;
}
// [/merge]

// Two models from one base, fine-tuned for different outputs: shared embed and body, own heads.
struct ModelA : nn::Module {
  nn::Linear embed{8, 16}, body{16, 16}, head{16, 3};
  ModelA() {
    register_module("embed", embed);
    register_module("body", body);
    register_module("head", head);
  }
  std::string name() const override { return "ModelA"; }
};

struct ModelB : nn::Module {
  nn::Linear embed{8, 16}, body{16, 16}, head{16, 5}, aux{16, 2};
  ModelB() {
    register_module("embed", embed);
    register_module("body", body);
    register_module("head", head);
    register_module("aux", aux);
  }
  std::string name() const override { return "ModelB"; }
};

// What the merge is loaded into: A's head and B's aux.
struct ModelC : nn::Module {
  nn::Linear embed{8, 16}, body{16, 16}, head{16, 3}, aux{16, 2};
  ModelC() {
    register_module("embed", embed);
    register_module("body", body);
    register_module("head", head);
    register_module("aux", aux);
  }
  std::string name() const override { return "ModelC"; }
};

}  // namespace

int main() {
  return examples::run_program("exercise_merge", [] {
    manual_seed(0);
    ModelA a;
    ModelB b;
    // B starts from A's shared layers, then drifts a little (as fine-tuning would move it).
    StateDict shared;
    for (const auto& [key, t] : a.state_dict())
      if (key.rfind("head.", 0) != 0) shared.insert(key, t);
    b.load_state_dict(shared, /*strict=*/false);
    Generator drift(5);
    for (Tensor& p : b.parameters()) p.add_(randn(p.shape(), drift), 0.01);

    MergeResult r = merge_state_dicts(a.state_dict(), b.state_dict(), OnShared::Average);
    std::cout << "averaged: " << examples::join(r.averaged) << "\n";
    std::cout << "clashes:  " << examples::join(r.clashes) << " (kept a's)\n";
    std::cout << "merged:\n";
    examples::print_state_dict(r.merged);

    ModelC c;
    c.load_state_dict(r.merged);  // strict: the merge has exactly C's entries
    Tensor mid = (a.body.weight + b.body.weight) * 0.5;
    std::printf("loaded into ModelC; body.weight is the mean of a's and b's: %s; aux is b's: %s\n",
                examples::max_abs_diff(c.body.weight, mid) == 0 ? "yes" : "no",
                examples::max_abs_diff(c.aux.weight, b.aux.weight) == 0 ? "yes" : "no");

    for (OnShared rule : {OnShared::KeepFirst, OnShared::KeepSecond}) {
      MergeResult k = merge_state_dicts(a.state_dict(), b.state_dict(), rule);
      std::printf("%s: body.weight is %s's\n", rule == OnShared::KeepFirst ? "KeepFirst " : "KeepSecond",
                  examples::max_abs_diff(k.merged.at("body.weight"), a.body.weight) == 0 ? "a" : "b");
    }
  });
}
