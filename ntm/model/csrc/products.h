// The dense products: per step, the controller's gates, the head projection
// and the output layer on a few rows; over the whole sequence, the weight
// gradients. Each goes either to the BLAS torch links, called directly, or
// to small_products.h's own AVX-512 code, chosen at run time (set_products
// in fused_ntm.cpp; BENCHMARKS.md, "Products of a few rows in AVX-512", says
// why the own products are the default where they are compiled in).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>

#include "small_products.h"

// The BLAS's own entry points: the per-step products are small, and an ATen
// call's dispatch would cost more than the product itself.
extern "C" {
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*);
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*);
}

namespace {

// Row-major C[m, n] = A[m, k] B[k, n] + (accumulate ? C : 0) through the
// BLAS, rows lda, ldb and ldc apart. A row-major matrix is a column-major one
// transposed, so this asks the BLAS for C^T = B^T A^T.
template <typename T>
void blas_multiply(int64_t m, int64_t n, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb,
                   bool accumulate, T* C, int64_t ldc) {
  const char no = 'N';
  const int M = int(n), N = int(m), K = int(k), LDA = int(ldb), LDB = int(lda), LDC = int(ldc);
  const T one = 1, beta = accumulate ? 1 : 0;
  if constexpr (std::is_same_v<T, float>)
    sgemm_(&no, &no, &M, &N, &K, &one, B, &LDA, A, &LDB, &beta, C, &LDC);
  else
    dgemm_(&no, &no, &M, &N, &K, &one, B, &LDA, A, &LDB, &beta, C, &LDC);
}

// Whether the products run on small_products.h instead of the BLAS: by
// default wherever it is compiled in (AVX-512).
bool own_products = small_products::available;

// A weight matrix [k, n] as the per-step products take it: row-major for the
// BLAS, or packed in panels for small_products (once per call, so every step
// streams each panel from contiguous memory).
struct Operand {
  at::Tensor data;
  int64_t k = 0, n = 0;
  bool packed = false;
};

Operand operand(const at::Tensor& matrix) {  // matrix [k, n], any strides
  Operand o;
  o.k = matrix.size(0);
  o.n = matrix.size(1);
  o.packed = own_products;
  if (!o.packed) {
    o.data = matrix.contiguous();
    return o;
  }
  const int64_t w = AT_DISPATCH_FLOATING_TYPES(matrix.scalar_type(), "panel_width",
                                               [&] { return small_products::panel_width<scalar_t>(); });
  const int64_t panels = (o.n + w - 1) / w;
  // [k, panels * w] -> [panels, k, w]
  o.data = at::constant_pad_nd(matrix, {0, panels * w - o.n}).view({o.k, panels, w}).permute({1, 0, 2}).contiguous();
  return o;
}

// Row-major C[m, n] = A[m, k] B + (accumulate ? C : 0) for a weight matrix B [k, n].
template <typename T>
void multiply(int64_t m, const T* A, int64_t lda, const Operand& B, bool accumulate, T* C, int64_t ldc) {
  if (m == 0 || B.n == 0) return;
  if (B.packed)
    small_products::multiply(m, B.n, B.k, A, lda, B.data.data_ptr<T>(), accumulate, C, ldc);
  else
    blas_multiply(m, B.n, B.k, A, lda, B.data.data_ptr<T>(), B.n, accumulate, C, ldc);
}

// X[k, m]^T Y[k, n], a whole-sequence weight gradient (k the steps' rows).
// The own products split the columns across threads where this runs
// outside a share's thread; each element's sum is the same either way.
template <typename T>
at::Tensor product_tn(const at::Tensor& X, const at::Tensor& Y) {
  if (!own_products) return at::mm(X.t(), Y);
  TORCH_INTERNAL_ASSERT(X.stride(1) == 1 && Y.stride(1) == 1);
  const int64_t m = X.size(1), n = Y.size(1), k = X.size(0), w = small_products::panel_width<T>();
  at::Tensor C = at::empty({m, n}, X.options());
  const T *x = X.data_ptr<T>(), *y = Y.data_ptr<T>();
  T* c = C.data_ptr<T>();
  at::parallel_for(0, (n + w - 1) / w, 1, [&](int64_t first, int64_t end) {
    const int64_t j = first * w, columns = std::min(n, end * w) - j;
    small_products::multiply_tn(m, columns, k, x, X.stride(0), y + j, Y.stride(0), false, c + j, n);
  });
  return C;
}

// Row-major Y[n, out] = bias + X[n, in] Wt, X rows ldx apart, Wt [in, out].
// The weights come transposed because the BLAS's small-batch kernel runs
// slower dot products along `in` on W as stored (BENCHMARKS.md, "Transposed
// weights, the heads' activations as vectors, freed memory kept"), and the
// own products need B's rows along `out`.
template <typename T>
void linear(int64_t n, const T* X, int64_t ldx, const Operand& Wt, const T* bias, T* Y, int64_t ldy) {
  for (int64_t b = 0; b < n; ++b) std::copy(bias, bias + Wt.n, Y + b * ldy);
  multiply(n, X, ldx, Wt, true, Y, ldy);
}

}  // namespace
