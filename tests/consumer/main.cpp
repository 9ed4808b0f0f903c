// A user's program: its own model, one training step, a save and a load, all through
// <ember/ember.h>. Prints "consumer: ok" and exits 0 when everything round-trips.
#include <ember/ember.h>

#include <cstdio>
#include <memory>

using namespace ember;

// A model Ember knows nothing of: a stack of blocks in a ModuleList, and a head.
struct Block : nn::Module {
  nn::Linear fc;
  explicit Block(int64_t width) : fc(width, width) { register_module("fc", fc); }
  Tensor forward(const Tensor& x) override { return relu(fc(x)) + x; }
};

struct TinyNet : nn::Module {
  nn::ModuleList blocks;
  nn::Linear head{8, 3};
  TinyNet() {
    for (int i = 0; i < 2; ++i) blocks.emplace_back<Block>(8);
    register_module("blocks", blocks);
    register_module("head", head);
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = x;
    for (nn::Module& b : blocks) h = b(h);
    return head(h);
  }
};

int main(int argc, char** argv) {
  try {
    const std::string path = argc > 1 ? argv[1] : "consumer.ember";
    manual_seed(0);
    std::shared_ptr<nn::Module> model = std::make_shared<TinyNet>();  // held through the base class
    optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    Tensor x = randn({4, 8});
    Tensor y = from_vector<int64_t>({0, 1, 2, 1}, {4});
    Tensor loss = cross_entropy((*model)(x), y);
    loss.backward();
    opt.step();

    save(Value::dict({{"model", model->state_dict()}, {"optimizer", opt.state_dict()}}), path);
    TinyNet restored;
    restored.load_state_dict(load(path).at("model").to_state_dict());
    const float a = sum((*model)(x)).item<float>(), b = sum(restored(x)).item<float>();
    if (a != b) {
      std::fprintf(stderr, "consumer: the restored model differs (%g vs %g)\n", a, b);
      return 1;
    }
    // Every optimizer comes with the umbrella header: AdamW and gradient clipping on the restored model.
    optim::AdamW adamw(restored.parameters(), optim::AdamOptions(1e-3).weight_decay(0.01));
    cross_entropy(restored(x), y).backward();
    optim::clip_grad_norm_(restored.parameters(), 1.0);
    adamw.step();
    if (sum(restored(x)).item<float>() == b) {
      std::fprintf(stderr, "consumer: an AdamW step left the model unchanged\n");
      return 1;
    }
    std::printf("consumer: ok (loss %.4f, %zu tensors in the state dict)\n", loss.item<float>(),
                model->state_dict().size());
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
