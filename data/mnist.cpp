#include "ember/data/mnist.h"

#include <filesystem>

#include "ember/data/idx.h"
#include "ember/data/md5.h"

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

// The published label files, by the MD5 of their uncompressed bytes (as scripts/get_data.sh checks
// them). The IDX headers of MNIST and Fashion-MNIST are the same; these digests are not.
struct KnownLabels {
  const char* dataset;  // as `what` names it
  const char* name;     // as a user knows it
  bool train;
  const char* md5;
};
constexpr KnownLabels kKnownLabels[] = {
    {"MNIST", "MNIST", true, "a25bea736e30d166cdddb491f175f624"},
    {"MNIST", "MNIST", false, "27ae3e4e09519cfbb04c329615203637"},
    {"FashionMNIST", "Fashion-MNIST", true, "9018921c3c673c538a1fc5bad174d6f9"},
    {"FashionMNIST", "Fashion-MNIST", false, "15d484375f8d13e6eb1aabb0c3f46965"},
};

// Refuses the published labels of another dataset than the one asked for. Files that match no
// published digest (a subset, a user's own data in this format) are taken as they are.
void check_identity(const std::string& root, const std::string& labels_path, const Tensor& labels, const char* what) {
  const int64_t n = labels.numel();
  const uint8_t header[8] = {0, 0, 8, 1, uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
  Md5 md5;
  md5.update(header, sizeof header);
  md5.update(labels.data<uint8_t>(), size_t(n));
  const std::string digest = md5.hex_digest();
  const char* wanted = nullptr;
  for (const KnownLabels& k : kKnownLabels)
    if (std::string(k.dataset) == what) wanted = k.name;
  for (const KnownLabels& k : kKnownLabels) {
    if (digest != k.md5 || std::string(k.dataset) == what) continue;
    EMBER_FAIL(what, ": ", root, " holds ", k.name, ", not ", wanted ? wanted : what, ": ", labels_path,
               " is the published ", k.name, " ", k.train ? "training" : "test", " labels file (MD5 ", digest,
               "); give the folder of ", wanted ? wanted : what,
               " (scripts/get_data.sh puts MNIST in datasets/mnist, --fashion: Fashion-MNIST in datasets/fashion-mnist)");
  }
}

}  // namespace

MnistSplit load_mnist_split(const std::string& root, bool train, const char* what) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = locate(root, prefix + "-images-idx3-ubyte", what);
  const std::string labels_path = locate(root, prefix + "-labels-idx1-ubyte", what);
  Tensor raw_labels = read_idx_labels(labels_path);
  check_identity(root, labels_path, raw_labels, what);  // before the 47 MB of images
  Tensor images = read_idx_images(images_path);

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
