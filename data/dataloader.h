#pragma once
// DataLoader: batches of a Dataset in order or shuffled, with a position that can be saved in a
// checkpoint and restored exactly.
//
//   ember::data::MNIST train("datasets/mnist", true);
//   ember::data::DataLoader loader(train, ember::data::DataLoaderOptions(64).shuffle(true).seed(1));
//   for (int64_t epoch = loader.epoch(); epoch < epochs; ++epoch)
//     for (ember::data::Batch& batch : loader) { ... }   // one pass = the rest of the current epoch
//
// Epochs. Epoch e visits every index once (the last batch may be short unless drop_last), in order,
// or in a permutation drawn with randperm from the loader's OWN generator (seeded by the options;
// the global generator is not touched after construction). The generator is not reset between
// epochs, so each epoch draws a fresh permutation, and the whole sequence follows from the seed.
//
// Passes. A range-for or a run of next() calls until it returns false is one pass: it yields the
// batches left in the current epoch, then ends. The epoch advances when its last batch is yielded,
// so the next pass starts the next epoch. (An empty epoch, size() == 0, still counts: each pass
// over it advances the epoch.)
//
// State. state() is the position of the NEXT batch: {epoch, batches of that epoch already yielded,
// the generator's state at the start of that epoch}. Inside a loop body that is "just after the
// batch in hand", so a checkpoint saved there resumes with the following batch. A fresh loader
// with the same dataset and options, given set_state(s), yields exactly the batches (same rows,
// same order) the original would have yielded after the point s was taken, in this epoch and all
// later ones; the one thing not carried is a pending end-of-pass (after a state taken right after
// an epoch's last batch, the restored loader's next pass starts the next epoch at once, as the
// original's next pass would have). The state is only meaningful for the same dataset size and
// the same batch_size, shuffle and drop_last: it records the dataset size and batch size, and a
// loader that differs refuses it, naming both.
//
// Any Dataset works, a user's own included (data/dataset.h: size() and get(i) are enough), as do
// TensorDataset, Subset and random_split's parts.
#include <cstdint>
#include <iterator>
#include <optional>
#include <vector>

#include "ember/core/generator.h"
#include "ember/core/value.h"
#include "ember/data/dataset.h"

namespace ember::data {

struct DataLoaderOptions {
  explicit DataLoaderOptions(int64_t batch_size = 1) : batch_size_(batch_size) {}

  DataLoaderOptions& batch_size(int64_t v) { batch_size_ = v; return *this; }
  DataLoaderOptions& shuffle(bool v) { shuffle_ = v; return *this; }
  DataLoaderOptions& drop_last(bool v) { drop_last_ = v; return *this; }
  // Without a seed, one is drawn from ember::default_generator() at construction, so
  // ember::manual_seed decides the order and two unseeded loaders still shuffle differently
  // (the drawn seed has 63 bits, so it fits a checkpoint's int64).
  DataLoaderOptions& seed(uint64_t v) { seed_ = v; return *this; }

  int64_t batch_size() const { return batch_size_; }
  bool shuffle() const { return shuffle_; }
  bool drop_last() const { return drop_last_; }
  const std::optional<uint64_t>& seed() const { return seed_; }

 private:
  int64_t batch_size_;
  bool shuffle_ = false;
  bool drop_last_ = false;
  std::optional<uint64_t> seed_;
};

struct DataLoaderState {
  int64_t epoch = 0;         // the epoch the next batch comes from (0-based)
  int64_t batch = 0;         // batches of that epoch already yielded, in [0, size())
  GeneratorState generator;  // the shuffle generator at the start of that epoch
  // What the position means: the loader's dataset size and batch size (-1: not recorded, as in
  // states saved before they were, which are then taken on trust).
  int64_t dataset_size = -1;
  int64_t batch_size = -1;
  bool operator==(const DataLoaderState&) const = default;
};

class DataLoader {
 public:
  // `dataset` must outlive the loader (it is not copied; MNIST's images are 47 MB).
  DataLoader(const Dataset& dataset, DataLoaderOptions options = DataLoaderOptions());
  DataLoader(const Dataset&& dataset, DataLoaderOptions options = DataLoaderOptions()) = delete;

  // Batches per epoch: ceil(N / batch_size), or floor with drop_last.
  int64_t size() const { return num_batches_; }
  const DataLoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return *dataset_; }

  // The next batch of the current pass into `out`; false (and `out` untouched) when the pass ends.
  bool next(Batch& out);

  // The dataset rows of the current epoch, in visiting order.
  const std::vector<int64_t>& order() const { return order_; }
  int64_t epoch() const { return epoch_; }
  int64_t batch_index() const { return batch_; }

  DataLoaderState state() const {
    return {epoch_, batch_, epoch_start_, dataset_->size(), options_.batch_size()};
  }
  // Throws (changing nothing) on a negative epoch, a batch outside [0, size()), or a recorded
  // dataset size or batch size that differs from this loader's.
  void set_state(const DataLoaderState& state);
  // The state as a checkpoint's value tree: {"epoch", "batch", "generator": {"seed", "offset"},
  // "dataset_size", "batch_size"} (the generator's words as int64 bit patterns), and back; a missing
  // dataset_size or batch_size is not checked, any other bad entry throws naming it.
  Value state_dict() const;
  void load_state_dict(const Value& state);

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = Batch*;
    using reference = Batch&;

    Batch& operator*() { return batch_; }
    Batch* operator->() { return &batch_; }
    Iterator& operator++() { done_ = !loader_->next(batch_); return *this; }
    bool operator==(std::default_sentinel_t) const { return done_; }

   private:
    friend class DataLoader;
    explicit Iterator(DataLoader* loader) : loader_(loader) { done_ = !loader_->next(batch_); }
    DataLoader* loader_;
    Batch batch_;
    bool done_ = false;
  };
  // Starts a pass (see above): the rest of the current epoch.
  Iterator begin();
  std::default_sentinel_t end() { return {}; }

 private:
  void build_order();  // order_ and next_epoch_start_ for epoch_ from epoch_start_
  void advance_epoch();

  const Dataset* dataset_;
  DataLoaderOptions options_;
  int64_t num_batches_ = 0;
  int64_t epoch_ = 0;
  int64_t batch_ = 0;
  GeneratorState epoch_start_;
  GeneratorState next_epoch_start_;
  Generator generator_;
  std::vector<int64_t> order_;
  bool end_pending_ = false;  // the last batch of an epoch was yielded; the pass's next() says false
};

}  // namespace ember::data
