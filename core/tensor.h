#pragma once
// Tensor: a shape, a dtype and a view into shared, contiguous storage, plus its autograd links.
// Views (reshape, flatten, (un)squeeze, slice along dim 0) share storage; every tensor is contiguous,
// so transpose, permute, expand and slicing along other dims copy (see core/ops/shape.cpp).
#include <cstring>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <vector>

#include "ember/core/device.h"
#include "ember/core/dtype.h"
#include "ember/core/generator.h"
#include "ember/core/shape.h"

namespace ember {

struct Node;
class Tensor;

// Bytes on one device, freed by that device's backend.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = kFloat32;
  bool requires_grad = false;          // leaves only; a non-leaf requires grad through grad_fn
  std::shared_ptr<TensorImpl> grad;    // accumulated by backward() on leaves
  std::shared_ptr<Node> grad_fn;       // how this tensor was made, for backward()
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return int64_t(shape().size()); }
  int64_t size(int64_t d) const;
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype()); }

  // Raw pointers to the first element (on the tensor's device).
  void* raw_data() const;
  template <class T> T* data() const {
    check_dtype(dtype_of<T>::value, "data<T>()");
    return static_cast<T*>(raw_data());
  }
  // Value of a one-element tensor, converted to double (any dtype, any device).
  double item() const;
  template <class T> T item() const { return static_cast<T>(item()); }
  // Element at a full index, converted to double; bounds-checked. CPU only.
  double at(std::initializer_list<int64_t> index) const;
  // All elements, converted; copies from the device if needed.
  template <class T> std::vector<T> to_vector() const;

  // Views sharing storage.
  Tensor reshape(Shape shape) const;  // one size may be -1
  Tensor view(Shape shape) const { return reshape(std::move(shape)); }
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor slice(int64_t start, int64_t end) const;  // rows [start, end) along dim 0
  Tensor operator[](int64_t i) const;                // row i along dim 0, rank reduced by one
  // Copies with view semantics (core/ops/shape.cpp): storage is contiguous-only, so these return
  // new tensors; values and gradients are as PyTorch's views, but writes do not reach `*this`.
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor t() const;                                      // transpose of a tensor of rank <= 2
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;  // a view along dim 0
  Tensor select(int64_t dim, int64_t index) const;       // narrow to one, then drop `dim`
  Tensor expand(const Shape& shape) const;               // -1 keeps a size; new dims lead
  Tensor squeeze() const;                                // drops every size-1 dim (a view)

  // Copies.
  Tensor clone() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor cpu() const { return to(kCPU); }
  Tensor contiguous() const { return *this; }  // always contiguous; kept for familiarity

  // Autograd.
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const;
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  std::shared_ptr<Node> grad_fn() const;
  // Backpropagates from this tensor: a scalar, or any shape with an explicit gradient of that shape.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  // Shares storage, no graph, requires_grad false.
  Tensor detach() const;

  // In-place updates, outside autograd (for optimizers and initialisation).
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& add_(double scalar);
  Tensor& mul_(double scalar);
  Tensor& mul_(const Tensor& other);
  Tensor& copy_(const Tensor& src);  // same shape; converts dtype, crosses devices
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& uniform_(double low, double high, Generator& gen = default_generator());
  Tensor& normal_(double mean = 0.0, double std = 1.0, Generator& gen = default_generator());

  // Same object (not same values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  // Shares storage with `other`.
  bool shares_storage(const Tensor& other) const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  void check_dtype(DType expected, const char* op) const;
  void check_defined(const char* op) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// The accessors are inline: the CUDA module (core/cuda_module.h) uses them without linking libember.
inline void Tensor::check_defined(const char* op) const {
  EMBER_CHECK(impl_ != nullptr, op, ": the tensor is undefined");
}
inline const Shape& Tensor::shape() const { check_defined("shape"); return impl_->shape; }
inline DType Tensor::dtype() const { check_defined("dtype"); return impl_->dtype; }
inline Device Tensor::device() const { check_defined("device"); return impl_->storage->device; }
inline int64_t Tensor::size(int64_t d) const { return shape()[size_t(wrap_dim(d, dim(), "size"))]; }
inline void* Tensor::raw_data() const {
  check_defined("data");
  return static_cast<char*>(impl_->storage->data) + impl_->offset * int64_t(dtype_size(impl_->dtype));
}
inline void Tensor::check_dtype(DType expected, const char* op) const {
  EMBER_CHECK(dtype() == expected, op, ": expected a ", dtype_name(expected), " tensor, found ", dtype_name(dtype()));
}

// Prints values, shape and dtype, in the spirit of PyTorch's repr:
// tensor([[1.0000, 2.0000], [3.0000, 4.0000]], shape=[2, 2], dtype=float32)
std::ostream& operator<<(std::ostream& os, const Tensor& t);
std::ostream& operator<<(std::ostream& os, const Shape& s);

// Factories. Shapes first, then dtype and device, as torch.zeros(shape, dtype=, device=).
Tensor empty(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor zeros(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor ones(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor full(const Shape& shape, double value, DType dtype = kFloat32, Device device = kCPU);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor scalar_tensor(double value, DType dtype = kFloat32, Device device = kCPU);
// [start, end) with `step`; arange(n) counts 0..n-1.
Tensor arange(double start, double end, double step = 1.0, DType dtype = kInt64);
inline Tensor arange(int64_t n, DType dtype = kInt64) { return arange(0.0, double(n), 1.0, dtype); }
// Copies `values` into a new tensor of `shape` (default: 1-D); the dtype follows T.
template <class T> Tensor from_vector(const std::vector<T>& values, Shape shape = {});
// Copies `shape`'s worth of elements of `dtype` from a raw host buffer.
Tensor from_blob(const void* data, const Shape& shape, DType dtype);

Tensor rand(const Shape& shape, Generator& gen = default_generator(), DType dtype = kFloat32);
Tensor randn(const Shape& shape, Generator& gen = default_generator(), DType dtype = kFloat32);
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen = default_generator());
Tensor randperm(int64_t n, Generator& gen = default_generator());

// ---- template definitions ----
template <class T> Tensor from_vector(const std::vector<T>& values, Shape shape) {
  if (shape.empty() && values.size() != 1) shape = {int64_t(values.size())};
  EMBER_CHECK(shape_numel(shape) == int64_t(values.size()), "from_vector: ", values.size(),
              " values do not fill shape ", shape_str(shape));
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(values.begin(), values.end());
    return from_blob(bytes.data(), shape, kBool);
  } else {
    return from_blob(values.data(), shape, dtype_of<T>::value);
  }
}

template <class T> std::vector<T> Tensor::to_vector() const {
  Tensor c = to(kCPU);
  std::vector<T> out(size_t(c.numel()));
  dispatch_dtype(c.dtype(), [&](auto tag) {
    using S = decltype(tag);
    const S* p = static_cast<const S*>(c.raw_data());
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<T>(p[i]);
  });
  return out;
}

}  // namespace ember
