// Matrix products through Eigen (multi-threaded by OpenMP outside parallel regions).
#include <Eigen/Core>

#include "ember/core/cpu/cpu_backend.h"

namespace ember {

void CpuBackend::gemm(bool trans_a, bool trans_b, double alpha, const Tensor& a, const Tensor& b, double beta,
                      Tensor& c) {
  dispatch_floating(c.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::Map<const Mat> A(static_cast<const T*>(a.raw_data()), a.size(0), a.size(1));
    Eigen::Map<const Mat> B(static_cast<const T*>(b.raw_data()), b.size(0), b.size(1));
    Eigen::Map<Mat> C(static_cast<T*>(c.raw_data()), c.size(0), c.size(1));
    T al = T(alpha);
    if (beta == 0) C.setZero();
    else if (beta != 1) C *= T(beta);
    if (!trans_a && !trans_b) C.noalias() += al * A * B;
    else if (trans_a && !trans_b) C.noalias() += al * A.transpose() * B;
    else if (!trans_a && trans_b) C.noalias() += al * A * B.transpose();
    else C.noalias() += al * A.transpose() * B.transpose();
  });
}

}  // namespace ember
