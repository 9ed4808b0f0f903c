// sd_layers: what the layers beyond MNISTNet's put in a state dict.
// docs/state-dicts.md, section "What other layers put in a state dict".
//
//   build/bin/sd_layers
#include <iostream>

#include "ember/nn/layers.h"
#include "examples/sd_common.h"

using namespace ember;

int main() {
  return examples::run_program("sd_layers", [] {
    manual_seed(0);
    // [entries]
    auto show = [](const char* title, const nn::Module& m) {
      std::cout << title << "  " << m << "\n";
      for (const auto& [name, t] : m.state_dict())
        std::cout << "  " << name << "  " << t.shape() << "  " << dtype_name(t.dtype()) << "\n";
      if (m.state_dict().size() == 0) std::cout << "  (nothing)\n";
    };
    show("LayerNorm:", nn::LayerNorm(Shape{64}));
    show("BatchNorm2d:", nn::BatchNorm2d(32));
    show("GroupNorm:", nn::GroupNorm(8, 32));
    show("Embedding:", nn::Embedding(nn::EmbeddingOptions(1000, 16).padding_idx(0)));
    show("Conv2d (depthwise):", nn::Conv2d(nn::Conv2dOptions(32, 32, 3).groups(32).padding(1)));
    show("GELU:", nn::GELU());
    // [/entries]
  });
}
