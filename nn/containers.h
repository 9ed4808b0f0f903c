#pragma once
// Containers of modules, as torch.nn.Sequential and torch.nn.ModuleList. Both hold any module,
// a user's own included, as owned children named "0", "1", ... (so state-dict keys read
// "layers.0.weight", as in PyTorch).
//
//   nn::Sequential net(std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>());
//   net.emplace_back<nn::Linear>(8, 2);
//   Tensor y = net(x);                         // each child's forward in turn
//
//   nn::ModuleList blocks;
//   for (int i = 0; i < 3; ++i) blocks.emplace_back<ResidualBlock>(16);
//   for (nn::Module& b : blocks) h = b(h);      // a ModuleList has no forward of its own
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ember/nn/module.h"

namespace ember::nn {

// Owned children in order, named by their index. The base of Sequential and ModuleList.
class IndexedModules : public Module {
 public:
  template <class M>
  M& push_back(std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "push_back takes a module (a class derived from nn::Module)");
    EMBER_CHECK(module, name(), ": can't add a null module at index ", items_.size());
    items_.push_back(module.get());
    return register_module(std::to_string(items_.size() - 1), std::move(module));
  }
  template <class M, class... Args>
  M& emplace_back(Args&&... args) {
    return push_back(std::make_shared<M>(std::forward<Args>(args)...));
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // The i-th module; throws naming the index and the size when out of range.
  Module& operator[](size_t i) const;
  // The i-th module as its own type M; throws naming both types when it is another.
  template <class M>
  M& at(size_t i) const {
    M* m = dynamic_cast<M*>(&(*this)[i]);
    EMBER_CHECK(m, name(), ": module ", i, " is a ", (*this)[i].name(), ", not the type asked for");
    return *m;
  }

  // Iterates the modules as Module&.
  class Iterator {
   public:
    explicit Iterator(const std::vector<Module*>::const_iterator& it) : it_(it) {}
    Module& operator*() const { return **it_; }
    Iterator& operator++() { ++it_; return *this; }
    bool operator!=(const Iterator& o) const { return it_ != o.it_; }

   private:
    std::vector<Module*>::const_iterator it_;
  };
  Iterator begin() const { return Iterator(items_.begin()); }
  Iterator end() const { return Iterator(items_.end()); }

 private:
  std::vector<Module*> items_;  // the registered children, in order
};

// Applies its children in order: y = m_n(...m_1(m_0(x))).
class Sequential : public IndexedModules {
 public:
  Sequential() = default;
  template <class... M>
  explicit Sequential(std::shared_ptr<M>... modules) {
    (push_back(std::move(modules)), ...);
  }
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sequential"; }
};

// Holds modules for a model's own forward to use; calling it as a module is refused, as in PyTorch.
class ModuleList : public IndexedModules {
 public:
  ModuleList() = default;
  template <class... M>
  explicit ModuleList(std::shared_ptr<M>... modules) {
    (push_back(std::move(modules)), ...);
  }
  std::string name() const override { return "ModuleList"; }
};

}  // namespace ember::nn
