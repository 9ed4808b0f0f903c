#pragma once
// Datasets hand out whole batches: the DataLoader asks for a list of indices and gets one Batch,
// so a dataset converts and normalises a batch in one pass instead of item by item. A dataset of
// your own needs only size() and get(i) (one example); get_batch then stacks the examples:
//
//   struct Squares : ember::data::Dataset {
//     int64_t size() const override { return 100; }
//     ember::data::Example get(int64_t i) const override {
//       return {ember::full({1}, double(i)), ember::full({1}, double(i * i))};
//     }
//   };
//   ember::data::DataLoader loader(squares, ember::data::DataLoaderOptions(10).shuffle(true).seed(1));
//
// TensorDataset, Subset and random_split are PyTorch's (torch.utils.data).
#include <cstdint>
#include <span>
#include <vector>

#include "ember/core/tensor.h"

namespace ember::data {

struct Batch {
  Tensor data;                   // float32 (B, 1, H, W) for image datasets
  Tensor target;                 // int64 (B)
  std::vector<int64_t> indices;  // the dataset rows, in batch order
};

// One example: its data and target, each any shape and dtype (a target may be undefined).
struct Example {
  Tensor data;
  Tensor target;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example `index` (in [0, size())). The default takes it from get_batch; a dataset overrides at
  // least one of the two.
  virtual Example get(int64_t index) const;
  // The rows `indices` (each in [0, size()), repeats allowed) as one batch. The default stacks
  // get(i) for each index along a new first dim (every example's data, and target, must have the
  // same shape and dtype; they are copied to the CPU).
  virtual Batch get_batch(std::span<const int64_t> indices) const;
};

// Stacks tensors of one shape and dtype along a new first dim, on the CPU ("what" names them in errors).
Tensor stack_rows(const std::vector<Tensor>& rows, const char* what);

// Rows of tensors that share their first dim, as torch.utils.data.TensorDataset(data, target):
// example i is (data[i], target[i]); batches are gathered rows, in the tensors' dtypes.
class TensorDataset : public Dataset {
 public:
  // data: (N, ...), target: (N, ...) or undefined; both on the CPU.
  explicit TensorDataset(Tensor data, Tensor target = Tensor());
  int64_t size() const override { return data_.size(0); }
  Example get(int64_t index) const override;
  Batch get_batch(std::span<const int64_t> indices) const override;
  const Tensor& data() const { return data_; }
  const Tensor& target() const { return target_; }

 private:
  Tensor data_, target_;
};

// The rows `indices` of another dataset, in that order (torch.utils.data.Subset). The base dataset
// must outlive the subset. A batch's `indices` are positions in the subset.
class Subset : public Dataset {
 public:
  Subset(const Dataset& dataset, std::vector<int64_t> indices);
  int64_t size() const override { return int64_t(indices_.size()); }
  Example get(int64_t index) const override;
  Batch get_batch(std::span<const int64_t> indices) const override;
  const Dataset& dataset() const { return *dataset_; }
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  const Dataset* dataset_;
  std::vector<int64_t> indices_;
};

// Splits `dataset` into non-overlapping subsets of the given lengths (which must add up to its
// size), from one random permutation drawn with randperm from a generator seeded with `seed`, as
// torch.utils.data.random_split does with its generator: the same seed gives the same split.
// (The permutation is Ember's Philox stream, not PyTorch's Mersenne Twister: the same seed splits
// differently in the two.)
std::vector<Subset> random_split(const Dataset& dataset, const std::vector<int64_t>& lengths, uint64_t seed);

// Single-channel uint8 images with int64 labels, kept as loaded (1 byte a pixel); each batch is
// converted to float32 and normalised as torchvision's ToTensor + Normalize((mean,), (std,)) do,
// with the same float32 arithmetic ((x / 255 - mean) / std), so values match PyTorch bit for bit.
class ImageDataset : public Dataset {
 public:
  // images: uint8 (N, H, W); labels: int64 (N); std > 0.
  ImageDataset(Tensor images, Tensor labels, double mean, double std);

  int64_t size() const override { return images_.size(0); }
  Batch get_batch(std::span<const int64_t> indices) const override;

  const Tensor& images() const { return images_; }  // uint8 (N, H, W)
  const Tensor& labels() const { return labels_; }  // int64 (N)
  double mean() const { return mean_; }
  double std() const { return std_; }

 private:
  Tensor images_;
  Tensor labels_;
  double mean_;
  double std_;
};

}  // namespace ember::data
