// Writes the fuzzer's seed corpus into a folder: small valid checkpoints covering every value kind,
// every dtype, empty and 0-d tensors, nesting, and keys that need escaping.
#include <cstdio>
#include <string>

#include "ember/io/interop/serialize.h"
#include "ember/io/onnx/export.h"
#include "ember/nn/containers.h"
#include "ember/nn/layers.h"

using namespace ember;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  StateDict model;
  model.insert("conv1.weight", from_vector<float>({1, 2, 3, 4, 5, 6}, {1, 1, 2, 3}));
  model.insert("conv1.bias", from_vector<float>({0.5f}, {1}));
  model.insert("bn.num_batches_tracked", from_vector<int64_t>({7}, {}).reshape({}));
  Value seeds[] = {
      Value::dict({{"epoch", 3}, {"model_state_dict", model}, {"loss", 0.03}}),
      Value::dict(),
      Value::list(),
      Value(),
      Value(true),
      Value(int64_t(-5)),
      Value(1.5),
      Value("text"),
      Value(from_vector<double>({1.0, -2.0}, {2})),
      Value::dict({{"f64", from_vector<double>({1.5}, {1})},
                   {"i64", from_vector<int64_t>({1, 2}, {2, 1})},
                   {"u8", from_vector<uint8_t>({1, 2, 3}, {3})},
                   {"bool", from_vector<bool>({true, false}, {2})},
                   {"empty", empty({0, 3}, kFloat32)}}),
      Value::dict({{"a/b~c", Value::list({1, Value::list({Value(), "x", from_vector<float>({1}, {1})}), Value::dict()})},
                   {"", false}}),
  };
  int n = 0;
  for (const Value& v : seeds) save(v, dir + "/seed_" + std::to_string(n++) + ".ember");
  if (onnx::available()) {  // for fuzz_onnx: a small exported model, its graph and initializers
    manual_seed(1);
    nn::Sequential net(std::make_shared<nn::Linear>(3, 2), std::make_shared<nn::ReLU>());
    onnx::export_model(net, randn({2, 3}), dir + "/seed_" + std::to_string(n++) + ".onnx");
  }
  std::printf("wrote %d seeds to %s\n", n, dir.c_str());
  return 0;
}
