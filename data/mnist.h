#pragma once
// MNIST and Fashion-MNIST from their four IDX files in one folder:
//   train-images-idx3-ubyte  train-labels-idx1-ubyte  (train = true, 60000 items)
//   t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte   (train = false, 10000 items)
// each either raw or with ".gz" appended (the raw file wins when both are there).
// scripts/get_data.sh puts MNIST in datasets/mnist and Fashion-MNIST in datasets/fashion-mnist.
// Images stay uint8 (N, 28, 28) in memory (47 MB for MNIST's training set, not 188 MB of floats);
// get_batch returns float32 (B, 1, 28, 28), normalised with the dataset's mean and std.
#include <string>

#include "ember/data/dataset.h"

namespace ember::data {

// One split of an MNIST-format folder.
struct MnistSplit {
  Tensor images;
  Tensor labels;
};

class MNIST : public ImageDataset {
 public:
  // The training set's pixel mean and standard deviation (of x / 255), as PyTorch's MNIST example.
  static constexpr double kMean = 0.1307;
  static constexpr double kStd = 0.3081;

  explicit MNIST(const std::string& root, bool train = true, double mean = kMean, double std = kStd);

 private:
  MNIST(MnistSplit split, double mean, double std);
};

class FashionMNIST : public ImageDataset {
 public:
  // Computed over the 60000 training images (x / 255, population std): 0.28604, 0.35302.
  static constexpr double kMean = 0.2860;
  static constexpr double kStd = 0.3530;

  explicit FashionMNIST(const std::string& root, bool train = true, double mean = kMean, double std = kStd);

 private:
  FashionMNIST(MnistSplit split, double mean, double std);
};

// Loads one split of an MNIST-format folder: uint8 images (N, 28, 28) and int64 labels (N) in [0, 10).
// `what` ("MNIST", "FashionMNIST") starts the messages. Throws naming the files: a missing file,
// a count mismatch (both files, both counts), images that are not 28x28, a label out of range.
MnistSplit load_mnist_split(const std::string& root, bool train, const char* what);

}  // namespace ember::data
