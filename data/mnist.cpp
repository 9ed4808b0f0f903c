#include "ember/data/mnist.h"

#include <filesystem>

#include "ember/data/idx.h"

namespace ember::data {
namespace {

// The raw file, else its .gz; a clear error (with where to get the data) when neither exists.
std::string locate(const std::string& root, const std::string& name, const char* what) {
  std::string path = (std::filesystem::path(root) / name).string();
  std::string found = find_raw_or_gz(path);
  EMBER_CHECK(!found.empty(), what, ": cannot open ", path, " (nor ", path, ".gz): No such file or directory",
              "; scripts/get_data.sh fetches MNIST into datasets/mnist (--fashion: Fashion-MNIST)");
  return found;
}

}  // namespace

MnistSplit load_mnist_split(const std::string& root, bool train, const char* what) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = locate(root, prefix + "-images-idx3-ubyte", what);
  const std::string labels_path = locate(root, prefix + "-labels-idx1-ubyte", what);
  Tensor images = read_idx_images(images_path);
  Tensor raw_labels = read_idx_labels(labels_path);

  EMBER_CHECK(images.size(0) == raw_labels.size(0), what, ": ", images_path, " holds ", images.size(0),
              " images but ", labels_path, " holds ", raw_labels.size(0), " labels");
  EMBER_CHECK(images.size(1) == 28 && images.size(2) == 28, what, ": ", images_path, " holds ", images.size(1), "x",
              images.size(2), " images, expected 28x28");

  const int64_t n = raw_labels.size(0);
  Tensor labels = empty({n}, kInt64);
  const uint8_t* src = raw_labels.data<uint8_t>();
  int64_t* dst = labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    // A label of 10 or more would only fail much later, inside the loss; say where it is instead.
    EMBER_CHECK(src[i] < 10, what, ": ", labels_path, ": label ", int(src[i]), " at byte ", 8 + i,
                " is out of range [0, 10)");
    dst[i] = src[i];
  }
  return {std::move(images), std::move(labels)};
}

MNIST::MNIST(const std::string& root, bool train, double mean, double std)
    : MNIST(load_mnist_split(root, train, "MNIST"), mean, std) {}
MNIST::MNIST(MnistSplit split, double mean, double std)
    : ImageDataset(std::move(split.images), std::move(split.labels), mean, std) {}

FashionMNIST::FashionMNIST(const std::string& root, bool train, double mean, double std)
    : FashionMNIST(load_mnist_split(root, train, "FashionMNIST"), mean, std) {}
FashionMNIST::FashionMNIST(MnistSplit split, double mean, double std)
    : ImageDataset(std::move(split.images), std::move(split.labels), mean, std) {}

}  // namespace ember::data
