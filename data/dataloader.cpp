#include "ember/data/dataloader.h"

#include "ember/core/value_reader.h"

#include <algorithm>
#include <numeric>

namespace ember::data {

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options)
    : dataset_(&dataset), options_(std::move(options)) {
  const int64_t b = options_.batch_size();
  EMBER_CHECK(b >= 1, "DataLoader: invalid batch_size: ", b, " (must be >= 1)");
  const int64_t n = dataset_->size();
  num_batches_ = options_.drop_last() ? n / b : (n + b - 1) / b;
  // A drawn seed keeps 63 bits so that state() fits the int64 numbers of a checkpoint's value tree.
  const uint64_t seed = options_.seed() ? *options_.seed() : default_generator().next_u64() >> 1;
  epoch_start_ = {seed, 0};
  build_order();
}

void DataLoader::build_order() {
  const int64_t n = dataset_->size();
  if (options_.shuffle()) {
    generator_.set_state(epoch_start_);
    Tensor perm = randperm(n, generator_);
    const int64_t* p = perm.data<int64_t>();
    order_.assign(p, p + n);
    next_epoch_start_ = generator_.state();
  } else {
    order_.resize(size_t(n));
    std::iota(order_.begin(), order_.end(), int64_t(0));
    next_epoch_start_ = epoch_start_;
  }
}

void DataLoader::advance_epoch() {
  ++epoch_;
  batch_ = 0;
  epoch_start_ = next_epoch_start_;
  build_order();
}

bool DataLoader::next(Batch& out) {
  if (end_pending_) {
    end_pending_ = false;
    return false;
  }
  if (num_batches_ == 0) {  // an empty epoch: the pass ends at once, and the epoch is over
    advance_epoch();
    return false;
  }
  const int64_t b = options_.batch_size();
  const int64_t start = batch_ * b;
  const int64_t stop = std::min<int64_t>(start + b, int64_t(order_.size()));
  out = dataset_->get_batch(std::span<const int64_t>(order_.data() + start, size_t(stop - start)));
  if (++batch_ == num_batches_) {
    advance_epoch();
    end_pending_ = true;
  }
  return true;
}

DataLoader::Iterator DataLoader::begin() {
  end_pending_ = false;  // a new pass always starts at the current position
  return Iterator(this);
}

void DataLoader::set_state(const DataLoaderState& state) {
  const int64_t n = dataset_->size(), b = options_.batch_size();
  EMBER_CHECK((state.dataset_size < 0 || state.dataset_size == n) && (state.batch_size < 0 || state.batch_size == b),
              "DataLoader::set_state: the state was saved by a loader over a dataset of ", state.dataset_size,
              " items with batch_size ", state.batch_size, "; this loader has ", n, " items with batch_size ", b,
              " (a position means nothing for another dataset or batch size)");
  EMBER_CHECK(state.epoch >= 0, "DataLoader::set_state: invalid epoch ", state.epoch);
  EMBER_CHECK(state.batch >= 0 && (state.batch < num_batches_ || (state.batch == 0 && num_batches_ == 0)),
              "DataLoader::set_state: batch ", state.batch, " out of range [0, ", num_batches_, ") for ",
              num_batches_, " batches per epoch (", dataset_->size(), " items, batch_size ", options_.batch_size(),
              options_.drop_last() ? ", drop_last" : "", ")");
  epoch_ = state.epoch;
  batch_ = state.batch;
  end_pending_ = false;
  if (!(state.generator == epoch_start_)) {  // the permutation only depends on this
    epoch_start_ = state.generator;
    build_order();
  }
}

}  // namespace ember::data

namespace ember::data {

Value DataLoader::state_dict() const {
  DataLoaderState s = state();
  return Value::dict({{"epoch", s.epoch},
                      {"batch", s.batch},
                      {"generator", Generator::state_value(s.generator)},
                      {"dataset_size", s.dataset_size},
                      {"batch_size", s.batch_size}});
}

void DataLoader::load_state_dict(const Value& v) {
  const char* where = "DataLoader.load_state_dict: ";
  EMBER_CHECK(v.is_dict(), where, "expected a dict, found a ", v.kind_name());
  ValueReader r(v, where);
  DataLoaderState s;
  s.epoch = r.integer("epoch");
  s.batch = r.integer("batch");
  EMBER_CHECK(v.contains("generator") && v.at("generator").is_dict(), where, "\"generator\" must be a dict {seed, offset}");
  s.generator = Generator::state_from(r.child("generator"));
  if (r.has("dataset_size")) s.dataset_size = r.integer("dataset_size");
  if (r.has("batch_size")) s.batch_size = r.integer("batch_size");
  set_state(s);
}

}  // namespace ember::data
