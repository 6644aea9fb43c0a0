// The fused NTM: the reference machine (ntm/model/ntm.py, addressing.py) over
// a whole sequence in one call, with a hand-written backward pass.
//
// Layout. Samples are sorted by length, longest first, so the samples still
// running at step t are rows 0..n_t-1 of the batch. Every per-step buffer is
// "packed" like a PackedSequence: step t's n_t rows start at off[t], so a
// batch costs the sum of its real lengths, never batch x longest. The dense
// products (controller gates, head projection, output layer) are GEMMs on
// those rows; addressing, read and write are loops over one sample at a time,
// spread across threads by at::parallel_for (each sample writes only its own
// rows, so results do not depend on the thread count).
//
// Under no_grad (`save` false) nothing is kept for the backward pass: every
// per-step buffer has two slots, this step and the last, so evaluation at any
// length needs memory for the logits and two steps only.
//
// Equation numbers are those of Graves et al. 2014, as in addressing.py.

// ATen and torch's pybind casters only, not <torch/extension.h>: the whole
// C++ frontend would cost about a third more compile time for nothing.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/utils/pybind.h>

#include <ATen/Parallel.h>

#include "small_products.h"

#if defined(__AVX2__)
#include <immintrin.h>
#include <sleef.h>  // shipped with torch, whose own CPU kernels use it
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

namespace {

constexpr double COSINE_EPS = 1e-8;   // addressing.COSINE_EPS
constexpr double SHARPEN_EPS = 1e-12; // addressing.SHARPEN_EPS
constexpr double SOFTPLUS_THRESHOLD = 20.0; // F.softplus's default: linear above it
constexpr int64_t EXTRA = 6;           // beta, g, 3 shifts, gamma beside the key
constexpr int64_t MAX_HEADS = 64;      // read + write heads, checked in make_dims

// Sizes of one machine and one batch.
struct Dims {
  int64_t B, T, I, O, H, L, R, W, N, M;
  bool lstm;
  double clip;
  int64_t heads() const { return R + W; }
  int64_t per_head() const { return M + EXTRA; }
  int64_t P() const { return heads() * per_head() + 2 * W * M; }  // head projection width
  int64_t Z() const { return H + R * M; }                          // output layer input [h, reads]
  int64_t in(int64_t l) const { return l == 0 ? I + R * M : H; }   // controller layer input
  int64_t A(int64_t l) const { return in(l) + (lstm ? H : 0); }    // [x, h_prev] for LSTM
  int64_t gates() const { return lstm ? 4 * H : H; }
};

// Which samples run at which step: the sort, and the packed row offsets.
struct Schedule {
  std::vector<int64_t> perm;  // perm[b] = original sample of sorted row b
  std::vector<int64_t> n;     // n[t] = samples running at step t
  std::vector<int64_t> off;   // off[t] = first packed row of step t
  int64_t steps = 0, rows = 0;
};

Schedule make_schedule(const at::Tensor& lengths, int64_t T) {
  auto len = lengths.to(at::kLong).contiguous();
  const int64_t* l = len.data_ptr<int64_t>();
  Schedule s;
  const int64_t B = len.numel();
  s.perm.resize(B);
  std::iota(s.perm.begin(), s.perm.end(), 0);
  std::stable_sort(s.perm.begin(), s.perm.end(), [&](int64_t a, int64_t b) { return l[a] > l[b]; });
  s.steps = B ? std::min<int64_t>(T, l[s.perm[0]]) : 0;
  for (int64_t t = 0; t < s.steps; ++t) {
    int64_t count = 0;
    while (count < B && l[s.perm[count]] > t) ++count;
    s.off.push_back(s.rows);
    s.n.push_back(count);
    s.rows += count;
  }
  return s;
}

// Packed rows [rows, width] (step by step, longest samples first) back to
// [B, T, width] in the samples' own order; padded steps stay zero.
template <typename T>
at::Tensor unpack_rows(const Schedule& s, const at::Tensor& packed, int64_t B, int64_t steps_T, int64_t width) {
  at::Tensor out = at::zeros({B, steps_T, width}, packed.options());
  T* o = out.data_ptr<T>();
  const T* p = packed.data_ptr<T>();
  for (int64_t t = 0; t < s.steps; ++t)
    for (int64_t b = 0; b < s.n[t]; ++b)
      std::copy(p + (s.off[t] + b) * width, p + (s.off[t] + b + 1) * width, o + (s.perm[b] * steps_T + t) * width);
  return out;
}

// Elementwise exp, log and tanh in place over n values: 8 floats or 4
// doubles at a time through SLEEF where AVX2 is there, 16 or 8 with AVX-512,
// the C library's one value at a time otherwise. Most of the step's time went
// to these before. exp is SLEEF's 1-ulp function; log and tanh its 3.5-ulp
// ones, which cost less and differ from the 1-ulp ones by float noise only.
#if defined(__AVX2__)
// One struct per vector type, the same members spelt with its intrinsics.
#define NTM_SIMD(NAME, SCALAR, VECTOR, WIDTH, PS, SLEEF, BITS)                             \
  struct NAME {                                                                          \
    using V = VECTOR;                                                                    \
    static constexpr int width = WIDTH;                                                  \
    static V load(const SCALAR* x) { return BITS##_loadu_##PS(x); }                      \
    static void store(SCALAR* x, V v) { BITS##_storeu_##PS(x, v); }                      \
    static V exp(V v) { return Sleef_exp##SLEEF##_u10(v); }                              \
    static V log(V v) { return Sleef_log##SLEEF##_u35(v); }                              \
    static V tanh(V v) { return Sleef_tanh##SLEEF##_u35(v); }                            \
    static V log1p(V v) { return Sleef_log1p##SLEEF##_u10(v); }                          \
  };
template <typename T> struct SimdOf;
#if defined(__AVX512F__)  // twice the width, half the calls
NTM_SIMD(Simd16f, float, __m512, 16, ps, f16, _mm512)
NTM_SIMD(Simd8d, double, __m512d, 8, pd, d8, _mm512)
template <> struct SimdOf<float> { using type = Simd16f; };
template <> struct SimdOf<double> { using type = Simd8d; };
#else
NTM_SIMD(Simd8f, float, __m256, 8, ps, f8, _mm256)
NTM_SIMD(Simd4d, double, __m256d, 4, pd, d4, _mm256)
template <> struct SimdOf<float> { using type = Simd8f; };
template <> struct SimdOf<double> { using type = Simd4d; };
#endif
#undef NTM_SIMD

// Apply f to x[0..n) in place, the tail through a zero-padded block.
template <typename T, typename F>
inline void apply(T* x, int64_t n, F f) {
  using S = typename SimdOf<T>::type;
  int64_t i = 0;
  for (; i + S::width <= n; i += S::width) S::store(x + i, f(S::load(x + i)));
  if (i < n) {
    T block[S::width] = {};
    std::copy(x + i, x + n, block);
    S::store(block, f(S::load(block)));
    std::copy(block, block + (n - i), x + i);
  }
}
template <typename T> inline void exp_(T* x, int64_t n) { apply(x, n, [](auto v) { return SimdOf<T>::type::exp(v); }); }
template <typename T> inline void log_(T* x, int64_t n) { apply(x, n, [](auto v) { return SimdOf<T>::type::log(v); }); }
template <typename T> inline void tanh_(T* x, int64_t n) { apply(x, n, [](auto v) { return SimdOf<T>::type::tanh(v); }); }
template <typename T> inline void log1p_(T* x, int64_t n) { apply(x, n, [](auto v) { return SimdOf<T>::type::log1p(v); }); }
#else
template <typename T> inline void exp_(T* x, int64_t n) { for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]); }
template <typename T> inline void log_(T* x, int64_t n) { for (int64_t i = 0; i < n; ++i) x[i] = std::log(x[i]); }
template <typename T> inline void tanh_(T* x, int64_t n) { for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]); }
template <typename T> inline void log1p_(T* x, int64_t n) { for (int64_t i = 0; i < n; ++i) x[i] = std::log1p(x[i]); }
#endif

// sigmoid(x) = 1 / (1 + exp(-x)) in place.
template <typename T> inline void sigmoid_(T* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = -x[i];
  exp_(x, n);
  for (int64_t i = 0; i < n; ++i) x[i] = T(1) / (T(1) + x[i]);
}

// The BLAS torch links (MKL here), called directly: the per-step products
// are small, and an ATen call's dispatch cost more than the product itself.
extern "C" {
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*);
void dgemm_(const char*, const char*, const int*, const int*, const int*, const double*, const double*, const int*,
            const double*, const int*, const double*, double*, const int*);
}

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

// Whether the products (per step, and the whole-sequence weight gradients)
// run on small_products.h instead of the BLAS: by default wherever it is
// compiled in (AVX-512). set_products below.
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
// The weights come transposed (Weights::steps in the forward): with W[out,
// in] as stored, MKL's small-batch kernel takes dot products along `in` and
// ran at about half the speed of the same product on Wt (BENCHMARKS.md), and
// the own products need B's rows along `out`.
template <typename T>
void linear(int64_t n, const T* X, int64_t ldx, const Operand& Wt, const T* bias, T* Y, int64_t ldy) {
  for (int64_t b = 0; b < n; ++b) std::copy(bias, bias + Wt.n, Y + b * ldy);
  multiply(n, X, ldx, Wt, true, Y, ldy);
}

// Whether a raw controller output lies inside the clip, where its gradient passes.
template <typename T> inline bool unclipped(T x, T clip) { return x >= -clip && x <= clip; }

// One head's addressing parameters from its (clamped) raw controller outputs.
template <typename T>
struct HeadParams {
  const T* key;  // [M], the clamped raw values
  const T* raw;  // [M + EXTRA], before clamping
  T clip;
  T beta, g, s[3], gamma;
  T beta_d, gamma_d;  // softplus derivatives, for the backward pass
  T mask[EXTRA];      // 1 where the raw value was inside the clip (clamp's gradient)
};

// 64 bytes of T as one value (GCC and Clang vector extensions): arithmetic
// on it compiles to the target's widest registers, one AVX-512 register or
// two AVX2 ones. For loops whose sums over locations the compiler may not
// vectorise itself (it keeps a float sum's order, without -ffast-math).
template <typename T>
struct Vec {
  static constexpr int lanes = 64 / sizeof(T);
  typedef T type __attribute__((vector_size(64)));
  static type load(const T* p) {
    type v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(T* p, type v) { std::memcpy(p, &v, sizeof v); }
  static T sum(type v) {  // lane by lane, the same order every time
    T s = 0;
    for (int k = 0; k < lanes; ++k) s += v[k];
    return s;
  }
};

// Memory is held transposed, [M, N] (location i of column j at j * N + i), so
// the loops over locations run along contiguous memory and vectorise; the
// reference's [N, M] only appears at the edges (reads are [M] per head).
template <typename T>
void row_norms(const T* mem, int64_t N, int64_t M, T* norms) {
  std::fill(norms, norms + N, T(0));
  for (int64_t j = 0; j < M; ++j) {
    const T* col = mem + j * N;
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) norms[i] += col[i] * col[i];
  }
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) norms[i] = std::sqrt(norms[i]);
}

template <typename T>
T key_norm(const T* key, int64_t M) {
  T sq = 0;
  for (int64_t j = 0; j < M; ++j) sq += key[j] * key[j];
  return std::sqrt(sq);
}

// Figure 2's rotation over three offsets, circular over the N rows:
// out(i) = a x(i-1) + b x(i) + c x(i+1) + eps. The two end rows wrap round;
// the interior has no branch, so it vectorises.
template <typename T>
void rotate3(const T* x, T a, T b, T c, T eps, int64_t N, T* out) {
  if (N < 3) {
    for (int64_t i = 0; i < N; ++i) out[i] = a * x[(i + N - 1) % N] + b * x[i] + c * x[(i + 1) % N] + eps;
  } else {
    out[0] = a * x[N - 1] + b * x[0] + c * x[1] + eps;
#pragma omp simd
    for (int64_t i = 1; i < N - 1; ++i) out[i] = a * x[i - 1] + b * x[i] + c * x[i + 1] + eps;
    out[N - 1] = a * x[N - 2] + b * x[N - 1] + c * x[0] + eps;
  }
}

template <typename T>
T largest(const T* x, int64_t N) {
  T most = x[0];
#pragma omp simd reduction(max : most)
  for (int64_t i = 0; i < N; ++i) most = x[i] > most ? x[i] : most;  // std::max would not vectorise
  return most;
}

// The three circular dot products sum_i u(i) x(i - 1), u(i) x(i), u(i) x(i + 1).
template <typename T>
void rotated_dots(const T* u, const T* x, int64_t N, T& before, T& same, T& after) {
  T b = 0, s = 0, a = 0;
  if (N < 3) {
    for (int64_t i = 0; i < N; ++i) {
      b += u[i] * x[(i + N - 1) % N];
      s += u[i] * x[i];
      a += u[i] * x[(i + 1) % N];
    }
  } else {
    b = u[0] * x[N - 1] + u[N - 1] * x[N - 2];
    a = u[0] * x[1] + u[N - 1] * x[0];
    s = u[0] * x[0] + u[N - 1] * x[N - 1];
#pragma omp simd reduction(+ : b, s, a)
    for (int64_t i = 1; i < N - 1; ++i) {
      b += u[i] * x[i - 1];
      s += u[i] * x[i];
      a += u[i] * x[i + 1];
    }
  }
  before = b, same = s, after = a;
}

// G vectors of length M (`keys`) dotted with every memory location,
// out[h][i] = sum_j keys[h][j] M[j][i]: the heads' keys, or in the backward
// pass the read heads' gradients. A block of locations is loaded once per
// column for all G, whose sums stay in registers.
template <int G, typename T>
void location_dots(const T* mem, int64_t N, int64_t M, const T* const* keys, T* out) {
  using V = typename Vec<T>::type;
  int64_t i = 0;
  for (; i + Vec<T>::lanes <= N; i += Vec<T>::lanes) {
    V sum[G];
    for (int h = 0; h < G; ++h) sum[h] = V{};
    for (int64_t j = 0; j < M; ++j) {
      const V c = Vec<T>::load(mem + j * N + i);
      for (int h = 0; h < G; ++h) sum[h] += keys[h][j] * c;
    }
    for (int h = 0; h < G; ++h) Vec<T>::store(out + h * N + i, sum[h]);
  }
  for (; i < N; ++i)
    for (int h = 0; h < G; ++h) {
      T sum = 0;
      for (int64_t j = 0; j < M; ++j) sum += keys[h][j] * mem[j * N + i];
      out[h * N + i] = sum;
    }
}

// f(std::integral_constant<int, G>{}, first) over [0, count) in groups of
// G = 4 heads, the last group smaller: the group size a kernel's registers
// are sized by must be known at compile time.
template <typename F>
void in_groups_of_four(int64_t count, F f) {
  int64_t h = 0;
  for (; h + 4 <= count; h += 4) f(std::integral_constant<int, 4>{}, h);
  switch (count - h) {
    case 3: f(std::integral_constant<int, 3>{}, h); break;
    case 2: f(std::integral_constant<int, 2>{}, h); break;
    case 1: f(std::integral_constant<int, 1>{}, h); break;
    default: break;
  }
}

// location_dots for any number of vectors.
template <typename T>
void location_dots(const T* mem, int64_t N, int64_t M, const T* const* keys, int64_t count, T* out) {
  in_groups_of_four(count, [&](auto G, int64_t h) {
    location_dots<decltype(G)::value>(mem, N, M, keys + h, out + h * N);
  });
}

// The reads of G heads, out[h * M + j] = sum_i w_h[i] M[j][i] with the
// weightings w [G, N]: each block of a column is loaded once for all G.
template <int G, typename T>
void reads_of(const T* mem, int64_t N, int64_t M, const T* w, T* out) {
  using V = typename Vec<T>::type;
  for (int64_t j = 0; j < M; ++j) {
    const T* col = mem + j * N;
    V sum[G];
    for (int h = 0; h < G; ++h) sum[h] = V{};
    int64_t i = 0;
    for (; i + Vec<T>::lanes <= N; i += Vec<T>::lanes) {
      const V c = Vec<T>::load(col + i);
      for (int h = 0; h < G; ++h) sum[h] += Vec<T>::load(w + h * N + i) * c;
    }
    for (int h = 0; h < G; ++h) {
      T r = Vec<T>::sum(sum[h]);
      for (int64_t k = i; k < N; ++k) r += w[h * N + k] * col[k];
      out[h * M + j] = r;
    }
  }
}

template <typename T>
void reads_of(const T* mem, int64_t N, int64_t M, const T* w, int64_t heads, T* out) {
  in_groups_of_four(heads, [&](auto G, int64_t h) { reads_of<decltype(G)::value>(mem, N, M, w + h * N, out + h * M); });
}

// Each head's key dotted with every location, into K [count, N].
template <typename T>
void key_dots(const T* mem, int64_t N, int64_t M, const HeadParams<T>* hp, int64_t count, T* K) {
  const T* keys[MAX_HEADS];
  for (int64_t h = 0; h < count; ++h) keys[h] = hp[h].key;
  location_dots(mem, N, M, keys, count, K);
}

// Figure 2 for one head: content (5-6), interpolation (7), shift (8),
// sharpening (9). K comes holding the key's dot product with each location
// (key_dots) and leaves holding the cosine similarities; K, w^c and w^g are
// kept for the backward pass; `w` is the head's new weighting.
template <typename T>
void address(const T* norms, const T* prev, const HeadParams<T>& p, int64_t N, int64_t M, T* K, T* wc, T* wg,
             T* w) {
  const T kn = key_norm(p.key, M);
  T top = -INFINITY;
#pragma omp simd reduction(max : top)
  for (int64_t i = 0; i < N; ++i) {
    K[i] = K[i] / (kn * norms[i] + T(COSINE_EPS));
    wc[i] = p.beta * K[i];
    top = wc[i] > top ? wc[i] : top;
  }
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) wc[i] -= top;
  exp_(wc, N);
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < N; ++i) sum += wc[i];
  // Scalar denominators as one reciprocal: a vector division costs several multiplies.
  const T g = p.g, keep = T(1) - p.g, inv_sum = T(1) / sum;
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) {
    wc[i] *= inv_sum;
    wg[i] = g * wc[i] + keep * prev[i];
  }
  rotate3(wg, p.s[2], p.s[1], p.s[0], T(SHARPEN_EPS), N, w);
  const T most = largest(w, N);
  // (w / most)^gamma as exp(gamma log(w / most)): two cheap vector calls
  // cost less than one pow.
  const T inv_most = T(1) / most;
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) w[i] *= inv_most;
  log_(w, N);
  const T gamma = p.gamma;
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) w[i] *= gamma;
  exp_(w, N);
  T total = 0;
#pragma omp simd reduction(+ : total)
  for (int64_t i = 0; i < N; ++i) total += w[i];
  const T inv_total = T(1) / total;
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) w[i] *= inv_total;
}

// The backward pass of `address`: from gw = dL/dw, the gradients of the head's
// raw outputs (into graw, clip mask applied), of the memory (added to gmem)
// and of the previous weighting (into gprev). `scratch` holds 2N values.
// A read head passes its read's gradient `gread` [M]: the read's share of
// gmem, w(i) gread_j, is added in the same pass over the memory.
template <typename T>
void address_backward(const T* mem, const T* norms, const T* prev, const HeadParams<T>& p,
                      int64_t N, int64_t M, const T* K, const T* wc, const T* wg, const T* w,
                      const T* gw, T* graw, T* gmem, T* gprev, T* scratch, const T* gread = nullptr) {
  T* u = scratch;       // shifted weights + eps, then dL/du
  T* g2 = scratch + N;  // dL/dw^g, then dL/dz of the content softmax, then dL/d dot
  // Sharpening: w = u^gamma / sum u^gamma (the division by max u cancels).
  rotate3(wg, p.s[2], p.s[1], p.s[0], T(SHARPEN_EPS), N, u);
  const T most = largest(u, N);
  T dotw = 0;
#pragma omp simd reduction(+ : dotw)
  for (int64_t i = 0; i < N; ++i) dotw += gw[i] * w[i];
  const T inv_most = T(1) / most;
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) g2[i] = u[i] * inv_most;
  log_(g2, N);
  T ggamma = 0;
#pragma omp simd reduction(+ : ggamma)
  for (int64_t i = 0; i < N; ++i) {
    const T d = w[i] * (gw[i] - dotw);
    ggamma += d * g2[i];
    u[i] = p.gamma * d / u[i];
  }
  // Shift: w~(i) = s2 w(i-1) + s1 w(i) + s0 w(i+1).
  T gs[3];
  rotated_dots(u, wg, N, gs[2], gs[1], gs[0]);
  rotate3(u, p.s[0], p.s[1], p.s[2], T(0), N, g2);  // the rotation's transpose
  // Interpolation, then the content softmax.
  T gg = 0, dotc = 0;
#pragma omp simd reduction(+ : gg, dotc)
  for (int64_t i = 0; i < N; ++i) {
    gg += g2[i] * (wc[i] - prev[i]);
    gprev[i] = (T(1) - p.g) * g2[i];
    g2[i] *= p.g;  // dL/dw^c
    dotc += g2[i] * wc[i];
  }
  T gbeta = 0;
#pragma omp simd reduction(+ : gbeta)
  for (int64_t i = 0; i < N; ++i) {
    g2[i] = wc[i] * (g2[i] - dotc);  // dL/dz, z = beta K
    gbeta += g2[i] * K[i];
  }
  // Cosine similarity: K = dot / (|k||M_i| + eps).
  const T kn = key_norm(p.key, M);
  T gkn = 0;
  T* gmn = u;  // dL/d|M_i| / |M_i|
#pragma omp simd reduction(+ : gkn)
  for (int64_t i = 0; i < N; ++i) {
    const T gK = p.beta * g2[i];
    const T D = kn * norms[i] + T(COSINE_EPS);
    const T gD = -gK * K[i] / D;
    g2[i] = gK / D;  // dL/d dot_i
    gkn += gD * norms[i];
    gmn[i] = norms[i] > 0 ? gD * kn / norms[i] : T(0);
  }
  T* gkey = graw;
  const T scale = kn > 0 ? gkn / kn : T(0);
  for (int64_t j = 0; j < M; ++j) {
    const T kj = p.key[j];
    const T* col = mem + j * N;
    T* gcol = gmem + j * N;
    T s = 0;
    if (gread != nullptr) {
      const T rj = gread[j];
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < N; ++i) {
        s += g2[i] * col[i];
        gcol[i] += g2[i] * kj + gmn[i] * col[i] + w[i] * rj;
      }
    } else {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < N; ++i) {
        s += g2[i] * col[i];
        gcol[i] += g2[i] * kj + gmn[i] * col[i];
      }
    }
    const bool inside = unclipped(p.raw[j], p.clip);
    gkey[j] = inside ? s + scale * kj : T(0);
  }
  T gsum = gs[0] * p.s[0] + gs[1] * p.s[1] + gs[2] * p.s[2];
  T* gx = graw + M;
  gx[0] = gbeta * p.beta_d * p.mask[0];
  gx[1] = gg * p.g * (T(1) - p.g) * p.mask[1];
  for (int k = 0; k < 3; ++k) gx[2 + k] = p.s[k] * (gs[k] - gsum) * p.mask[2 + k];
  gx[5] = ggamma * p.gamma_d * p.mask[5];
}

// Where controller layer l's output h lives: the top layer's in the output
// layer's input Z, a lower layer's at the front of the next layer's input.
template <typename T>
struct Buffers {
  std::vector<at::Tensor> A, G, C;  // per layer: [x, h_prev]; activated gates (LSTM); cell (LSTM)
  at::Tensor raw, K, wc, wg, w, mem, norms, Z;  // norms: of each step's memory rows
  T* h(const Dims& d, int64_t l, int64_t row) {
    if (l == d.L - 1) return Z.data_ptr<T>() + row * d.Z();
    return A[l + 1].data_ptr<T>() + row * d.A(l + 1);
  }
};

template <typename T>
Buffers<T> allocate(const Dims& d, int64_t rows, const at::TensorOptions& opt) {
  Buffers<T> b;
  for (int64_t l = 0; l < d.L; ++l) {
    b.A.push_back(at::zeros({rows, d.A(l)}, opt));
    b.G.push_back(d.lstm ? at::empty({rows, 4 * d.H}, opt) : at::empty({0}, opt));
    b.C.push_back(d.lstm ? at::empty({rows, d.H}, opt) : at::empty({0}, opt));
  }
  b.raw = at::empty({rows, d.P()}, opt);
  b.K = at::empty({rows, d.heads(), d.N}, opt);
  b.wc = at::empty({rows, d.heads(), d.N}, opt);
  b.wg = at::empty({rows, d.heads(), d.N}, opt);
  b.w = at::empty({rows, d.heads(), d.N}, opt);
  b.mem = at::empty({rows, d.M, d.N}, opt);  // transposed, see row_norms
  b.norms = at::empty({rows, d.N}, opt);
  b.Z = at::empty({rows, d.Z()}, opt);
  return b;
}

// Parameters in the order of NTM.parameters(): controller (LSTM: w_ih, w_hh,
// b_ih, b_hh per layer; feedforward: w, b per layer), head projection, output.
struct Weights {
  std::vector<at::Tensor> Wcat, bias;  // per layer: [W_ih | W_hh] and b_ih + b_hh (LSTM), or W and b
  at::Tensor Wp, bp, Wo, bo;
  // The per-step products' weights: transposed, [in, out], in the forward
  // (see linear); as stored, [out, in], in the backward.
  struct Operands {
    std::vector<Operand> Wcat;
    Operand Wp, Wo;
  } steps;
};

Weights gather_weights(const Dims& d, const std::vector<at::Tensor>& params, bool for_forward) {
  Weights w;
  const int64_t per_layer = d.lstm ? 4 : 2;
  for (int64_t l = 0; l < d.L; ++l) {
    const auto* p = &params[l * per_layer];
    if (d.lstm) {
      w.Wcat.push_back(at::cat({p[0], p[1]}, 1).contiguous());
      w.bias.push_back(p[2] + p[3]);
    } else {
      w.Wcat.push_back(p[0].contiguous());
      w.bias.push_back(p[1].contiguous());
    }
  }
  const int64_t k = d.L * per_layer;
  w.Wp = params[k].contiguous();
  w.bp = params[k + 1].contiguous();
  w.Wo = params[k + 2].contiguous();
  w.bo = params[k + 3].contiguous();
  const auto as_operand = [&](const at::Tensor& W) { return operand(for_forward ? W.t() : W); };
  for (const auto& Wl : w.Wcat) w.steps.Wcat.push_back(as_operand(Wl));
  w.steps.Wp = as_operand(w.Wp);
  if (for_forward) w.steps.Wo = as_operand(w.Wo);  // the backward's output layer is one whole-sequence product
  return w;
}

Dims make_dims(const at::Tensor& inputs, const std::vector<at::Tensor>& params, bool lstm, int64_t layers,
               int64_t R, int64_t W, int64_t N, int64_t M, double clip) {
  Dims d;
  d.B = inputs.size(0);
  d.T = inputs.size(1);
  d.I = inputs.size(2);
  d.lstm = lstm;
  d.L = layers;
  d.R = R;
  d.W = W;
  d.N = N;
  d.M = M;
  d.clip = clip;
  d.O = params.back().size(0);
  d.H = params[params.size() - 4].size(1);
  TORCH_CHECK(params[params.size() - 4].size(0) == d.P(), "fused NTM: head projection has the wrong width");
  TORCH_CHECK(d.heads() <= MAX_HEADS, "fused NTM: at most ", MAX_HEADS, " heads");
  TORCH_CHECK(params.size() == size_t(layers * (lstm ? 4 : 2) + 4), "fused NTM: unexpected parameter count");
  return d;
}

// Clamp a step's raw outputs, apply the paper's activations to each head's
// (addressing.head_activations) and to erase (sigmoid) and add (linear).
// The heads' exps and log1ps run as vector calls over all heads at once.
template <typename T>
void step_params(const Dims& d, const T* raw, T* clamped, HeadParams<T>* hp, T* ea) {
  const int64_t ph = d.per_head(), heads = d.heads(), M = d.M;
  const T clip = T(d.clip), threshold = T(SOFTPLUS_THRESHOLD);
  for (int64_t k = 0; k < heads * ph; ++k) clamped[k] = std::min(std::max(raw[k], -clip), clip);
  // Per head: exp(beta), exp(gamma) (each capped at softplus's threshold,
  // above which softplus is linear), exp(-g) and the three shifts' exps.
  T act[6 * MAX_HEADS];
  T *beta = act, *gamma = act + heads, *gate = act + 2 * heads, *shift = act + 3 * heads;
  for (int64_t h = 0; h < heads; ++h) {
    const T* x = clamped + h * ph + M;
    beta[h] = std::min(x[0], threshold);
    gamma[h] = std::min(x[5], threshold);
    gate[h] = -x[1];
    const T top = std::max(x[2], std::max(x[3], x[4]));
    for (int k = 0; k < 3; ++k) shift[k * heads + h] = x[2 + k] - top;
  }
  exp_(act, 6 * heads);
  for (int64_t h = 0; h < heads; ++h) {
    HeadParams<T>& p = hp[h];
    const T* x = clamped + h * ph + M;
    p.key = clamped + h * ph;
    p.raw = raw + h * ph;
    p.clip = clip;
    for (int64_t j = 0; j < EXTRA; ++j) p.mask[j] = unclipped(raw[h * ph + M + j], clip) ? T(1) : T(0);
    // softplus'(x) = sigmoid(x) = e^x / (1 + e^x)
    p.beta_d = x[0] > threshold ? T(1) : beta[h] / (T(1) + beta[h]);
    p.gamma_d = x[5] > threshold ? T(1) : gamma[h] / (T(1) + gamma[h]);
    p.g = T(1) / (T(1) + gate[h]);
    const T sum = shift[h] + shift[heads + h] + shift[2 * heads + h];
    for (int k = 0; k < 3; ++k) p.s[k] = shift[k * heads + h] / sum;
  }
  log1p_(act, 2 * heads);  // softplus(x) = log(1 + e^x)
  for (int64_t h = 0; h < heads; ++h) {
    const T* x = clamped + h * ph + M;
    hp[h].beta = x[0] > threshold ? x[0] : beta[h];
    hp[h].gamma = T(1) + (x[5] > threshold ? x[5] : gamma[h]);
  }
  const T* x = raw + heads * ph;
  for (int64_t k = 0; k < 2 * d.W * d.M; ++k) ea[k] = std::min(std::max(x[k], -clip), clip);
  for (int64_t v = 0; v < d.W; ++v) sigmoid_(ea + v * 2 * d.M, d.M);  // erase; add stays linear
}

// One sample's write (eqs. 3-4) and reads (eqs. 2, 5-9) at one step. The
// row norms of the memory before the write come in (`norms_prev`, kept from
// the step before) and those after it go out (`norms`), summed while each
// column is written, so no pass over the memory is spent on norms alone.
template <typename T>
void memory_step(const Dims& d, const T* raw, const T* mem_prev, const T* norms_prev, const T* w_prev, T* mem,
                 T* norms, T* K, T* wc, T* wg, T* w, T* reads, T* scratch) {
  const int64_t N = d.N, M = d.M, R = d.R, W = d.W;
  T* clamped = scratch;  // (M + EXTRA) per head
  T* ea = clamped + d.heads() * d.per_head();  // erase and add of each write head
  HeadParams<T> hp[MAX_HEADS];
  step_params(d, raw, clamped, hp, ea);
  // Write heads address the memory before this step's write.
  key_dots(mem_prev, N, M, hp + R, W, K + R * N);
  for (int64_t h = R; h < d.heads(); ++h)
    address(norms_prev, w_prev + h * N, hp[h], N, M, K + h * N, wc + h * N, wg + h * N, w + h * N);
  std::fill(norms, norms + N, T(0));
  for (int64_t j = 0; j < M; ++j) {
    const T* old = mem_prev + j * N;
    T* col = mem + j * N;
    if (W == 1) {  // every task but priority sort: one pass per column
      const T* wv = w + R * N;
      const T e = ea[j], a = ea[M + j];
#pragma omp simd
      for (int64_t i = 0; i < N; ++i) {
        col[i] = old[i] * (T(1) - wv[i] * e) + wv[i] * a;
        norms[i] += col[i] * col[i];
      }
      continue;
    }
    // A block of locations keeps its product of erase factors and its sum
    // of adds in registers across the heads.
    using V = typename Vec<T>::type;
    int64_t i = 0;
    for (; i + Vec<T>::lanes <= N; i += Vec<T>::lanes) {
      V keep = V{} + T(1), added = V{};
      for (int64_t v = 0; v < W; ++v) {
        const V wv = Vec<T>::load(w + (R + v) * N + i);
        keep *= T(1) - wv * ea[v * 2 * M + j];
        added += wv * ea[v * 2 * M + M + j];
      }
      const V c = Vec<T>::load(old + i) * keep + added;
      Vec<T>::store(col + i, c);
      Vec<T>::store(norms + i, Vec<T>::load(norms + i) + c * c);  // the same sums, in the same order, as row_norms
    }
    for (; i < N; ++i) {
      T keep = 1, added = 0;
      for (int64_t v = 0; v < W; ++v) {
        keep *= T(1) - w[(R + v) * N + i] * ea[v * 2 * M + j];
        added += w[(R + v) * N + i] * ea[v * 2 * M + M + j];
      }
      col[i] = old[i] * keep + added;
      norms[i] += col[i] * col[i];
    }
  }
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) norms[i] = std::sqrt(norms[i]);
  // Read heads see this step's write.
  key_dots(mem, N, M, hp, R, K);
  for (int64_t h = 0; h < R; ++h)
    address(norms, w_prev + h * N, hp[h], N, M, K + h * N, wc + h * N, wg + h * N, w + h * N);
  reads_of(mem, N, M, w, R, reads);
}

// The write's backward over one memory column for W = 2..8 write heads, W
// known at compile time so that a location's W erase factors and their
// products before and after each head stay in registers. In: g (dL/d the
// new column), m (the column before the write), w (the write heads'
// weightings, [W, N]), e and a (each head's erase and add at this column).
// Out: gp (dL/d the old column), gw += each head's weighting gradient, and
// per head the sums over locations that make the erase and add gradients:
// gerase[v] = -sum_i g m w_v prod_{u != v} (1 - w_u e_u), gadd[v] = sum_i g w_v.
template <int W, typename T>
void write_column_backward(const T* g, const T* m, const T* w, const T* e, const T* a, int64_t N, T* gp, T* gw,
                           T* gerase, T* gadd) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  V erase_sum[W], add_sum[W];
  for (int v = 0; v < W; ++v) erase_sum[v] = add_sum[v] = V{};
  int64_t i = 0;
  for (; i + L <= N; i += L) {
    const V gi = Vec<T>::load(g + i);
    // The products of the factors from head v on, then a running product of
    // those before it: fewer live values than keeping both as arrays, so
    // the sums above stay in registers.
    V after[W + 1];
    after[W] = V{} + T(1);
    for (int v = W - 1; v >= 0; --v) after[v] = after[v + 1] * (T(1) - Vec<T>::load(w + v * N + i) * e[v]);
    Vec<T>::store(gp + i, gi * after[0]);
    const V gm = gi * Vec<T>::load(m + i);
    V before = V{} + T(1);
    for (int v = 0; v < W; ++v) {
      const V wv = Vec<T>::load(w + v * N + i);
      const V gm_others = gm * before * after[v + 1];  // the other heads' erase factors
      Vec<T>::store(gw + v * N + i, Vec<T>::load(gw + v * N + i) + (gi * a[v] - gm_others * e[v]));
      erase_sum[v] -= gm_others * wv;
      add_sum[v] += gi * wv;
      before *= T(1) - wv * e[v];
    }
  }
  for (int v = 0; v < W; ++v) gerase[v] = Vec<T>::sum(erase_sum[v]), gadd[v] = Vec<T>::sum(add_sum[v]);
  for (; i < N; ++i) {  // the locations past the last full vector
    T factor[W], before[W + 1], after[W + 1];
    before[0] = T(1);
    after[W] = T(1);
    for (int v = 0; v < W; ++v) {
      factor[v] = T(1) - w[v * N + i] * e[v];
      before[v + 1] = before[v] * factor[v];
    }
    for (int v = W - 1; v >= 0; --v) after[v] = after[v + 1] * factor[v];
    gp[i] = g[i] * before[W];
    const T gm = g[i] * m[i];
    for (int v = 0; v < W; ++v) {
      const T gm_others = gm * before[v] * after[v + 1];
      gw[v * N + i] += g[i] * a[v] - gm_others * e[v];
      gerase[v] -= gm_others * w[v * N + i];
      gadd[v] += g[i] * w[v * N + i];
    }
  }
}

// write_column_backward for a W known only at run time; false where W is
// outside 2..8 (the caller then takes the general loop).
template <typename T>
bool write_column_backward_for(int64_t W, const T* g, const T* m, const T* w, const T* e, const T* a, int64_t N,
                               T* gp, T* gw, T* gerase, T* gadd) {
  switch (W) {
    case 2: write_column_backward<2>(g, m, w, e, a, N, gp, gw, gerase, gadd); return true;
    case 3: write_column_backward<3>(g, m, w, e, a, N, gp, gw, gerase, gadd); return true;
    case 4: write_column_backward<4>(g, m, w, e, a, N, gp, gw, gerase, gadd); return true;
    case 5: write_column_backward<5>(g, m, w, e, a, N, gp, gw, gerase, gadd); return true;
    case 6: write_column_backward<6>(g, m, w, e, a, N, gp, gw, gerase, gadd); return true;
    case 7: write_column_backward<7>(g, m, w, e, a, N, gp, gw, gerase, gadd); return true;
    case 8: write_column_backward<8>(g, m, w, e, a, N, gp, gw, gerase, gadd); return true;
    default: return false;
  }
}

// The backward pass of memory_step for one sample. In: gr (dL/d reads),
// gmem (dL/d this step's memory, from later steps; the reads' and read
// heads' shares are added to it), gw (dL/d this step's weightings, from later
// steps). Out: graw, gmem_prev (dL/d the previous memory, overwritten), gw
// turned into dL/d the previous weightings.
template <typename T>
void memory_step_backward(const Dims& d, const T* raw, const T* mem_prev, const T* norms_prev, const T* w_prev,
                          const T* mem, const T* norms, const T* K, const T* wc, const T* wg, const T* w, const T* gr,
                          T* graw, T* gmem, T* gmem_prev, T* gw, T* scratch) {
  const int64_t N = d.N, M = d.M, R = d.R, W = d.W, ph = d.per_head();
  const T clip = T(d.clip);
  T* clamped = scratch;
  T* ea = clamped + d.heads() * ph;
  T* gread_w = ea + 2 * W * M;  // [max(R, 1), N] dL/d each read head's weighting
  T* gtotal = gread_w;          // [N] dL/d a write head's weighting
  T* factors = gread_w + std::max<int64_t>(R, 1) * N;  // [W, N] 1 - w e of each write head in one column
  T* before = factors + W * N; // [W + 1, N] products of the factors before head v
  T* after = before + (W + 1) * N;  // [W + 1, N] and from head v on
  T* addr = after + (W + 1) * N;    // 2N for address_backward
  HeadParams<T> hp[MAX_HEADS];
  step_params(d, raw, clamped, hp, ea);
  // Reads: r = sum_i w(i) M_i. The weighting's gradient is needed before the
  // address backward starts; the memory's share is added in its pass.
  const T* greads[MAX_HEADS];
  for (int64_t h = 0; h < R; ++h) greads[h] = gr + h * M;
  location_dots(mem, N, M, greads, R, gread_w);  // dL/dw(i) of each read = sum_j gr_j M_i[j]
  for (int64_t h = 0; h < R; ++h) {
    T* gtotal = gread_w + h * N;
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) gtotal[i] += gw[h * N + i];
    address_backward(mem, norms, w_prev + h * N, hp[h], N, M, K + h * N, wc + h * N, wg + h * N, w + h * N, gtotal,
                     graw + h * ph, gmem, gw + h * N, addr, greads[h]);
  }
  // Write: M = M_prev * prod_v (1 - w_v e_v) + sum_v w_v a_v.
  T* ge = graw + d.heads() * ph;  // erase and add gradients, per head as in raw
  for (int64_t j = 0; j < M; ++j) {
    const T* g = gmem + j * N;
    const T* m = mem_prev + j * N;
    T* gp = gmem_prev + j * N;
    if (W == 1) {  // one pass per column
      const T* wv = w + R * N;
      T* gwv = gw + R * N;
      const T e = ea[j], a = ea[M + j];
      T gerase = 0, gadd = 0;
#pragma omp simd reduction(+ : gerase, gadd)
      for (int64_t i = 0; i < N; ++i) {
        const T gm = g[i] * m[i];
        gp[i] = g[i] * (T(1) - wv[i] * e);
        gwv[i] += g[i] * a - gm * e;
        gerase -= gm * wv[i];
        gadd += g[i] * wv[i];
      }
      const int64_t k = d.heads() * ph;
      ge[j] = unclipped(raw[k + j], clip) ? gerase * e * (T(1) - e) : T(0);
      ge[M + j] = unclipped(raw[k + M + j], clip) ? gadd : T(0);
      continue;
    }
    T e[MAX_HEADS], a[MAX_HEADS];
    for (int64_t v = 0; v < W; ++v) e[v] = ea[v * 2 * M + j], a[v] = ea[v * 2 * M + M + j];
    T gerase[MAX_HEADS], gadd[MAX_HEADS];
    if (write_column_backward_for(W, g, m, w + R * N, e, a, N, gp, gw + R * N, gerase, gadd)) {
      for (int64_t v = 0; v < W; ++v) {
        const int64_t k = d.heads() * ph + v * 2 * M;
        ge[v * 2 * M + j] = unclipped(raw[k + j], clip) ? gerase[v] * e[v] * (T(1) - e[v]) : T(0);
        ge[v * 2 * M + M + j] = unclipped(raw[k + M + j], clip) ? gadd[v] : T(0);
      }
      continue;
    }
    std::fill(before, before + N, T(1));
    std::fill(after + W * N, after + (W + 1) * N, T(1));
    for (int64_t v = 0; v < W; ++v) {
      const T* wv = w + (R + v) * N;
      const T e = ea[v * 2 * M + j];
#pragma omp simd
      for (int64_t i = 0; i < N; ++i) {
        factors[v * N + i] = T(1) - wv[i] * e;
        before[(v + 1) * N + i] = before[v * N + i] * factors[v * N + i];
      }
    }
    for (int64_t v = W - 1; v >= 0; --v)
#pragma omp simd
      for (int64_t i = 0; i < N; ++i) after[v * N + i] = after[(v + 1) * N + i] * factors[v * N + i];
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) gp[i] = g[i] * before[W * N + i];
    for (int64_t v = 0; v < W; ++v) {
      const T* wv = w + (R + v) * N;
      T* gwv = gw + (R + v) * N;
      const T e = ea[v * 2 * M + j], a = ea[v * 2 * M + M + j];
      T gerase = 0, gadd = 0;
#pragma omp simd reduction(+ : gerase, gadd)
      for (int64_t i = 0; i < N; ++i) {
        const T gm_others = g[i] * m[i] * before[v * N + i] * after[(v + 1) * N + i];
        gwv[i] += g[i] * a - gm_others * e;
        gerase -= gm_others * wv[i];
        gadd += g[i] * wv[i];
      }
      const int64_t k = d.heads() * ph + v * 2 * M;
      const bool erase_inside = unclipped(raw[k + j], clip);
      const bool add_inside = unclipped(raw[k + M + j], clip);
      ge[v * 2 * M + j] = erase_inside ? gerase * e * (T(1) - e) : T(0);
      ge[v * 2 * M + M + j] = add_inside ? gadd : T(0);
    }
  }
  // Write heads addressed the previous memory.
  for (int64_t h = R; h < d.heads(); ++h) {
    std::copy(gw + h * N, gw + (h + 1) * N, gtotal);
    address_backward(mem_prev, norms_prev, w_prev + h * N, hp[h], N, M, K + h * N, wc + h * N, wg + h * N,
                     w + h * N, gtotal, graw + h * ph, gmem_prev, gw + h * N, addr);
  }
}

template <typename T>
int64_t scratch_size(const Dims& d) {
  return d.heads() * d.per_head() + 2 * d.W * d.M + std::max<int64_t>(d.R, 1) * d.N + 3 * (d.W + 1) * d.N + 2 * d.N;
}

// The row norms of the initial memory (every location alike).
template <typename T>
at::Tensor initial_norms(const Dims& d, const at::Tensor& mem0) {
  at::Tensor norms = at::empty({d.N}, mem0.options());
  row_norms(mem0.data_ptr<T>(), d.N, d.M, norms.data_ptr<T>());
  return norms;
}

// Rows of `t` in the packed (save) layout or the two-slot (no save) layout.
struct Rows {
  const Schedule& s;
  bool save;
  int64_t B;
  int64_t at(int64_t t) const { return save ? s.off[t] : (t & 1) * B; }
};

// The LSTM cell (torch.nn.LSTMCell, gates i, f, g, o) on pre-activations in
// gates, for one row: writes activated gates back, c and h.
template <typename T>
inline void lstm_cell(T* gates, const T* c_prev, T* c, T* h, int64_t H) {
  sigmoid_(gates, 2 * H);
  tanh_(gates + 2 * H, H);
  sigmoid_(gates + 3 * H, H);
  const T *i = gates, *f = gates + H, *g = gates + 2 * H, *o = gates + 3 * H;
  for (int64_t k = 0; k < H; ++k) h[k] = c[k] = f[k] * (c_prev ? c_prev[k] : T(0)) + i[k] * g[k];
  tanh_(h, H);
  for (int64_t k = 0; k < H; ++k) h[k] *= o[k];
}

template <typename T>
std::vector<at::Tensor> forward_impl(const Dims& d, const Schedule& s, const at::Tensor& inputs,
                                     const at::Tensor& mem0, const Weights& wt, bool save) {
  const auto opt = inputs.options();
  const Rows rows{s, save, d.B};
  Buffers<T> buf = allocate<T>(d, save ? s.rows : 2 * d.B, opt);
  at::Tensor logits = at::empty({s.rows, d.O}, opt);
  at::Tensor norms0 = initial_norms<T>(d, mem0);
  at::Tensor w0 = at::zeros({d.heads(), d.N}, opt);
  w0.select(1, 0).fill_(1);
  const T* x = inputs.data_ptr<T>();
  const T* first_row = mem0.data_ptr<T>();  // location 0, what every read head reads before step 0
  const int64_t N = d.N, M = d.M, NH = d.heads() * N, RM = d.R * d.M;
  const int64_t scratch = scratch_size<T>(d);
  at::Tensor gates = at::empty({d.B, d.gates()}, opt);  // feedforward pre-activations

  for (int64_t t = 0; t < s.steps; ++t) {
    const int64_t n = s.n[t], r = rows.at(t), rp = t > 0 ? rows.at(t - 1) : -1;
    // Controller input: [x_t, reads_{t-1}] (+ h_{t-1} for the LSTM).
    T* a0 = buf.A[0].template data_ptr<T>();
    for (int64_t b = 0; b < n; ++b) {
      T* row = a0 + (r + b) * d.A(0);
      const T* xin = x + (s.perm[b] * d.T + t) * d.I;
      std::copy(xin, xin + d.I, row);
      if (t == 0)
        for (int64_t k = 0; k < RM; ++k) row[d.I + k] = first_row[(k % d.M) * d.N];
      else
        std::copy(buf.Z.template data_ptr<T>() + (rp + b) * d.Z() + d.H,
                  buf.Z.template data_ptr<T>() + (rp + b) * d.Z() + d.Z(), row + d.I);
    }
    for (int64_t l = 0; l < d.L; ++l) {
      const T* a = buf.A[l].template data_ptr<T>() + r * d.A(l);
      const T* bl = wt.bias[l].template data_ptr<T>();
      if (d.lstm) {
        T* al = buf.A[l].template data_ptr<T>();
        for (int64_t b = 0; b < n; ++b) {
          T* hp = al + (r + b) * d.A(l) + d.in(l);
          if (t == 0)
            std::fill(hp, hp + d.H, T(0));
          else
            std::copy(buf.h(d, l, rp + b), buf.h(d, l, rp + b) + d.H, hp);
        }
        T* gp = buf.G[l].template data_ptr<T>() + r * 4 * d.H;
        linear(n, a, d.A(l), wt.steps.Wcat[l], bl, gp, 4 * d.H);
        T* cl = buf.C[l].template data_ptr<T>();
        at::parallel_for(0, n, 8, [&](int64_t lo, int64_t hi) {
          for (int64_t b = lo; b < hi; ++b)
            lstm_cell(gp + b * 4 * d.H, t > 0 ? cl + (rp + b) * d.H : nullptr, cl + (r + b) * d.H,
                      buf.h(d, l, r + b), d.H);
        });
      } else {
        T* gp = gates.data_ptr<T>();
        linear(n, a, d.A(l), wt.steps.Wcat[l], bl, gp, d.H);
        for (int64_t b = 0; b < n; ++b) {
          T* h = buf.h(d, l, r + b);
          std::copy(gp + b * d.H, gp + (b + 1) * d.H, h);
          tanh_(h, d.H);
        }
      }
    }
    // Head projection, clamped inside memory_step.
    T* raw = buf.raw.template data_ptr<T>();
    linear(n, buf.Z.template data_ptr<T>() + r * d.Z(), d.Z(), wt.steps.Wp, wt.bp.template data_ptr<T>(),
           raw + r * d.P(), d.P());
    T* mem = buf.mem.template data_ptr<T>();
    T* K = buf.K.template data_ptr<T>();
    T* wc = buf.wc.template data_ptr<T>();
    T* wg = buf.wg.template data_ptr<T>();
    T* w = buf.w.template data_ptr<T>();
    T* Z = buf.Z.template data_ptr<T>();
    T* norms = buf.norms.template data_ptr<T>();
    const T* m0 = mem0.data_ptr<T>();
    const T* n0 = norms0.data_ptr<T>();
    const T* w0p = w0.data_ptr<T>();
    at::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
      std::vector<T> work(scratch);
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t row = r + b;
        memory_step(d, raw + row * d.P(), t > 0 ? mem + (rp + b) * N * M : m0, t > 0 ? norms + (rp + b) * N : n0,
                    t > 0 ? w + (rp + b) * NH : w0p, mem + row * N * M, norms + row * N, K + row * NH,
                    wc + row * NH, wg + row * NH, w + row * NH, Z + row * d.Z() + d.H, work.data());
      }
    });
    if (!save)
      linear(n, Z + r * d.Z(), d.Z(), wt.steps.Wo, wt.bo.template data_ptr<T>(),
             logits.template data_ptr<T>() + s.off[t] * d.O, d.O);
  }
  if (save)
    linear(s.rows, buf.Z.template data_ptr<T>(), d.Z(), wt.steps.Wo, wt.bo.template data_ptr<T>(),
           logits.template data_ptr<T>(), d.O);

  at::Tensor out = unpack_rows<T>(s, logits, d.B, d.T, d.O);
  if (!save) return {out};
  std::vector<at::Tensor> result = {out, buf.raw, buf.K, buf.wc, buf.wg, buf.w, buf.mem, buf.Z, buf.norms};
  for (int64_t l = 0; l < d.L; ++l) {
    result.push_back(buf.A[l]);
    result.push_back(buf.G[l]);
    result.push_back(buf.C[l]);
  }
  return result;
}

template <typename T>
std::vector<at::Tensor> backward_impl(const Dims& d, const Schedule& s, const at::Tensor& grad_out,
                                      const at::Tensor& mem0, const std::vector<at::Tensor>& saved, const Weights& wt,
                                      bool input_grad) {
  const auto opt = grad_out.options();
  Buffers<T> buf;
  buf.raw = saved[0];
  buf.K = saved[1];
  buf.wc = saved[2];
  buf.wg = saved[3];
  buf.w = saved[4];
  buf.mem = saved[5];
  buf.Z = saved[6];
  buf.norms = saved[7];
  for (int64_t l = 0; l < d.L; ++l) {
    buf.A.push_back(saved[8 + 3 * l]);
    buf.G.push_back(saved[9 + 3 * l]);
    buf.C.push_back(saved[10 + 3 * l]);
  }
  const int64_t N = d.N, M = d.M, NH = d.heads() * N, RM = d.R * d.M, H = d.H;
  const int64_t scratch = scratch_size<T>(d);

  // Output layer for every step at once: it feeds nothing later.
  at::Tensor glog = at::empty({s.rows, d.O}, opt);
  {
    const T* g = grad_out.data_ptr<T>();
    T* p = glog.data_ptr<T>();
    for (int64_t t = 0; t < s.steps; ++t)
      for (int64_t b = 0; b < s.n[t]; ++b)
        std::copy(g + (s.perm[b] * d.T + t) * d.O, g + (s.perm[b] * d.T + t + 1) * d.O, p + (s.off[t] + b) * d.O);
  }
  at::Tensor gZ = at::mm(glog, wt.Wo);  // [rows, H + RM]
  at::Tensor gWo = product_tn<T>(glog, buf.Z);
  at::Tensor gbo = glog.sum(0);

  // Gradients carried from step t+1 to step t, one row per (sorted) sample.
  // dL/d memory of this step and of the step before, swapped each step.
  at::Tensor gmem = at::zeros({d.B, N, M}, opt), gmem_prev = at::zeros({d.B, N, M}, opt);
  at::Tensor gw = at::zeros({d.B, d.heads(), N}, opt);
  at::Tensor greads = at::zeros({d.B, RM}, opt);
  std::vector<at::Tensor> gh, gc, dG;
  for (int64_t l = 0; l < d.L; ++l) {
    gh.push_back(at::zeros({d.B, H}, opt));
    gc.push_back(at::zeros({d.B, H}, opt));
    dG.push_back(at::empty({s.rows, d.gates()}, opt));
  }
  at::Tensor graw = at::empty({s.rows, d.P()}, opt);
  at::Tensor norms0 = initial_norms<T>(d, mem0);
  at::Tensor w0 = at::zeros({d.heads(), N}, opt);
  w0.select(1, 0).fill_(1);
  at::Tensor gtop = at::empty({d.B, H}, opt);
  std::vector<T> tanh_cell(d.B * H);
  std::vector<T> grad_a(d.B * std::max(d.A(0), d.A(d.L - 1)));

  for (int64_t t = s.steps - 1; t >= 0; --t) {
    const int64_t n = s.n[t], r = s.off[t], rp = t > 0 ? s.off[t - 1] : -1;
    {
      const T* raw = buf.raw.template data_ptr<T>();
      const T* mem = buf.mem.template data_ptr<T>();
      const T* norms = buf.norms.template data_ptr<T>();
      const T* n0 = norms0.data_ptr<T>();
      const T* K = buf.K.template data_ptr<T>();
      const T* wc = buf.wc.template data_ptr<T>();
      const T* wg = buf.wg.template data_ptr<T>();
      const T* w = buf.w.template data_ptr<T>();
      const T* gz = gZ.data_ptr<T>();
      const T* m0 = mem0.data_ptr<T>();
      const T* w0p = w0.data_ptr<T>();
      T* gr = greads.data_ptr<T>();
      T* graw_p = graw.data_ptr<T>();
      T* gm = gmem.data_ptr<T>();
      T* gmp = gmem_prev.data_ptr<T>();
      T* gwp = gw.data_ptr<T>();
      at::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
        std::vector<T> work(scratch);
        for (int64_t b = lo; b < hi; ++b) {
          const int64_t row = r + b;
          T* g = gr + b * RM;  // dL/d reads: output layer plus next step's controller input
          for (int64_t k = 0; k < RM; ++k) g[k] += gz[row * d.Z() + H + k];
          memory_step_backward(d, raw + row * d.P(), t > 0 ? mem + (rp + b) * N * M : m0,
                               t > 0 ? norms + (rp + b) * N : n0, t > 0 ? w + (rp + b) * NH : w0p,
                               mem + row * N * M, norms + row * N, K + row * NH, wc + row * NH, wg + row * NH,
                               w + row * NH, g, graw_p + row * d.P(), gm + b * N * M, gmp + b * N * M, gwp + b * NH,
                               work.data());
        }
      });
    }
    std::swap(gmem, gmem_prev);
    // dL/dh of the top layer: output layer plus head projection.
    T* ghl = gtop.data_ptr<T>();  // dL/dh of layer l from above, this step
    {
      const T* gz = gZ.data_ptr<T>();
      for (int64_t b = 0; b < n; ++b) std::copy(gz + (r + b) * d.Z(), gz + (r + b) * d.Z() + H, ghl + b * H);
      multiply(n, graw.data_ptr<T>() + r * d.P(), d.P(), wt.steps.Wp, true, ghl, H);
    }
    for (int64_t l = d.L - 1; l >= 0; --l) {
      T* dg = dG[l].template data_ptr<T>() + r * d.gates();
      if (d.lstm) {
        const T* gates = buf.G[l].template data_ptr<T>();
        const T* c = buf.C[l].template data_ptr<T>();
        T* ghr = gh[l].data_ptr<T>();
        T* gcr = gc[l].data_ptr<T>();
        T* tanh_c = tanh_cell.data();
        std::copy(c + r * H, c + (r + n) * H, tanh_c);
        tanh_(tanh_c, n * H);
        for (int64_t b = 0; b < n; ++b) {
          const T* gt = gates + (r + b) * 4 * H;
          for (int64_t k = 0; k < H; ++k) {
            const T i = gt[k], f = gt[H + k], g = gt[2 * H + k], o = gt[3 * H + k];
            const T cp = t > 0 ? c[(rp + b) * H + k] : T(0);
            const T tc = tanh_c[b * H + k];
            const T dh = ghl[b * H + k] + ghr[b * H + k];
            const T dc = gcr[b * H + k] + dh * o * (T(1) - tc * tc);
            T* out = dg + b * 4 * H;
            out[k] = dc * g * i * (T(1) - i);
            out[H + k] = dc * cp * f * (T(1) - f);
            out[2 * H + k] = dc * i * (T(1) - g * g);
            out[3 * H + k] = dh * tc * o * (T(1) - o);
            gcr[b * H + k] = dc * f;
          }
        }
      } else {
        for (int64_t b = 0; b < n; ++b) {
          const T* h = buf.h(d, l, r + b);
          for (int64_t k = 0; k < H; ++k) dg[b * H + k] = ghl[b * H + k] * (T(1) - h[k] * h[k]);
        }
      }
      T* ga = grad_a.data();  // [n, A(l)]
      multiply(n, dg, d.gates(), wt.steps.Wcat[l], false, ga, d.A(l));
      if (d.lstm) {
        T* ghr = gh[l].data_ptr<T>();
        for (int64_t b = 0; b < n; ++b) std::copy(ga + b * d.A(l) + d.in(l), ga + (b + 1) * d.A(l), ghr + b * H);
      }
      if (l > 0) {
        for (int64_t b = 0; b < n; ++b) std::copy(ga + b * d.A(l), ga + b * d.A(l) + H, ghl + b * H);
      } else {
        T* gr = greads.data_ptr<T>();
        for (int64_t b = 0; b < n; ++b) std::copy(ga + b * d.A(0) + d.I, ga + b * d.A(0) + d.I + RM, gr + b * RM);
      }
    }
  }

  // Weight gradients for every step at once.
  std::vector<at::Tensor> grads;
  for (int64_t l = 0; l < d.L; ++l) {
    at::Tensor gW = product_tn<T>(dG[l], buf.A[l]);
    at::Tensor gb = dG[l].sum(0);
    if (d.lstm) {
      grads.push_back(gW.narrow(1, 0, d.in(l)).contiguous());
      grads.push_back(gW.narrow(1, d.in(l), H).contiguous());
      grads.push_back(gb);
      grads.push_back(gb.clone());
    } else {
      grads.push_back(gW);
      grads.push_back(gb);
    }
  }
  grads.push_back(product_tn<T>(graw, buf.Z.narrow(1, 0, H)));
  grads.push_back(graw.sum(0));
  grads.push_back(gWo);
  grads.push_back(gbo);
  // The initial memory: its gradient from every sample's first write and
  // reads, and from the reads of location 0 before step 0.
  at::Tensor gmem0 = gmem.sum(0).view({M, N});
  at::Tensor greads0 = greads.sum(0).view({d.R, M}).sum(0);
  gmem0.select(1, 0).add_(greads0);
  grads.push_back(gmem0.t().contiguous());
  if (input_grad) {
    at::Tensor gx = at::mm(dG[0], wt.Wcat[0].narrow(1, 0, d.I));
    grads.push_back(unpack_rows<T>(s, gx.contiguous(), d.B, d.T, d.I));
  }
  return grads;
}

// With more than one torch thread, the batch is cut into one share per
// thread and each share runs the whole sequence, forward and backward, on
// its own thread, instead of every thread meeting the others at each time
// step (a loop over samples, then a multithreaded product). Products nested
// inside the parallel region run on their thread alone. The shares' weight
// gradients are summed in share order, so a run stays deterministic for a
// given thread count.
int64_t shares_of(int64_t B) {
  const int64_t threads = at::get_num_threads();
  return threads > 1 && B >= 2 * threads ? threads : 1;
}

// Where each share of the batch starts (shares + 1 entries, the last B): contiguous
// slices with about equal total length, since a share's time is the sum of its
// samples' steps and the slowest share holds up the others. Each share keeps at
// least one sample.
std::vector<int64_t> share_starts(const at::Tensor& lengths, int64_t T, int64_t shares) {
  const int64_t B = lengths.size(0);
  std::vector<int64_t> starts(shares + 1, B);
  starts[0] = 0;
  const at::Tensor l = lengths.to(at::kLong).clamp_max(T).contiguous();
  const int64_t* len = l.data_ptr<int64_t>();
  std::vector<int64_t> before(B + 1, 0);  // total length of samples [0, b)
  for (int64_t b = 0; b < B; ++b) before[b + 1] = before[b] + len[b];
  for (int64_t k = 1; k < shares; ++k) {
    // The first start whose prefix reaches k/shares of the total, or the one
    // before it if that comes closer.
    const int64_t lo = starts[k - 1] + 1, hi = B - (shares - k);
    int64_t at = lo;
    while (at < hi && before[at] * shares < before[B] * k) ++at;
    if (at > lo && before[B] * k - before[at - 1] * shares < before[at] * shares - before[B] * k) --at;
    starts[k] = at;
  }
  return starts;
}

// f(share, first sample, sample count) for each share, in parallel.
template <typename F>
void over_shares(const std::vector<int64_t>& starts, const F& f) {
  const int64_t shares = int64_t(starts.size()) - 1;
  if (shares == 1) {
    f(0, 0, starts[1]);
    return;
  }
  at::parallel_for(0, shares, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) f(k, starts[k], starts[k + 1] - starts[k]);
  });
}

int64_t saved_per_share(int64_t layers) { return 8 + 3 * layers; }  // see the end of forward_impl

}  // namespace

// inputs [B, T, I], lengths [B], initial memory [N, M] -> {logits [B, T, O]}
// and, with save, what backward needs (share by share).
std::vector<at::Tensor> fused_forward(at::Tensor inputs, at::Tensor lengths, std::vector<at::Tensor> params,
                                      bool lstm, int64_t layers, int64_t R, int64_t W, int64_t N, int64_t M,
                                      double clip, at::Tensor mem0, bool save) {
  at::NoGradGuard no_grad;
  inputs = inputs.contiguous();
  TORCH_CHECK(mem0.size(0) == N && mem0.size(1) == M, "fused NTM: the initial memory must be [N, M]");
  const at::Tensor mem0_t = mem0.to(inputs.scalar_type()).t().contiguous();  // [M, N], as the kernels store memory
  const Weights wt = gather_weights(make_dims(inputs, params, lstm, layers, R, W, N, M, clip), params, true);
  const int64_t B = inputs.size(0), shares = shares_of(B);
  std::vector<std::vector<at::Tensor>> parts(shares);
  over_shares(share_starts(lengths, inputs.size(1), shares), [&](int64_t k, int64_t first, int64_t count) {
    const at::Tensor x = inputs.narrow(0, first, count);
    const Dims d = make_dims(x, params, lstm, layers, R, W, N, M, clip);
    const Schedule s = make_schedule(lengths.narrow(0, first, count), d.T);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_ntm_forward",
                               [&] { parts[k] = forward_impl<scalar_t>(d, s, x, mem0_t, wt, save); });
  });
  if (shares == 1) return parts[0];
  std::vector<at::Tensor> logits;
  for (const auto& part : parts) logits.push_back(part[0]);
  std::vector<at::Tensor> out = {at::cat(logits, 0)};
  for (const auto& part : parts) out.insert(out.end(), part.begin() + 1, part.end());
  return out;
}

// dL/dlogits [B, T, O] -> dL/d each parameter (in NTM.parameters() order, without learned_memory), then dL/d
// the initial memory [N, M], then dL/dinputs if asked.
std::vector<at::Tensor> fused_backward(at::Tensor grad_out, at::Tensor inputs, at::Tensor lengths,
                                       std::vector<at::Tensor> params, std::vector<at::Tensor> saved, bool lstm,
                                       int64_t layers, int64_t R, int64_t W, int64_t N, int64_t M, double clip,
                                       at::Tensor mem0, bool input_grad) {
  at::NoGradGuard no_grad;
  grad_out = grad_out.contiguous();
  const at::Tensor mem0_t = mem0.to(grad_out.scalar_type()).t().contiguous();
  const Weights wt = gather_weights(make_dims(inputs, params, lstm, layers, R, W, N, M, clip), params, false);
  const int64_t per_share = saved_per_share(layers);
  const int64_t shares = static_cast<int64_t>(saved.size()) / per_share;
  TORCH_CHECK(shares >= 1 && shares * per_share == static_cast<int64_t>(saved.size()),
              "fused NTM: the saved tensors do not match the controller's layers");
  std::vector<std::vector<at::Tensor>> parts(shares);
  over_shares(share_starts(lengths, inputs.size(1), shares), [&](int64_t k, int64_t first, int64_t count) {
    const at::Tensor x = inputs.narrow(0, first, count);
    const Dims d = make_dims(x, params, lstm, layers, R, W, N, M, clip);
    const Schedule s = make_schedule(lengths.narrow(0, first, count), d.T);
    const std::vector<at::Tensor> share_saved(saved.begin() + k * per_share, saved.begin() + (k + 1) * per_share);
    const at::Tensor g = grad_out.narrow(0, first, count);
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "fused_ntm_backward", [&] {
      parts[k] = backward_impl<scalar_t>(d, s, g, mem0_t, share_saved, wt, input_grad);
    });
  });
  std::vector<at::Tensor> out = parts[0];
  const size_t summed = out.size() - (input_grad ? 1 : 0);
  for (int64_t k = 1; k < shares; ++k)
    for (size_t i = 0; i < summed; ++i) out[i] = out[i] + parts[k][i];
  if (input_grad && shares > 1) {
    std::vector<at::Tensor> gx;
    for (const auto& part : parts) gx.push_back(part.back());
    out.back() = at::cat(gx, 0);
  }
  return out;
}

// "own" (small_products.h) or "blas" for the products.
void set_products(const std::string& kind) {
  TORCH_CHECK(kind == "own" || kind == "blas", "fused NTM: products are \"own\" or \"blas\", not \"", kind, "\"");
  TORCH_CHECK(kind == "blas" || small_products::available,
              "fused NTM: the own products need AVX-512, which this build does not target");
  own_products = kind == "own";
}

std::string products() { return own_products ? "own" : "blas"; }

// X [m, k] W [k, n] as a per-step product computes it, with the current
// setting, `repeats` times on weights packed once (for the tests, and for
// benchmarks/small_batch_products.py).
at::Tensor step_product(const at::Tensor& X, const at::Tensor& W, int64_t repeats) {
  TORCH_CHECK(X.dim() == 2 && W.dim() == 2 && X.size(1) == W.size(0), "step_product: X [m, k] and W [k, n]");
  TORCH_CHECK(X.scalar_type() == W.scalar_type(), "step_product: X and W of one dtype");
  const at::Tensor x = X.contiguous();
  const Operand B = operand(W);
  at::Tensor Y = at::empty({X.size(0), W.size(1)}, X.options());
  AT_DISPATCH_FLOATING_TYPES(X.scalar_type(), "step_product", [&] {
    for (int64_t r = 0; r < std::max<int64_t>(repeats, 1); ++r)
      multiply<scalar_t>(x.size(0), x.data_ptr<scalar_t>(), x.size(1), B, false, Y.data_ptr<scalar_t>(), B.n);
  });
  return Y;
}

std::vector<std::string> products_available() {
  if (small_products::available) return {"own", "blas"};
  return {"blas"};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("set_products", &set_products, "which code runs the matrix products: \"own\" or \"blas\"");
  m.def("products", &products, "which code runs the matrix products");
  m.def("products_available", &products_available, "what set_products accepts on this build");
  m.def("step_product", &step_product, "X W as a per-step product computes it (for tests and benchmarks)",
        pybind11::arg("X"), pybind11::arg("W"), pybind11::arg("repeats") = 1);
  m.def("forward", &fused_forward, "fused NTM forward over a whole sequence");
  m.def("backward", &fused_backward, "fused NTM backward through time");
  m.def("share_starts", &share_starts, "where each thread's share of the batch starts (for tests)");
}
