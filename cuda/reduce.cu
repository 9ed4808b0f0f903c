// Reductions: sum_to, sum_dim (through one engine, sum_dims) and argmax. Sums accumulate in double,
// as the CPU's, and in a fixed order (per-thread loops, then fixed warp/block trees, then partial
// sums added in index order): the same bits on every run, with no atomics.
#include "ember/cuda/kernels.cuh"

namespace ember {

namespace cuda {

namespace {

struct Dims {
  int n;
  int64_t size[kMaxDims];
  int64_t stride[kMaxDims];
};

// Offset in x of the idx-th element (row-major) of the dims.
__device__ __forceinline__ int64_t offset_of(int64_t idx, const Dims& d) {
  if (d.n == 1) return idx * d.stride[0];
  int64_t off = 0;
  for (int k = d.n - 1; k >= 0; --k) {
    off += (idx % d.size[k]) * d.stride[k];
    idx /= d.size[k];
  }
  return off;
}

// One block per (output m, split s): its threads stride over r in the split's chunk (coalesced when
// the reduced dims hold the contiguous one), then a block tree.
template <class T>
__global__ void sum_rows_kernel(const T* x, Dims kept, Dims reduced, int64_t m_count, int64_t r_count, int64_t chunk,
                                int splits, T* out, double* partial) {
  __shared__ double shared[32];
  for (int64_t job = blockIdx.x; job < m_count * splits; job += gridDim.x) {
    const int64_t m = job / splits;
    const int s = int(job % splits);
    const int64_t base = offset_of(m, kept);
    const int64_t lo = s * chunk, hi = lo + chunk < r_count ? lo + chunk : r_count;
    double acc = 0;
    for (int64_t r = lo + threadIdx.x; r < hi; r += blockDim.x) acc += double(x[base + offset_of(r, reduced)]);
    acc = block_sum(acc, shared);
    if (threadIdx.x == 0) {
      if (splits == 1) out[m] = T(acc);
      else partial[m * splits + s] = acc;
    }
  }
}

// One thread per (output m, split s = blockIdx.y), looping over r in order: coalesced when the kept
// dims hold the contiguous one (a sum over the batch).
template <class T>
__global__ void sum_cols_kernel(const T* x, Dims kept, Dims reduced, int64_t m_count, int64_t r_count, int64_t chunk,
                                int splits, T* out, double* partial) {
  const int s = int(blockIdx.y);
  const int64_t lo = s * chunk, hi = lo + chunk < r_count ? lo + chunk : r_count;
  EMBER_KERNEL_LOOP(m, m_count) {
    const int64_t base = offset_of(m, kept);
    double acc = 0;
    for (int64_t r = lo; r < hi; ++r) acc += double(x[base + offset_of(r, reduced)]);
    if (splits == 1) out[m] = T(acc);
    else partial[m * splits + s] = acc;
  }
}

// out[m] = sum of the m-th row of partial, in order.
template <class T>
__global__ void sum_partials_kernel(const double* partial, int splits, int64_t m_count, T* out) {
  EMBER_KERNEL_LOOP(m, m_count) {
    double acc = 0;
    for (int s = 0; s < splits; ++s) acc += partial[m * splits + s];
    out[m] = T(acc);
  }
}

// Drops size-1 dims and merges neighbours that are contiguous with each other.
Dims merge(const DimList& list, const char* what) {
  std::vector<std::array<int64_t, 2>> m;
  for (const auto& d : list) {
    if (d[0] == 1) continue;
    if (!m.empty() && m.back()[1] == d[0] * d[1]) {
      m.back() = {m.back()[0] * d[0], d[1]};
      continue;
    }
    m.push_back(d);
  }
  EMBER_CHECK(m.size() <= size_t(kMaxDims), "cuda sum: the ", what, " dims need ", m.size(),
              " dims after merging; at most ", kMaxDims, " are supported");
  Dims out{};
  out.n = int(m.size());
  for (int k = 0; k < out.n; ++k) {
    out.size[k] = m[size_t(k)][0];
    out.stride[k] = m[size_t(k)][1];
  }
  if (out.n == 0) {  // a single element
    out.n = 1;
    out.size[0] = 1;
    out.stride[0] = 0;
  }
  return out;
}

int64_t count_of(const Dims& d) {
  int64_t n = 1;
  for (int k = 0; k < d.n; ++k) n *= d.size[k];
  return n;
}

template <class T>
void sum_dims_typed(Context& ctx, const T* x, const Dims& kept, const Dims& reduced, T* out) {
  const int64_t m_count = count_of(kept), r_count = count_of(reduced);
  if (m_count == 0) return;
  // Rows when the reduced dims hold the contiguous one (or when there are few outputs to spread).
  const bool rows = reduced.stride[reduced.n - 1] == 1 || m_count < 64;
  int64_t splits = 1;
  if (rows) {
    // ~1024 blocks of at least 4096 elements each.
    splits = std::clamp<int64_t>((1024 + m_count - 1) / m_count, 1, (r_count + 4095) / 4096);
  } else {
    const int64_t blocks_m = (m_count + kThreads - 1) / kThreads;
    splits = std::clamp<int64_t>((1024 + blocks_m - 1) / blocks_m, 1, std::max<int64_t>((r_count + 255) / 256, 1));
  }
  splits = std::min<int64_t>(splits, 65535);
  const int64_t chunk = (r_count + splits - 1) / std::max<int64_t>(splits, 1);
  const int s = int(splits);
  Scratch partial(ctx, s > 1 ? size_t(m_count * s) * sizeof(double) : 0);
  if (rows) {
    const int64_t jobs = m_count * s;
    const unsigned blocks = unsigned(std::min<int64_t>(jobs, int64_t(1) << 20));
    sum_rows_kernel<T><<<blocks, kThreads, 0, ctx.stream>>>(x, kept, reduced, m_count, r_count, chunk, s, out,
                                                            partial.as<double>());
    EMBER_CUDA_LAUNCHED("sum_rows_kernel");
  } else {
    dim3 grid(std::min<unsigned>(grid_for(m_count), 65535u), unsigned(s));
    sum_cols_kernel<T><<<grid, kThreads, 0, ctx.stream>>>(x, kept, reduced, m_count, r_count, chunk, s, out,
                                                          partial.as<double>());
    EMBER_CUDA_LAUNCHED("sum_cols_kernel");
  }
  if (s > 1) {
    sum_partials_kernel<T><<<grid_for(m_count), kThreads, 0, ctx.stream>>>(partial.as<double>(), s, m_count, out);
    EMBER_CUDA_LAUNCHED("sum_partials_kernel");
  }
}

// x: (outer, n, inner) -> out int64 (outer, inner): the first maximum along n; a NaN is the maximum
// (the first NaN wins), as PyTorch's and the CPU's (core/cpu/iterate.h, extreme_index).
template <class T>
__global__ void argmax_kernel(const T* x, int64_t outer, int64_t n, int64_t inner, int64_t* out) {
  EMBER_KERNEL_LOOP(j, outer * inner) {
    const int64_t o = j / inner, i = j % inner;
    const T* p = x + o * n * inner + i;
    int64_t best = 0;
    for (int64_t k = 1; k < n; ++k) {
      const T v = p[k * inner], b = p[best * inner];
      if (b != b) break;
      if (v != v || v > b) best = k;
    }
    out[j] = best;
  }
}

void split_at(const Shape& s, int64_t dim, int64_t& outer, int64_t& n, int64_t& inner) {
  outer = inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= s[size_t(d)];
  n = s.empty() ? 1 : s[size_t(dim)];
  for (size_t d = size_t(dim) + 1; d < s.size(); ++d) inner *= s[d];
}

}  // namespace

void sum_dims(Context& ctx, DType dtype, const void* x, DimList kept, DimList reduced, void* out) {
  const Dims k = merge(kept, "kept"), r = merge(reduced, "reduced");
  dispatch_floating(dtype, "sum", [&](auto tag) {
    using T = decltype(tag);
    sum_dims_typed<T>(ctx, static_cast<const T*>(x), k, r, static_cast<T*>(out));
  });
}

}  // namespace cuda

// out's shape broadcasts to x's: out = x summed over the broadcast dims
void CudaBackend::sum_to(const Tensor& x, Tensor& out) {
  if (out.numel() == 0) return;
  cuda::Scope scope(*ctx_, "sum_to");
  if (x.numel() == 0) {
    fill(out, 0.0);
    return;
  }
  const Shape& sx = x.shape();
  const Shape& so = out.shape();
  const size_t nd = sx.size();
  cuda::DimList kept, reduced;
  int64_t stride = 1;
  std::vector<std::array<int64_t, 2>> dims(nd);
  for (size_t k = nd; k-- > 0;) {
    dims[k] = {sx[k], stride};
    stride *= sx[k];
  }
  for (size_t k = 0; k < nd; ++k) {
    const size_t lead = nd - so.size();
    const int64_t out_size = k < lead ? 1 : so[k - lead];
    if (out_size == sx[k]) kept.push_back(dims[k]);
    else reduced.push_back(dims[k]);
  }
  cuda::sum_dims(*ctx_, x.dtype(), x.raw_data(), kept, reduced, out.raw_data());
}

// x: (outer, n, inner) -> out: (outer, inner)
void CudaBackend::sum_dim(const Tensor& x, int64_t dim, Tensor& out) {
  if (out.numel() == 0) return;
  cuda::Scope scope(*ctx_, "sum_dim");
  int64_t outer, n, inner;
  cuda::split_at(x.shape(), dim, outer, n, inner);
  if (n == 0) {
    fill(out, 0.0);
    return;
  }
  cuda::sum_dims(*ctx_, x.dtype(), x.raw_data(), {{outer, n * inner}, {inner, 1}}, {{n, inner}}, out.raw_data());
}

void CudaBackend::argmax(const Tensor& x, int64_t dim, Tensor& out) {
  if (out.numel() == 0) return;
  cuda::Scope scope(*ctx_, "argmax");
  int64_t outer, n, inner;
  cuda::split_at(x.shape(), dim, outer, n, inner);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    cuda::argmax_kernel<T><<<cuda::grid_for(outer * inner), cuda::kThreads, 0, ctx_->stream>>>(
        static_cast<const T*>(x.raw_data()), outer, n, inner, static_cast<int64_t*>(out.raw_data()));
  });
  EMBER_CUDA_LAUNCHED("argmax_kernel");
}

}  // namespace ember
