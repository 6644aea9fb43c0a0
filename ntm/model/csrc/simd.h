// Elementwise maths over short arrays: exp, log, tanh, log1p and sigmoid in
// place, and a 64-byte vector type for the loops over memory locations.
//
// Where the build targets AVX2 or AVX-512 the functions go through SLEEF (8
// floats or 4 doubles at a time with AVX2, 16 or 8 with AVX-512); elsewhere
// through the C library one value at a time. exp and log1p are SLEEF's 1-ulp
// functions; log and tanh its 3.5-ulp ones, which cost less and differ from
// the 1-ulp ones by float noise only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__AVX2__)
#include <immintrin.h>
#include <sleef.h>  // shipped with torch, whose own CPU kernels use it
#endif

namespace {

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

// 64 bytes of T as one value (GCC and Clang vector extensions): arithmetic
// on it compiles to the target's widest registers, one AVX-512 register, two
// AVX2 ones or four SSE2 ones. For loops whose sums over locations the
// compiler would not vectorise itself (it keeps a float sum's order, without
// -ffast-math).
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

}  // namespace
