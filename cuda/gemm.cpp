// Matrix products through cuBLAS. cuBLAS is column-major; a row-major matrix read column-major is its
// transpose, so row-major C = op(A) op(B) is computed as column-major C^T = op(B)^T op(A)^T: the
// operands swap places and keep their own transpose flags and row lengths.
// cuBLAS's default math mode keeps float32 in FP32 (no TF32) and uses no atomics: deterministic.
#include <cublas_v2.h>

#include <climits>

#include "ember/cuda/context.h"

namespace ember {

namespace cuda {

namespace {

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "unknown cuBLAS status";
  }
}

#define EMBER_CUBLAS_CHECK(call)                                                                   \
  do {                                                                                             \
    cublasStatus_t ember_st_ = (call);                                                             \
    EMBER_CHECK(ember_st_ == CUBLAS_STATUS_SUCCESS, "cuBLAS error in ", #call, ": ", cublas_status_name(ember_st_)); \
  } while (0)

cublasHandle_t cublas_handle(Context& ctx) {
  std::lock_guard<std::mutex> lock(ctx.handle_mutex);
  if (!ctx.cublas) {
    cublasHandle_t h = nullptr;
    EMBER_CUBLAS_CHECK(cublasCreate(&h));
    EMBER_CUBLAS_CHECK(cublasSetStream(h, ctx.stream));
    ctx.cublas = h;
  }
  return ctx.cublas;
}

int checked_int(int64_t v, const char* what) {
  EMBER_CHECK(v >= 0 && v <= INT_MAX, "cuda gemm: ", what, " = ", v, " does not fit cuBLAS's 32-bit sizes");
  return int(v);
}

}  // namespace

void gemm_rows(Context& ctx, DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
               const void* a, int64_t lda, const void* b, int64_t ldb, double beta, void* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cublasHandle_t h = cublas_handle(ctx);
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int mi = checked_int(m, "m"), ni = checked_int(n, "n"), ki = checked_int(k, "k");
  // lda/ldb must be at least 1 even for an empty k.
  const int la = std::max(1, checked_int(lda, "lda")), lb = std::max(1, checked_int(ldb, "ldb"));
  const int lc = checked_int(ldc, "ldc");
  if (dtype == kFloat32) {
    const float al = float(alpha), be = float(beta);
    EMBER_CUBLAS_CHECK(cublasSgemm(h, op_b, op_a, ni, mi, ki, &al, static_cast<const float*>(b), lb,
                                   static_cast<const float*>(a), la, &be, static_cast<float*>(c), lc));
  } else if (dtype == kFloat64) {
    EMBER_CUBLAS_CHECK(cublasDgemm(h, op_b, op_a, ni, mi, ki, &alpha, static_cast<const double*>(b), lb,
                                   static_cast<const double*>(a), la, &beta, static_cast<double*>(c), lc));
  } else {
    EMBER_FAIL("matmul: expected a float32 or float64 tensor, found ", dtype_name(dtype));
  }
}

}  // namespace cuda

// c = alpha * op(a) @ op(b) + beta * c, all 2-D row-major
void CudaBackend::gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b, double beta,
                       Tensor& c) {
  cuda::Scope scope(*ctx_, "gemm");
  const int64_t m = c.size(0), n = c.size(1), k = trans_a ? a.size(0) : a.size(1);
  cuda::gemm_rows(*ctx_, c.dtype(), trans_a, trans_b, m, n, k, alpha, a.raw_data(), a.size(1), b.raw_data(),
                  b.size(1), beta, c.raw_data(), n);
}

}  // namespace ember
