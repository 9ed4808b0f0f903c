#pragma once
// A map that keeps insertion order, as Python's dict: state dicts and checkpoint dicts are ordered.
// A hash index beside the ordered items makes lookup and insertion O(1) on average (each costs one
// hash of the key), so building a dict of n keys is O(n) key hashes whatever the keys' lengths: a
// file with a million entries, or one key set a million times, loads in seconds.
#include <string>
#include <unordered_map>
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
    return append(key, std::move(value));
  }
  // Appends a key the caller has already checked is new (a file reader that refuses duplicate
  // keys); a key that is present after all is refused rather than shadowed.
  V& append_unchecked(std::string key, V value) {
    EMBER_CHECK(!contains(key), "OrderedDict: key \"", key, "\" is already present");
    return append(std::move(key), std::move(value));
  }
  V& operator[](const std::string& key) {
    if (V* v = find(key)) return *v;
    return append(key, V());
  }
  V* find(const std::string& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].second;
  }
  const V* find(const std::string& key) const { return const_cast<OrderedDict*>(this)->find(key); }
  bool contains(const std::string& key) const { return index_.count(key) != 0; }
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
  // O(n): the items after the erased one move up a place.
  bool erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    size_t pos = it->second;
    index_.erase(it);
    items_.erase(items_.begin() + std::ptrdiff_t(pos));
    for (size_t i = pos; i < items_.size(); ++i) index_[items_[i].first] = i;
    return true;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> k;
    k.reserve(items_.size());
    for (auto& it : items_) k.push_back(it.first);
    return k;
  }
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Iteration may change values, never keys (the index holds them).
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  V& append(std::string key, V value) {
    index_.emplace(key, items_.size());
    items_.emplace_back(std::move(key), std::move(value));
    return items_.back().second;
  }

  std::vector<Item> items_;
  std::unordered_map<std::string, size_t> index_;  // key -> position in items_
};

}  // namespace ember
