#pragma once
// Datasets hand out whole batches: the DataLoader asks for a list of indices and gets one Batch,
// so a dataset converts and normalises a batch in one pass instead of item by item.
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

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // The rows `indices` (each in [0, size()), repeats allowed) as one batch.
  virtual Batch get_batch(std::span<const int64_t> indices) const = 0;
};

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
