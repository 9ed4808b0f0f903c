// Views and shapes: transpose, permute, narrow/slice/select, cat, stack, split/chunk, squeeze,
// expand, index_select and gather. Storage is contiguous-only, so every one of these except
// narrow/slice along dim 0 and (un)squeeze copies its result (through the backend's strided_copy);
// values and gradients are as PyTorch's views give, but writes to the result do not reach the input.
#include <algorithm>

#include "ember/core/ops/common.h"

namespace ember {

namespace {
// Copies x viewed through `v` (which must not visit an element twice) into a new contiguous tensor;
// the gradient flows back through the same view into zeros of x's shape.
Tensor view_copy(const char* name, const Tensor& x, const StridedView& v) {
  Tensor out = empty(v.shape, x.dtype(), x.device());
  StridedView dense{v.shape, contiguous_strides(v.shape), 0};
  backend(x.device()).strided_copy(x, v, out, dense);
  Shape sx = x.shape();
  return record(name, out, {x}, [sx, v, dense](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = zeros(sx, g.dtype(), g.device());
    backend(g.device()).strided_copy(g, dense, gx, v);
    return {gx};
  });
}

void check_index(const Tensor& index, const char* op) {
  EMBER_CHECK(index.defined(), op, ": the index is undefined");
  EMBER_CHECK(index.dtype() == kInt64, op, ": expected an int64 index, found ", dtype_name(index.dtype()));
}
}  // namespace

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  x.check_defined("permute");
  EMBER_CHECK(int64_t(dims.size()) == x.dim(), "permute: expected ", x.dim(), " dims for a tensor of shape ",
              shape_str(x.shape()), ", found ", dims.size());
  std::vector<int64_t> st = contiguous_strides(x.shape()), seen(dims.size(), 0);
  StridedView v;
  bool identity = true;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], x.dim(), "permute");
    EMBER_CHECK(!seen[size_t(d)]++, "permute: dim ", dims[i], " appears twice in the permutation");
    v.shape.push_back(x.shape()[size_t(d)]);
    v.strides.push_back(st[size_t(d)]);
    identity = identity && d == int64_t(i);
  }
  if (identity) return x.reshape(x.shape());
  Tensor y = view_copy("permute", x, v);
  if (trace::active()) {
    std::vector<int64_t> perm;
    for (int64_t d : dims) perm.push_back(wrap_dim(d, x.dim(), "permute"));
    trace::op("permute", {x}, y, {trace::Attr::is("perm", perm)});
  }
  return y;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  x.check_defined("transpose");
  if (x.dim() == 0) {
    wrap_dim(dim0, 0, "transpose"), wrap_dim(dim1, 0, "transpose");
    return x.reshape({});
  }
  std::vector<int64_t> dims(size_t(x.dim()));
  for (size_t i = 0; i < dims.size(); ++i) dims[i] = int64_t(i);
  std::swap(dims[size_t(wrap_dim(dim0, x.dim(), "transpose"))], dims[size_t(wrap_dim(dim1, x.dim(), "transpose"))]);
  return permute(x, dims);
}

Tensor t(const Tensor& x) {
  x.check_defined("t");
  EMBER_CHECK(x.dim() <= 2, "t: expects a tensor with <= 2 dimensions, found shape ", shape_str(x.shape()));
  return x.dim() < 2 ? x.reshape(x.shape()) : transpose(x, 0, 1);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  x.check_defined("slice");
  EMBER_CHECK(x.dim() >= 1, "slice: cannot slice a 0-d tensor");
  EMBER_CHECK(step > 0, "slice: expected a positive step, found ", step);
  int64_t d = wrap_dim(dim, x.dim(), "slice"), n = x.size(d);
  // Python's rules: negative ends count from the back, then clamp to [0, n].
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Tensor y;
  if (step == 1 && d == 0) {
    y = x.slice(start, end);  // rows of a contiguous tensor: a true view
  } else {
    std::vector<int64_t> st = contiguous_strides(x.shape());
    StridedView v{x.shape(), st, start * st[size_t(d)]};
    v.shape[size_t(d)] = (end - start + step - 1) / step;
    v.strides[size_t(d)] *= step;
    y = view_copy("slice", x, v);
  }
  if (trace::active())
    trace::op("slice", {x}, y, {trace::Attr::i("axis", d), trace::Attr::i("start", start), trace::Attr::i("end", end),
                                trace::Attr::i("step", step)});
  return y;
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  x.check_defined("narrow");
  EMBER_CHECK(x.dim() >= 1, "narrow: cannot narrow a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "narrow"), n = x.size(d);
  if (start < 0) start += n;
  EMBER_CHECK(start >= 0 && length >= 0 && start + length <= n, "narrow: expected start + length within [0, ", n,
              "] for dim ", dim, " of shape ", shape_str(x.shape()), ", found start ", start, " and length ", length);
  return slice(x, d, start, start + length, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  x.check_defined("select");
  EMBER_CHECK(x.dim() >= 1, "select: cannot select from a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "select"), n = x.size(d);
  EMBER_CHECK(index >= -n && index < n, "select: index ", index, " out of range for dim ", dim, " of size ", n);
  return narrow(x, d, index < 0 ? index + n : index, 1).squeeze(d);
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  // As PyTorch, 1-D empty tensors are skipped whatever the others' shapes.
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    tensors[i].check_defined("cat");
    if (!(tensors[i].dim() == 1 && tensors[i].numel() == 0)) parts.push_back(tensors[i]);
  }
  if (parts.empty()) return tensors[0].reshape(tensors[0].shape());
  const Tensor& ref = parts[0];
  EMBER_CHECK(ref.dim() >= 1, "cat: zero-dimensional tensor cannot be concatenated");
  int64_t d = wrap_dim(dim, ref.dim(), "cat");
  Shape out_shape = ref.shape();
  out_shape[size_t(d)] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& p = parts[i];
    detail::check_same(ref, p, "cat", "tensor 0", ("tensor " + std::to_string(i)).c_str());
    bool ok = p.dim() == ref.dim();
    for (int64_t k = 0; ok && k < p.dim(); ++k) ok = k == d || p.size(k) == ref.size(k);
    EMBER_CHECK(ok, "cat: sizes of tensors must match except in dim ", dim, "; expected shape like ",
                shape_str(ref.shape()), ", found ", shape_str(p.shape()), " for tensor ", i);
    out_shape[size_t(d)] += p.size(d);
  }
  Tensor out = empty(out_shape, ref.dtype(), ref.device());
  std::vector<int64_t> st = contiguous_strides(out_shape);
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& p : parts) {
    StridedView to{p.shape(), st, at * st[size_t(d)]};
    backend(out.device()).strided_copy(p, {p.shape(), contiguous_strides(p.shape()), 0}, out, to);
    starts.push_back(at);
    at += p.size(d);
  }
  std::vector<int64_t> lengths;
  for (const Tensor& p : parts) lengths.push_back(p.size(d));
  if (trace::active()) trace::op("cat", parts, out, {trace::Attr::i("axis", d)});
  return record("cat", out, parts, [d, starts, lengths](const Tensor& g) -> std::vector<Tensor> {
    std::vector<Tensor> gs;
    for (size_t i = 0; i < starts.size(); ++i) gs.push_back(narrow(g, d, starts[i], lengths[i]));
    return gs;
  });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  tensors[0].check_defined("stack");
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    tensors[i].check_defined("stack");
    EMBER_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: expects each tensor to be equal size, but got ",
                shape_str(tensors[0].shape()), " at entry 0 and ", shape_str(tensors[i].shape()), " at entry ", i);
    parts.push_back(tensors[i].unsqueeze(d));
  }
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  x.check_defined("split");
  EMBER_CHECK(x.dim() >= 1, "split: cannot split a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "split"), total = 0;
  for (int64_t s : sizes) {
    EMBER_CHECK(s >= 0, "split: expected non-negative split sizes, found ", s);
    total += s;
  }
  EMBER_CHECK(total == x.size(d), "split: split sizes add up to ", total, " but dim ", dim, " of shape ",
              shape_str(x.shape()), " has size ", x.size(d));
  std::vector<Tensor> out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(x, d, at, s));
    at += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  x.check_defined("split");
  EMBER_CHECK(x.dim() >= 1, "split: cannot split a 0-d tensor");
  int64_t n = x.size(wrap_dim(dim, x.dim(), "split"));
  EMBER_CHECK(split_size > 0 || (split_size == 0 && n == 0), "split: expected a positive split_size, found ",
              split_size);
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < n; at += split_size) sizes.push_back(std::min(split_size, n - at));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  x.check_defined("chunk");
  EMBER_CHECK(chunks > 0, "chunk: expected a positive number of chunks, found ", chunks);
  EMBER_CHECK(x.dim() >= 1, "chunk: cannot chunk a 0-d tensor");
  int64_t n = x.size(wrap_dim(dim, x.dim(), "chunk"));
  return split(x, std::max<int64_t>((n + chunks - 1) / chunks, n == 0 ? 0 : 1), dim);
}

Tensor squeeze(const Tensor& x) {
  x.check_defined("squeeze");
  Shape s;
  for (int64_t n : x.shape())
    if (n != 1) s.push_back(n);
  return x.reshape(s);
}
Tensor squeeze(const Tensor& x, int64_t dim) { return x.squeeze(dim); }
Tensor unsqueeze(const Tensor& x, int64_t dim) { return x.unsqueeze(dim); }

Tensor expand(const Tensor& x, const Shape& shape) {
  x.check_defined("expand");
  EMBER_CHECK(shape.size() >= size_t(x.dim()), "expand: the number of sizes provided (", shape.size(),
              ") must be at least the number of dimensions of the tensor (", x.dim(), ")");
  size_t lead = shape.size() - size_t(x.dim());
  std::vector<int64_t> st = contiguous_strides(x.shape());
  StridedView v{Shape(shape.size()), std::vector<int64_t>(shape.size(), 0), 0};
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t want = shape[i];
    if (i < lead) {
      EMBER_CHECK(want >= 0, "expand: expected a non-negative size for a new leading dim, found ", want,
                  " in ", shape_str(shape));
      v.shape[i] = want;
      continue;
    }
    int64_t have = x.shape()[i - lead];
    if (want == -1) want = have;
    EMBER_CHECK(want == have || have == 1, "expand: the expanded size (", want, ") must match the existing size (",
                have, ") at dim ", i, "; expanding ", shape_str(x.shape()), " to ", shape_str(shape));
    v.shape[i] = want;
    v.strides[i] = have == 1 ? 0 : st[i - lead];
  }
  if (v.shape == x.shape()) return x.reshape(x.shape());
  Tensor out = empty(v.shape, x.dtype(), x.device());
  backend(x.device()).strided_copy(x, v, out, {v.shape, contiguous_strides(v.shape), 0});
  Shape sx = x.shape();
  return record("expand", out, {x}, [sx](const Tensor& g) -> std::vector<Tensor> { return {sum_to(g, sx)}; });
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  x.check_defined("index_select");
  check_index(index, "index_select");
  EMBER_CHECK(x.dim() >= 1, "index_select: expected an input of rank >= 1, found a 0-d tensor");
  EMBER_CHECK(index.dim() <= 1, "index_select: expected a 0-d or 1-D index, found shape ", shape_str(index.shape()));
  EMBER_CHECK(index.device() == x.device(), "index_select: expected the index on ", x.device().str(), ", found ",
              index.device().str());
  int64_t d = wrap_dim(dim, x.dim(), "index_select");
  Shape s = x.shape();
  s[size_t(d)] = index.numel();
  Tensor out = empty(s, x.dtype(), x.device());
  backend(x.device()).index_select(x, d, index, out);
  if (trace::active()) trace::op("index_select", {x, index}, out, {trace::Attr::i("axis", d)});
  Shape sx = x.shape();
  return record("index_select", out, {x}, [sx, d, idx = index.detach()](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = zeros(sx, g.dtype(), g.device());
    backend(g.device()).index_add(g, d, idx, gx);
    return {gx};
  });
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  x.check_defined("gather");
  check_index(index, "gather");
  EMBER_CHECK(index.device() == x.device(), "gather: expected the index on ", x.device().str(), ", found ",
              index.device().str());
  Tensor xv = x.dim() == 0 ? x.reshape({1}) : x;
  Tensor iv = index.dim() == 0 ? index.reshape({1}) : index;
  EMBER_CHECK(iv.dim() == xv.dim(), "gather: expected an index with as many dims as the input ",
              shape_str(x.shape()), ", found shape ", shape_str(index.shape()));
  int64_t d = wrap_dim(dim, x.dim(), "gather");
  for (int64_t k = 0; k < xv.dim(); ++k)
    EMBER_CHECK(k == d || iv.size(k) <= xv.size(k), "gather: index shape ", shape_str(index.shape()),
                " is larger than the input ", shape_str(x.shape()), " at dim ", k, " (not the gathered dim ", dim, ")");
  Tensor out = empty(iv.shape(), x.dtype(), x.device());
  backend(x.device()).gather(xv.detach(), d, iv, out);
  if (trace::active()) trace::op("gather", {xv, iv}, out, {trace::Attr::i("axis", d)});
  Shape sx = xv.shape();
  Tensor idx = iv.detach();
  out = record("gather", out, {xv}, [sx, d, idx](const Tensor& g) -> std::vector<Tensor> {
    Tensor gx = zeros(sx, g.dtype(), g.device());
    backend(g.device()).scatter_add(g, d, idx, gx);
    return {gx};
  });
  return index.dim() == 0 ? out.reshape({}) : out;
}

// ---- Tensor's method forms ----
Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const { return ember::transpose(*this, dim0, dim1); }
Tensor Tensor::permute(const std::vector<int64_t>& dims) const { return ember::permute(*this, dims); }
Tensor Tensor::t() const { return ember::t(*this); }
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  return ember::narrow(*this, dim, start, length);
}
Tensor Tensor::select(int64_t dim, int64_t index) const { return ember::select(*this, dim, index); }
Tensor Tensor::expand(const Shape& shape) const { return ember::expand(*this, shape); }
Tensor Tensor::squeeze() const { return ember::squeeze(*this); }

}  // namespace ember
