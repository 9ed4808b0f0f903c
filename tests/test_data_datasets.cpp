// Datasets a user writes (only size() and get(i)), TensorDataset, Subset and random_split, and the
// DataLoader over them: stacking, drop_last, seeded splits, and a saved position that records the
// dataset size and batch size (a loader that differs refuses it, naming both).
#include <algorithm>
#include <numeric>
#include <set>

#include "helpers.h"
#include "ember/data/dataloader.h"
#include "ember/data/dataset.h"

using namespace ember;
using namespace ember::data;
using test::error_of;

namespace {

// A user's dataset: example i is ([i, -i], i * i).
struct Squares : Dataset {
  int64_t n;
  explicit Squares(int64_t n_) : n(n_) {}
  int64_t size() const override { return n; }
  Example get(int64_t i) const override {
    return {from_vector<float>({float(i), -float(i)}), from_vector<int64_t>({i * i}, Shape{})};
  }
};

std::vector<int64_t> rows_of(DataLoader& loader) {
  std::vector<int64_t> rows;
  for (Batch& b : loader) {
    auto v = b.data.to_vector<float>();
    for (size_t k = 0; k < v.size(); k += 2) rows.push_back(int64_t(v[k]));
  }
  return rows;
}

}  // namespace

TEST_CASE("a dataset with only size() and get() loads through the DataLoader, stacked") {
  Squares sq(10);
  DataLoader loader(sq, DataLoaderOptions(4).shuffle(true).seed(3));
  CHECK(loader.size() == 3);
  std::vector<int64_t> seen;
  for (Batch& b : loader) {
    CHECK(b.data.shape() == Shape{int64_t(b.indices.size()), 2});
    CHECK(b.target.shape() == Shape{int64_t(b.indices.size())});
    auto x = b.data.to_vector<float>();
    auto y = b.target.to_vector<int64_t>();
    for (size_t k = 0; k < b.indices.size(); ++k) {
      int64_t i = b.indices[k];
      CHECK(x[2 * k] == float(i));
      CHECK(x[2 * k + 1] == -float(i));
      CHECK(y[k] == i * i);
      seen.push_back(i);
    }
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  CHECK(seen == all);  // every example once, the last batch short

  DataLoader dropping(sq, DataLoaderOptions(4).drop_last(true));
  CHECK(dropping.size() == 2);
  CHECK(rows_of(dropping) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});

  // Examples that do not stack are refused naming both shapes.
  struct Ragged : Dataset {
    int64_t size() const override { return 2; }
    Example get(int64_t i) const override { return {zeros({i + 1}), Tensor()}; }
  } ragged;
  DataLoader bad(ragged, DataLoaderOptions(2));
  Batch b;
  CHECK(error_of([&] { bad.next(b); }) ==
        "Dataset::get_batch: data 1 of the batch is float32 [2], the first is float32 [1] (every example must have "
        "the same shape and dtype to be stacked)");
}

TEST_CASE("TensorDataset, Subset and a seeded random_split") {
  Tensor x = arange(0.0, 12.0, 1.0, kFloat32).reshape({6, 2});
  Tensor y = from_vector<int64_t>({10, 11, 12, 13, 14, 15});
  TensorDataset ds(x, y);
  CHECK(ds.size() == 6);
  Example e = ds.get(2);
  CHECK(e.data.to_vector<float>() == std::vector<float>{4, 5});
  CHECK(e.target.item() == 12);
  int64_t rows[] = {5, 0, 5};
  Batch b = ds.get_batch(rows);
  CHECK(b.data.to_vector<float>() == std::vector<float>{10, 11, 0, 1, 10, 11});
  CHECK(b.target.to_vector<int64_t>() == std::vector<int64_t>{15, 10, 15});
  CHECK(error_of([&] { TensorDataset bad(x, from_vector<int64_t>({1, 2})); }) ==
        "TensorDataset: data has 6 rows but target has shape [2] (expected 6 rows)");
  CHECK(error_of([&] { ds.get(6); }) == "TensorDataset: index 6 out of range for a dataset of 6 items");
  TensorDataset inputs_only(x);  // no target
  CHECK(!inputs_only.get(0).target.defined());

  Subset sub(ds, {4, 1});
  CHECK(sub.size() == 2);
  CHECK(sub.get(0).target.item() == 14);
  int64_t first[] = {1};
  CHECK(sub.get_batch(first).target.to_vector<int64_t>() == std::vector<int64_t>{11});
  CHECK(error_of([&] { Subset bad(ds, {6}); }) == "Subset: index 6 at position 0 out of range for a dataset of 6 items");

  auto parts = random_split(ds, {4, 2}, 42);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].size() == 4);
  CHECK(parts[1].size() == 2);
  std::set<int64_t> all(parts[0].indices().begin(), parts[0].indices().end());
  all.insert(parts[1].indices().begin(), parts[1].indices().end());
  CHECK(all.size() == 6);  // disjoint, and together the whole dataset
  auto again = random_split(ds, {4, 2}, 42);
  CHECK(again[0].indices() == parts[0].indices());  // the same seed, the same split
  bool differs = false;
  for (uint64_t seed = 1; seed < 6 && !differs; ++seed) differs = random_split(ds, {4, 2}, seed)[0].indices() != parts[0].indices();
  CHECK(differs);
  CHECK(error_of([&] { random_split(ds, {4, 1}, 0); }) ==
        "random_split: sum of input lengths (5) does not equal the length of the input dataset (6)");
  DataLoader loader(parts[1], DataLoaderOptions(2));
  Batch p;
  REQUIRE(loader.next(p));
  CHECK(p.target.to_vector<int64_t>() == std::vector<int64_t>{10 + parts[1].indices()[0], 10 + parts[1].indices()[1]});
}

TEST_CASE("a loader's saved state records the dataset size and batch size, and resumes exactly") {
  Squares sq(23);
  DataLoader a(sq, DataLoaderOptions(5).shuffle(true).seed(9));
  Batch b;
  for (int i = 0; i < 7; ++i) a.next(b);  // into the second epoch
  Value saved = a.state_dict();
  CHECK(saved.at("dataset_size").as_int() == 23);
  CHECK(saved.at("batch_size").as_int() == 5);
  std::vector<int64_t> rest;
  while (a.next(b)) rest.insert(rest.end(), b.indices.begin(), b.indices.end());

  DataLoader resumed(sq, DataLoaderOptions(5).shuffle(true).seed(9));
  resumed.load_state_dict(saved);
  std::vector<int64_t> again;
  while (resumed.next(b)) again.insert(again.end(), b.indices.begin(), b.indices.end());
  CHECK(again == rest);

  Squares bigger(30);
  DataLoader other(bigger, DataLoaderOptions(5).shuffle(true).seed(9));
  CHECK(error_of([&] { other.load_state_dict(saved); }) ==
        "DataLoader::set_state: the state was saved by a loader over a dataset of 23 items with batch_size 5; this "
        "loader has 30 items with batch_size 5 (a position means nothing for another dataset or batch size)");
  DataLoader wider(sq, DataLoaderOptions(8));
  CHECK(error_of([&] { wider.set_state(a.state()); }).find("this loader has 23 items with batch_size 8") !=
        std::string::npos);
  CHECK(wider.epoch() == 0);  // nothing changed
  Value broken = saved;
  broken["batch"] = "two";
  CHECK(error_of([&] { resumed.load_state_dict(broken); }) ==
        "DataLoader.load_state_dict: \"batch\" must be an int, found a string");
}
