#include "ember/core/tensor.h"

#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "ember/core/autograd.h"
#include "ember/core/backend.h"
#include "ember/core/trace.h"

namespace ember {

Storage::Storage(size_t n, Device d) : nbytes(n), device(d) { data = backend(d).allocate(n); }
Storage::~Storage() { backend(device).deallocate(data, nbytes); }

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    EMBER_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
                " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool Tensor::shares_storage(const Tensor& o) const {
  return defined() && o.defined() && impl_->storage == o.impl_->storage;
}

double Tensor::item() const {
  EMBER_CHECK(numel() == 1, "item: expected a tensor with one element, found shape ", shape_str(shape()));
  return to_vector<double>()[0];
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  EMBER_CHECK(device().is_cpu(), "at: the tensor is on ", device().str(), "; copy it to the CPU first");
  EMBER_CHECK(int64_t(index.size()) == dim(), "at: expected ", dim(), " indices for shape ", shape_str(shape()),
              ", found ", index.size());
  int64_t flat = 0, d = 0;
  for (int64_t i : index) {
    int64_t n = shape()[size_t(d)];
    EMBER_CHECK(i >= -n && i < n, "at: index ", i, " out of range for dim ", d, " of size ", n);
    flat = flat * n + (i < 0 ? i + n : i);
    ++d;
  }
  return dispatch_dtype(dtype(), [&](auto tag) { return double(static_cast<decltype(tag)*>(raw_data())[flat]); });
}

// ---- views ----
static Tensor make_view(const Tensor& src, Shape shape, int64_t extra_offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.impl()->storage;
  impl->offset = src.impl()->offset + extra_offset;
  impl->shape = std::move(shape);
  impl->dtype = src.dtype();
  return Tensor(impl);
}

Tensor Tensor::reshape(Shape new_shape) const {
  check_defined("reshape");
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < new_shape.size(); ++i) {
    if (new_shape[i] == -1) {
      EMBER_CHECK(infer < 0, "reshape: only one dimension can be -1, found ", shape_str(new_shape));
      infer = int64_t(i);
    } else {
      EMBER_CHECK(new_shape[i] >= 0, "reshape: invalid size in ", shape_str(new_shape));
      known *= new_shape[i];
    }
  }
  if (infer >= 0) {
    EMBER_CHECK(known != 0 && numel() % known == 0, "reshape: shape ", shape_str(new_shape),
                " is invalid for input of size ", numel());
    new_shape[size_t(infer)] = numel() / known;
  }
  EMBER_CHECK(shape_numel(new_shape) == numel(), "reshape: shape ", shape_str(new_shape),
              " is invalid for input of size ", numel(), " (shape ", shape_str(shape()), ")");
  Tensor out = make_view(*this, new_shape, 0);
  Shape old = shape();
  return record("reshape", out, {*this}, [old](const Tensor& g) -> std::vector<Tensor> { return {g.reshape(old)}; });
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  int64_t s = wrap_dim(start_dim, dim(), "flatten"), e = wrap_dim(end_dim, dim(), "flatten");
  EMBER_CHECK(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape out;
  for (int64_t i = 0; i < s; ++i) out.push_back(shape()[size_t(i)]);
  int64_t m = 1;
  for (int64_t i = s; i <= e; ++i) m *= shape()[size_t(i)];
  out.push_back(m);
  for (int64_t i = e + 1; i < dim(); ++i) out.push_back(shape()[size_t(i)]);
  return reshape(out);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  int64_t w = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape s = shape();
  s.insert(s.begin() + w, 1);
  return reshape(s);
}

Tensor Tensor::squeeze(int64_t d) const {
  int64_t w = wrap_dim(d, dim(), "squeeze");
  Shape s = shape();
  if (s.empty() || s[size_t(w)] != 1) return *this;
  s.erase(s.begin() + w);
  return reshape(s);
}

Tensor Tensor::slice(int64_t start, int64_t end) const {
  EMBER_CHECK(dim() >= 1, "slice: expected a tensor of rank >= 1, found a scalar");
  int64_t n = shape()[0];
  EMBER_CHECK(0 <= start && start <= end && end <= n, "slice: rows [", start, ", ", end,
              ") out of range for dim 0 of size ", n);
  Shape s = shape();
  s[0] = end - start;
  int64_t row = n == 0 ? 0 : numel() / n;
  Tensor out = make_view(*this, s, start * row);
  Shape full = shape();
  return record("slice", out, {*this}, [full, start, end](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = zeros(full, g.dtype(), g.device());
    Tensor part = gx.slice(start, end);
    part.copy_(g);
    return {gx};
  });
}

Tensor Tensor::operator[](int64_t i) const {
  EMBER_CHECK(dim() >= 1, "index: cannot index a scalar");
  int64_t n = shape()[0];
  EMBER_CHECK(i >= -n && i < n, "index: ", i, " out of range for dim 0 of size ", n);
  if (i < 0) i += n;
  Shape s(shape().begin() + 1, shape().end());
  return slice(i, i + 1).reshape(s);
}

// ---- copies ----
Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  backend(device()).copy_within(out.raw_data(), raw_data(), nbytes());
  return record("clone", out, {*this}, [](const Tensor& g) -> std::vector<Tensor> { return {g}; });
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor out = empty(shape(), t, device());
  backend(device()).cast(*this, out);
  if (!is_floating(t)) {
    if (trace::active()) trace::note("to", {*this}, out);  // no autograd, but an exporter must see the cast
    return out;
  }
  DType from = dtype();
  return record("to", out, {*this}, [from](const Tensor& g) -> std::vector<Tensor> { return {g.to(from)}; });
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  Tensor out = empty(shape(), dtype(), d);
  if (device().is_cpu()) {
    backend(d).copy_from_host(out.raw_data(), raw_data(), nbytes());
  } else if (d.is_cpu()) {
    backend(device()).copy_to_host(out.raw_data(), raw_data(), nbytes());
  } else {  // between two GPUs: through the host
    Tensor host = to(kCPU);
    backend(d).copy_from_host(out.raw_data(), host.raw_data(), nbytes());
  }
  Device from = device();
  return record("to", out, {*this}, [from](const Tensor& g) -> std::vector<Tensor> { return {g.to(from)}; });
}

// ---- autograd ----
bool Tensor::requires_grad() const { return defined() && (impl_->requires_grad || impl_->grad_fn); }
Tensor& Tensor::requires_grad_(bool on) {
  check_defined("requires_grad_");
  EMBER_CHECK(is_leaf(), "requires_grad_: can only change the flag of a leaf tensor; use detach() first");
  EMBER_CHECK(!on || is_floating(dtype()), "requires_grad_: only float tensors can require grad, found ",
              dtype_name(dtype()));
  impl_->requires_grad = on;
  return *this;
}
bool Tensor::is_leaf() const { return defined() && !impl_->grad_fn; }
Tensor Tensor::grad() const { check_defined("grad"); return impl_->grad ? Tensor(impl_->grad) : Tensor(); }
void Tensor::set_grad(const Tensor& g) const {
  check_defined("set_grad");
  if (g.defined())
    EMBER_CHECK(g.shape() == shape(), "set_grad: gradient of shape ", shape_str(g.shape()),
                " for a tensor of shape ", shape_str(shape()));
  impl_->grad = g.impl_ptr();
}
std::shared_ptr<Node> Tensor::grad_fn() const { return defined() ? impl_->grad_fn : nullptr; }
Tensor Tensor::detach() const { return make_view(*this, shape(), 0); }
void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  check_defined("backward");
  run_backward(*this, gradient, retain_graph);
}

// ---- in-place, outside autograd ----
static void check_same_numel(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(a.shape() == b.shape() || (a.numel() == b.numel() && b.numel() == 1 && false), op,
              ": expected a tensor of shape ", shape_str(a.shape()), ", found ", shape_str(b.shape()));
  EMBER_CHECK(a.device() == b.device(), op, ": tensors on ", a.device().str(), " and ", b.device().str());
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_same_numel(*this, other, "add_");
  EMBER_CHECK(dtype() == other.dtype(), "add_: dtype ", dtype_name(other.dtype()), " added to ", dtype_name(dtype()));
  backend(device()).axpy(alpha, other, *this);
  return *this;
}
Tensor& Tensor::add_(double scalar) {
  backend(device()).binary_scalar(BinaryOp::Add, *this, scalar, false, *this);
  return *this;
}
Tensor& Tensor::mul_(double scalar) {
  backend(device()).binary_scalar(BinaryOp::Mul, *this, scalar, false, *this);
  return *this;
}
Tensor& Tensor::mul_(const Tensor& other) {
  check_same_numel(*this, other, "mul_");
  EMBER_CHECK(dtype() == other.dtype(), "mul_: dtype ", dtype_name(other.dtype()), " times ", dtype_name(dtype()));
  backend(device()).mul_inplace(other, *this);
  return *this;
}
Tensor& Tensor::copy_(const Tensor& src) {
  check_defined("copy_");
  src.check_defined("copy_");
  EMBER_CHECK(src.shape() == shape(), "copy_: expected a source of shape ", shape_str(shape()), ", found ",
              shape_str(src.shape()));
  Tensor s = src.detach();
  if (s.device() != device()) s = s.to(device());
  if (s.dtype() != dtype()) {
    backend(device()).cast(s, *this);
  } else if (s.raw_data() != raw_data()) {
    backend(device()).copy_within(raw_data(), s.raw_data(), nbytes());
  }
  return *this;
}
Tensor& Tensor::zero_() { return fill_(0.0); }
Tensor& Tensor::fill_(double v) {
  backend(device()).fill(*this, v);
  return *this;
}
Tensor& Tensor::uniform_(double low, double high, Generator& gen) {
  check_defined("uniform_");
  EMBER_CHECK(low <= high, "uniform_: low ", low, " is greater than high ", high);
  dispatch_floating(dtype(), "uniform_", [](auto) {});
  backend(device()).uniform(*this, low, high, gen);
  return *this;
}
Tensor& Tensor::normal_(double m, double s, Generator& gen) {
  check_defined("normal_");
  EMBER_CHECK(s >= 0, "normal_: std must be non-negative, found ", s);
  dispatch_floating(dtype(), "normal_", [](auto) {});
  backend(device()).normal(*this, m, s, gen);
  return *this;
}

// ---- factories ----
Tensor empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) EMBER_CHECK(d >= 0, "empty: negative size in shape ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(impl);
}
Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor arange(double start, double end, double step, DType dtype) {
  EMBER_CHECK(step != 0, "arange: step must be non-zero");
  EMBER_CHECK((end - start) / step >= 0, "arange: the range [", start, ", ", end, ") is empty for step ", step);
  int64_t n = int64_t(std::ceil((end - start) / step));
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = start + double(i) * step;
  return from_vector(v, {n}).to(dtype);
}

Tensor from_blob(const void* data, const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype, kCPU);
  if (t.nbytes()) std::memcpy(t.raw_data(), data, t.nbytes());
  return t;
}

Tensor rand(const Shape& shape, Generator& gen, DType dtype) { return empty(shape, dtype).uniform_(0, 1, gen); }
Tensor randn(const Shape& shape, Generator& gen, DType dtype) { return empty(shape, dtype).normal_(0, 1, gen); }

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen) {
  EMBER_CHECK(low < high, "randint: low ", low, " must be less than high ", high);
  Tensor t = empty(shape, kInt64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = low + int64_t(gen.next_below(uint64_t(high - low)));
  return t;
}

Tensor randperm(int64_t n, Generator& gen) {
  EMBER_CHECK(n >= 0, "randperm: n must be non-negative, found ", n);
  Tensor t = empty({n}, kInt64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[gen.next_below(uint64_t(i + 1))]);  // Fisher-Yates
  return t;
}

// ---- printing ----
std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << shape_str(s); }

namespace {
void print_values(std::ostream& os, const std::vector<double>& v, const Shape& s, size_t dim, size_t& pos,
                  DType t, int indent, bool summarize) {
  if (dim == s.size()) {
    double x = v[pos++];
    if (t == kBool) os << (x != 0 ? "True" : "False");
    else if (!is_floating(t)) os << int64_t(x);
    else if (std::isfinite(x)) os << std::fixed << std::setprecision(4) << x << std::defaultfloat;
    else os << (std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf"));
    return;
  }
  int64_t n = s[dim];
  int64_t inner = 1;
  for (size_t d = dim + 1; d < s.size(); ++d) inner *= s[d];
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 6 && i == 3) {
      os << "...";
      pos += size_t((n - 6) * inner);
      i = n - 3;
      os << (dim + 1 == s.size() ? ", " : ",\n" + std::string(size_t(indent + 1), ' '));
    }
    print_values(os, v, s, dim + 1, pos, t, indent + 1, summarize);
    if (i + 1 < n) os << (dim + 1 == s.size() ? ", " : ",\n" + std::string(size_t(indent + 1), ' '));
  }
  os << "]";
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  std::vector<double> v = t.to_vector<double>();
  os << "tensor(";
  size_t pos = 0;
  print_values(os, v, t.shape(), 0, pos, t.dtype(), 7, t.numel() > 1000);
  os << ", shape=" << shape_str(t.shape()) << ", dtype=" << dtype_name(t.dtype());
  if (!t.device().is_cpu()) os << ", device='" << t.device().str() << "'";
  if (t.requires_grad()) os << (t.is_leaf() ? ", requires_grad=True" : ", grad_fn=<" + t.grad_fn()->name + ">");
  return os << ")";
}

}  // namespace ember
