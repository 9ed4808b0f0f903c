#include "ember/data/dataset.h"

#include <cmath>
#include <cstring>
#include <numeric>

namespace ember::data {

namespace {
void check_index(int64_t index, int64_t n, const char* what) {
  EMBER_CHECK(index >= 0 && index < n, what, ": index ", index, " out of range for a dataset of ", n, " items");
}

// Row `i` of t (N, ...) as a tensor of shape (...).
Tensor row_of(const Tensor& t, int64_t i) {
  Shape s(t.shape().begin() + 1, t.shape().end());
  size_t bytes = size_t(shape_numel(s)) * dtype_size(t.dtype());
  Tensor out = empty(s, t.dtype());
  if (bytes) std::memcpy(out.raw_data(), static_cast<const char*>(t.raw_data()) + size_t(i) * bytes, bytes);
  return out;
}

// The rows `indices` of t (N, ...) as (B, ...).
Tensor gather_rows(const Tensor& t, std::span<const int64_t> indices) {
  Shape s = t.shape();
  s[0] = int64_t(indices.size());
  Tensor out = empty(s, t.dtype());
  size_t bytes = size_t(t.size(0) ? t.numel() / t.size(0) : 0) * dtype_size(t.dtype());
  const char* src = static_cast<const char*>(t.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (size_t k = 0; k < indices.size(); ++k)
    if (bytes) std::memcpy(dst + k * bytes, src + size_t(indices[k]) * bytes, bytes);
  return out;
}
}  // namespace

Tensor stack_rows(const std::vector<Tensor>& rows, const char* what) {
  EMBER_CHECK(!rows.empty(), "stack_rows: no ", what, " to stack");
  const Tensor& first = rows[0];
  Shape s = first.shape();
  s.insert(s.begin(), int64_t(rows.size()));
  Tensor out = empty(s, first.dtype());
  char* dst = static_cast<char*>(out.raw_data());
  for (size_t k = 0; k < rows.size(); ++k) {
    EMBER_CHECK(rows[k].defined() && rows[k].shape() == first.shape() && rows[k].dtype() == first.dtype(),
                "Dataset::get_batch: ", what, " ", k, " of the batch is ",
                rows[k].defined() ? dtype_name(rows[k].dtype()) + std::string(" ") + shape_str(rows[k].shape())
                                  : std::string("undefined"),
                ", the first is ", dtype_name(first.dtype()), " ", shape_str(first.shape()),
                " (every example must have the same shape and dtype to be stacked)");
    Tensor c = rows[k].to(kCPU);
    if (c.nbytes()) std::memcpy(dst + k * c.nbytes(), c.raw_data(), c.nbytes());
  }
  return out;
}

Example Dataset::get(int64_t index) const {
  int64_t one[1] = {index};
  Batch b = get_batch(std::span<const int64_t>(one, 1));
  return {row_of(b.data, 0), b.target.defined() ? row_of(b.target, 0) : Tensor()};
}

Batch Dataset::get_batch(std::span<const int64_t> indices) const {
  Batch out;
  out.indices.assign(indices.begin(), indices.end());
  if (indices.empty()) return out;
  std::vector<Tensor> data, target;
  for (int64_t i : indices) {
    check_index(i, size(), "Dataset::get_batch");
    Example e = get(i);
    data.push_back(e.data);
    if (e.target.defined() || !target.empty()) target.push_back(e.target);
  }
  out.data = stack_rows(data, "data");
  if (!target.empty()) out.target = stack_rows(target, "target");
  return out;
}

TensorDataset::TensorDataset(Tensor data, Tensor target) : data_(std::move(data)), target_(std::move(target)) {
  EMBER_CHECK(data_.defined() && data_.dim() >= 1, "TensorDataset: data must have a first (row) dim, found ",
              data_.defined() ? shape_str(data_.shape()) : std::string("an undefined tensor"));
  EMBER_CHECK(data_.device().is_cpu(), "TensorDataset: data must be on the cpu, found ", data_.device().str());
  if (target_.defined()) {
    EMBER_CHECK(target_.dim() >= 1 && target_.size(0) == data_.size(0), "TensorDataset: data has ", data_.size(0),
                " rows but target has shape ", shape_str(target_.shape()), " (expected ", data_.size(0), " rows)");
    EMBER_CHECK(target_.device().is_cpu(), "TensorDataset: target must be on the cpu, found ", target_.device().str());
  }
}

Example TensorDataset::get(int64_t index) const {
  check_index(index, size(), "TensorDataset");
  return {row_of(data_, index), target_.defined() ? row_of(target_, index) : Tensor()};
}

Batch TensorDataset::get_batch(std::span<const int64_t> indices) const {
  for (int64_t i : indices) check_index(i, size(), "TensorDataset");
  Batch out;
  out.indices.assign(indices.begin(), indices.end());
  out.data = gather_rows(data_, indices);
  if (target_.defined()) out.target = gather_rows(target_, indices);
  return out;
}

Subset::Subset(const Dataset& dataset, std::vector<int64_t> indices) : dataset_(&dataset), indices_(std::move(indices)) {
  for (size_t k = 0; k < indices_.size(); ++k)
    EMBER_CHECK(indices_[k] >= 0 && indices_[k] < dataset.size(), "Subset: index ", indices_[k], " at position ", k,
                " out of range for a dataset of ", dataset.size(), " items");
}

Example Subset::get(int64_t index) const {
  check_index(index, size(), "Subset");
  return dataset_->get(indices_[size_t(index)]);
}

Batch Subset::get_batch(std::span<const int64_t> indices) const {
  std::vector<int64_t> rows;
  for (int64_t i : indices) {
    check_index(i, size(), "Subset");
    rows.push_back(indices_[size_t(i)]);
  }
  Batch out = dataset_->get_batch(rows);
  out.indices.assign(indices.begin(), indices.end());
  return out;
}

std::vector<Subset> random_split(const Dataset& dataset, const std::vector<int64_t>& lengths, uint64_t seed) {
  int64_t total = 0;
  for (size_t k = 0; k < lengths.size(); ++k) {
    EMBER_CHECK(lengths[k] >= 0, "random_split: length ", k, " is negative (", lengths[k], ")");
    total += lengths[k];
  }
  EMBER_CHECK(total == dataset.size(), "random_split: sum of input lengths (", total,
              ") does not equal the length of the input dataset (", dataset.size(), ")");
  Generator gen(seed);
  Tensor perm = randperm(total, gen);
  const int64_t* p = perm.data<int64_t>();
  std::vector<Subset> out;
  int64_t offset = 0;
  for (int64_t len : lengths) {
    out.emplace_back(dataset, std::vector<int64_t>(p + offset, p + offset + len));
    offset += len;
  }
  return out;
}

ImageDataset::ImageDataset(Tensor images, Tensor labels, double mean, double std)
    : images_(std::move(images)), labels_(std::move(labels)), mean_(mean), std_(std) {
  EMBER_CHECK(images_.defined() && labels_.defined(), "ImageDataset: images and labels must be defined");
  EMBER_CHECK(images_.dtype() == kUInt8 && images_.dim() == 3, "ImageDataset: expected uint8 images (N, H, W), found ",
              dtype_name(images_.dtype()), " ", shape_str(images_.shape()));
  EMBER_CHECK(labels_.dtype() == kInt64 && labels_.dim() == 1, "ImageDataset: expected int64 labels (N), found ",
              dtype_name(labels_.dtype()), " ", shape_str(labels_.shape()));
  EMBER_CHECK(images_.device().is_cpu() && labels_.device().is_cpu(), "ImageDataset: images and labels must be on the cpu");
  EMBER_CHECK(images_.size(0) == labels_.size(0), "ImageDataset: ", images_.size(0), " images but ", labels_.size(0),
              " labels");
  EMBER_CHECK(std::isfinite(mean) && std::isfinite(std) && std > 0, "ImageDataset: invalid normalisation mean ", mean,
              ", std ", std, " (std must be > 0)");
}

Batch ImageDataset::get_batch(std::span<const int64_t> indices) const {
  const int64_t n = size(), b = int64_t(indices.size());
  const int64_t h = images_.size(1), w = images_.size(2), hw = h * w;
  Batch out;
  out.indices.assign(indices.begin(), indices.end());
  out.data = empty({b, 1, h, w}, kFloat32);
  out.target = empty({b}, kInt64);
  const uint8_t* src = images_.data<uint8_t>();
  const int64_t* labels = labels_.data<int64_t>();
  float* dst = out.data.data<float>();
  int64_t* target = out.target.data<int64_t>();
  // torchvision: ToTensor divides the uint8 value by 255 in float32, Normalize then subtracts the
  // mean and divides by the std in float32. The same three correctly rounded operations here keep
  // batches bit-identical to PyTorch's, and they vectorise (faster than a 256-entry table lookup).
  const float m = float(mean_), s = float(std_);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t row = indices[size_t(i)];
    EMBER_CHECK(row >= 0 && row < n, "get_batch: index ", row, " at position ", i, " out of range for a dataset of ",
                n, " items");
    const uint8_t* px = src + row * hw;
    float* o = dst + i * hw;
    for (int64_t j = 0; j < hw; ++j) o[j] = (float(px[j]) / 255.0f - m) / s;
    target[i] = labels[row];
  }
  return out;
}

}  // namespace ember::data
