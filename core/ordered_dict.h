#pragma once
// A map that keeps insertion order, as Python's dict: state dicts and checkpoint dicts are ordered.
#include <string>
#include <utility>
#include <vector>

#include "ember/core/error.h"

namespace ember {

template <class V>
class OrderedDict {
 public:
  using Item = std::pair<std::string, V>;

  // Inserts or replaces; a replaced key keeps its position.
  V& insert(const std::string& key, V value) {
    if (V* v = find(key)) return *v = std::move(value);
    items_.emplace_back(key, std::move(value));
    return items_.back().second;
  }
  // Appends a key the caller has already checked is new (a file reader that refuses duplicate keys),
  // skipping insert()'s linear search, which would make building an n-key dict O(n^2).
  V& append_unchecked(std::string key, V value) {
    items_.emplace_back(std::move(key), std::move(value));
    return items_.back().second;
  }
  V& operator[](const std::string& key) {
    if (V* v = find(key)) return *v;
    items_.emplace_back(key, V());
    return items_.back().second;
  }
  V* find(const std::string& key) {
    for (auto& it : items_)
      if (it.first == key) return &it.second;
    return nullptr;
  }
  const V* find(const std::string& key) const { return const_cast<OrderedDict*>(this)->find(key); }
  bool contains(const std::string& key) const { return find(key) != nullptr; }
  const V& at(const std::string& key) const {
    const V* v = find(key);
    EMBER_CHECK(v, "key \"", key, "\" not found");
    return *v;
  }
  V& at(const std::string& key) {
    V* v = find(key);
    EMBER_CHECK(v, "key \"", key, "\" not found");
    return *v;
  }
  bool erase(const std::string& key) {
    for (auto it = items_.begin(); it != items_.end(); ++it)
      if (it->first == key) { items_.erase(it); return true; }
    return false;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    for (auto& it : items_) k.push_back(it.first);
    return k;
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Item> items_;
};

}  // namespace ember
