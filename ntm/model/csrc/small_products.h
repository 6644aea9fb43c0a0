// Matrix products of a few rows, C[m, n] = A[m, k] B[k, n] (+ C), written
// out in AVX-512 for the fused NTM: the per-step products (m is a thread's
// share of the batch, 1 to about 32 rows; B a weight matrix, packed) and the
// whole-sequence weight gradients (A given transposed).
//
// Why not only the BLAS torch links: MKL picks its kernels by CPU vendor and
// runs AVX2 code on AMD processors, far below what their AVX-512 FMA units do
// (BENCHMARKS.md, "Products of a few rows in AVX-512").
//
// The method: C is cut into panels of 4 vectors of columns (64 floats or 32
// doubles) and blocks of at most 6 rows, whose 24 accumulators stay in
// registers while k runs; each step of k loads one row of the B panel and
// broadcasts one value of A per row. Each C element is its starting value
// plus the products in order of k, one FMA each, so the result does not
// depend on m or on how the rows are blocked: a sample's values are the same
// whichever share of the batch it falls in.
#pragma once

#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>

namespace small_products {

constexpr bool available = true;

template <typename T> struct Lanes;
template <> struct Lanes<float> {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int width = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store(float* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static V broadcast(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V zero() { return _mm512_setzero_ps(); }
};
template <> struct Lanes<double> {
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int width = 8;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static V load(Mask m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static void store(double* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  static V broadcast(double x) { return _mm512_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V zero() { return _mm512_setzero_pd(); }
};

constexpr int MAX_ROWS = 6;     // accumulators: 6 rows x 4 vectors, of 32 registers
constexpr int PANEL_VECTORS = 4;

// Rows 0..R-1 of C by V vectors of columns, the last one masked to `last`
// (full vectors load and store unmasked: the compiler does not fold an
// all-ones mask, and masked loads slow the loop).
// A's element (r, i) is A[r * lda + i], or A[i * lda + r] if TA (A^T given);
// B's row i of this panel starts at B + i * ldb.
template <typename T, bool TA, int R, int V>
__attribute__((always_inline)) inline void block(int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb,
                                                 bool accumulate, T* C, int64_t ldc, typename Lanes<T>::Mask last) {
  using L = Lanes<T>;
  typename L::V c[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      const T* from = C + r * ldc + v * L::width;
      c[r][v] = !accumulate ? L::zero() : v < V - 1 ? L::load(from) : L::load(last, from);
    }
  for (int64_t i = 0; i < k; ++i) {
    typename L::V b[V];
    for (int v = 0; v < V; ++v) {
      const T* from = B + i * ldb + v * L::width;
      b[v] = v < V - 1 ? L::load(from) : L::load(last, from);
    }
    for (int r = 0; r < R; ++r) {
      const typename L::V a = L::broadcast(TA ? A[i * lda + r] : A[r * lda + i]);
      for (int v = 0; v < V; ++v) c[r][v] = L::fma(a, b[v], c[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      T* to = C + r * ldc + v * L::width;
      if (v < V - 1)
        L::store(to, c[r][v]);
      else
        L::store(to, last, c[r][v]);
    }
}

// All m rows of one panel, in blocks of about equal size (16 rows: 6, 5, 5),
// so no block is left with one or two rows, which use the FMA units poorly.
template <typename T, bool TA, int V>
void panel(int64_t m, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb, bool accumulate, T* C,
           int64_t ldc, typename Lanes<T>::Mask last) {
  for (int64_t i = 0; i < m;) {
    const int64_t blocks = (m - i + MAX_ROWS - 1) / MAX_ROWS;
    const int64_t rows = (m - i + blocks - 1) / blocks;
    const T* a = TA ? A + i : A + i * lda;
    T* c = C + i * ldc;
    switch (rows) {
      case 6: block<T, TA, 6, V>(k, a, lda, B, ldb, accumulate, c, ldc, last); break;
      case 5: block<T, TA, 5, V>(k, a, lda, B, ldb, accumulate, c, ldc, last); break;
      case 4: block<T, TA, 4, V>(k, a, lda, B, ldb, accumulate, c, ldc, last); break;
      case 3: block<T, TA, 3, V>(k, a, lda, B, ldb, accumulate, c, ldc, last); break;
      case 2: block<T, TA, 2, V>(k, a, lda, B, ldb, accumulate, c, ldc, last); break;
      default: block<T, TA, 1, V>(k, a, lda, B, ldb, accumulate, c, ldc, last); break;
    }
    i += rows;
  }
}

// How many values of T make a panel's row: 4 vectors, 256 bytes.
template <typename T>
constexpr int64_t panel_width() {
  return PANEL_VECTORS * Lanes<T>::width;
}

// C[m, n] = op(A) B + (accumulate ? C : 0), panel by panel of w =
// panel_width<T>() columns; panel p of B starts at B + p * panel_stride,
// its rows ldb apart.
template <typename T, bool TA>
void product(int64_t m, int64_t n, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb,
             int64_t panel_stride, bool accumulate, T* C, int64_t ldc) {
  using L = Lanes<T>;
  constexpr int64_t w = panel_width<T>();
  for (int64_t j = 0, p = 0; j < n; j += w, ++p) {
    const int64_t columns = n - j < w ? n - j : w;
    const int vectors = int((columns + L::width - 1) / L::width);
    const int64_t in_last = columns - (vectors - 1) * L::width;
    const auto last = typename L::Mask((1u << in_last) - 1);
    const T* b = B + p * panel_stride;
    switch (vectors) {
      case 4: panel<T, TA, 4>(m, k, A, lda, b, ldb, accumulate, C + j, ldc, last); break;
      case 3: panel<T, TA, 3>(m, k, A, lda, b, ldb, accumulate, C + j, ldc, last); break;
      case 2: panel<T, TA, 2>(m, k, A, lda, b, ldb, accumulate, C + j, ldc, last); break;
      default: panel<T, TA, 1>(m, k, A, lda, b, ldb, accumulate, C + j, ldc, last); break;
    }
  }
}

// Row-major C[m, n] = A[m, k] B[k, n] + (accumulate ? C : 0), A's and C's
// rows lda and ldc apart, B packed (`operand` in products.h): panel p,
// columns p * w to p * w + w - 1 (zero past n), is k rows of w values,
// contiguous, so the loop over k reads it as one stream.
template <typename T>
void multiply(int64_t m, int64_t n, int64_t k, const T* A, int64_t lda, const T* packed, bool accumulate, T* C,
              int64_t ldc) {
  product<T, false>(m, n, k, A, lda, packed, panel_width<T>(), k * panel_width<T>(), accumulate, C, ldc);
}

// Row-major C[m, n] = A[k, m]^T B[k, n] + (accumulate ? C : 0), rows lda,
// ldb and ldc apart: the whole-sequence weight gradients, k the steps' rows.
template <typename T>
void multiply_tn(int64_t m, int64_t n, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb,
                 bool accumulate, T* C, int64_t ldc) {
  product<T, true>(m, n, k, A, lda, B, ldb, panel_width<T>(), accumulate, C, ldc);
}

}  // namespace small_products

#else  // without AVX-512 the fused path keeps the BLAS for every product

namespace small_products {
constexpr bool available = false;
template <typename T>
constexpr int64_t panel_width() {
  return 256 / sizeof(T);
}
template <typename T>
void multiply(int64_t, int64_t, int64_t, const T*, int64_t, const T*, bool, T*, int64_t) {}
template <typename T>
void multiply_tn(int64_t, int64_t, int64_t, const T*, int64_t, const T*, int64_t, bool, T*, int64_t) {}
}  // namespace small_products

#endif
