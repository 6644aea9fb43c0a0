// The parts of the DNC's memory access that are more than a line (Graves et
// al. 2016, Methods; dnc_memory.py), each forward beside its backward: the
// interface's activations, content lookup (with Csordás & Schmidhuber's
// mask), the sharpening of the link distributions, allocation; and vectorised
// sums. dnc_access.h puts them together. Memory
// is [W, N] (dnc_layout.h); weightings are [N] per head.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "dnc_layout.h"
#include "simd.h"

namespace {

// sum_i x[i] and sum_i x[i] y[i], vectorised (the order of the additions is
// the vector's, not the loop's).
template <typename T>
inline T sum_of(const T* x, int64_t n) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}
template <typename T>
inline T dot_of(const T* x, const T* y, int64_t n) {
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

constexpr double DNC_COSINE_EPS = 1e-8;   // addressing.COSINE_EPS
constexpr double DNC_SHARPEN_EPS = 1e-12;  // addressing.SHARPEN_EPS

template <typename T> inline T sigmoid1(T x) { return T(1) / (T(1) + std::exp(-x)); }
// oneplus(x) = 1 + softplus(x), torch's softplus: x itself past 20.
template <typename T> inline T oneplus1(T x) { return x > T(20) ? T(1) + x : T(1) + std::log1p(std::exp(x)); }
template <typename T> inline T oneplus_slope(T x) { return x > T(20) ? T(1) : sigmoid1(x); }

// The interface xi_t through the clamp and each field's activation
// (dnc.split_interface): keys, write vector as they are; strengths and
// sharpness oneplus; erase, gates and masks sigmoid; read modes a softmax
// over three per head. act has raw's layout.
template <typename T>
void activate(const DncDims& d, const Fields& f, const T* raw, T* act) {
  const T clip = T(d.clip);
  for (int64_t k = 0; k < f.size; ++k) act[k] = std::min(std::max(raw[k], -clip), clip);
  const auto apply = [&](int64_t at, int64_t count, T (*g)(T)) {
    if (at >= 0)
      for (int64_t k = at; k < at + count; ++k) act[k] = g(act[k]);
  };
  apply(f.read_strengths, d.R, oneplus1<T>);
  apply(f.write_strength, 1, oneplus1<T>);
  apply(f.erase, d.M, sigmoid1<T>);
  apply(f.free_gates, d.R, sigmoid1<T>);
  apply(f.allocation_gate, 2, sigmoid1<T>);  // the allocation and write gates
  apply(f.read_masks, d.R * d.M, sigmoid1<T>);
  apply(f.write_mask, d.M, sigmoid1<T>);
  apply(f.forward_sharpness, d.R, oneplus1<T>);
  apply(f.backward_sharpness, d.R, oneplus1<T>);
  for (int64_t r = 0; r < d.R; ++r) {
    T* pi = act + f.read_modes + 3 * r;
    const T top = std::max({pi[0], pi[1], pi[2]});
    T sum = 0;
    for (int k = 0; k < 3; ++k) sum += (pi[k] = std::exp(pi[k] - top));
    for (int k = 0; k < 3; ++k) pi[k] /= sum;
  }
}

// activate's backward: from the activations' gradients gact, the raw
// outputs' into graw, zero where the clamp cut them.
template <typename T>
void activate_backward(const DncDims& d, const Fields& f, const T* raw, const T* act, const T* gact, T* graw) {
  const T clip = T(d.clip);
  std::copy(gact, gact + f.size, graw);
  const auto through = [&](int64_t at, int64_t count, bool sigmoid) {
    if (at < 0) return;
    for (int64_t k = at; k < at + count; ++k) {
      const T x = std::min(std::max(raw[k], -clip), clip);
      graw[k] *= sigmoid ? act[k] * (T(1) - act[k]) : oneplus_slope(x);
    }
  };
  through(f.read_strengths, d.R, false);
  through(f.write_strength, 1, false);
  through(f.erase, d.M, true);
  through(f.free_gates, d.R, true);
  through(f.allocation_gate, 2, true);
  through(f.read_masks, d.R * d.M, true);
  through(f.write_mask, d.M, true);
  through(f.forward_sharpness, d.R, false);
  through(f.backward_sharpness, d.R, false);
  for (int64_t r = 0; r < d.R; ++r) {
    const T* pi = act + f.read_modes + 3 * r;
    T* g = graw + f.read_modes + 3 * r;
    const T dot = g[0] * pi[0] + g[1] * pi[1] + g[2] * pi[2];
    for (int k = 0; k < 3; ++k) g[k] = pi[k] * (g[k] - dot);
  }
  for (int64_t k = 0; k < f.size; ++k)
    if (raw[k] < -clip || raw[k] > clip) graw[k] = 0;
}

// C(M, k, beta) = softmax(beta D(k o s, M_i o s)), D the cosine similarity;
// s = 1 without a mask (dnc_memory.content_weighting). Out: the cosines K
// [N], the masked row norms mn [N] and the weighting c [N].
template <typename T>
void content(const T* mem, int64_t N, int64_t M, const T* key, const T* mask, T beta, T* K, T* mn, T* c) {
  std::fill(K, K + N, T(0));
  std::fill(mn, mn + N, T(0));
  T kn = 0;
  for (int64_t j = 0; j < M; ++j) {
    const T s2 = mask ? mask[j] * mask[j] : T(1), ks = key[j] * s2;
    kn += key[j] * key[j] * s2;
    const T* col = mem + j * N;
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) {
      K[i] += ks * col[i];
      mn[i] += s2 * col[i] * col[i];
    }
  }
  kn = std::sqrt(kn);
  T top = -INFINITY;
#pragma omp simd reduction(max : top)
  for (int64_t i = 0; i < N; ++i) {
    mn[i] = std::sqrt(mn[i]);
    K[i] /= kn * mn[i] + T(DNC_COSINE_EPS);
    c[i] = beta * K[i];
    top = std::max(top, c[i]);
  }
  for (int64_t i = 0; i < N; ++i) c[i] -= top;
  exp_(c, N);
  const T inv = T(1) / sum_of(c, N);
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) c[i] *= inv;
}

// content's backward: from gc (overwritten), dL/dM added to gmem, dL/dkey
// to gkey, dL/dmask to gmask (with a mask); returns dL/dbeta. scratch holds
// N values.
template <typename T>
T content_backward(const T* mem, int64_t N, int64_t M, const T* key, const T* mask, T beta, const T* K, const T* mn,
                   const T* c, T* gc, T* gmem, T* gkey, T* gmask, T* scratch) {
  const T dot = dot_of(gc, c, N);
  T kn = 0;
  for (int64_t j = 0; j < M; ++j) kn += key[j] * key[j] * (mask ? mask[j] * mask[j] : T(1));
  kn = std::sqrt(kn);
  T gbeta = 0, gkn = 0;
  T* gdot = gc;  // dL/d (k o s).(M_i o s), in place
  T* gmn_scaled = scratch;  // [N]: dL/d|M_i o s| / |M_i o s|
#pragma omp simd reduction(+ : gbeta, gkn)
  for (int64_t i = 0; i < N; ++i) {
    const T gz = c[i] * (gc[i] - dot);
    gbeta += gz * K[i];
    const T gK = beta * gz, D = kn * mn[i] + T(DNC_COSINE_EPS), gD = -gK * K[i] / D;
    gdot[i] = gK / D;
    gkn += gD * mn[i];
    gmn_scaled[i] = mn[i] > 0 ? gD * kn / mn[i] : T(0);
  }
  const T gkn_scaled = kn > 0 ? gkn / kn : T(0);
  for (int64_t j = 0; j < M; ++j) {
    const T s = mask ? mask[j] : T(1), s2 = s * s, kj = key[j];
    const T* col = mem + j * N;
    T* gcol = gmem + j * N;
    T sum_dot = 0, sum_norm = 0;
#pragma omp simd reduction(+ : sum_dot, sum_norm)
    for (int64_t i = 0; i < N; ++i) {
      sum_dot += gdot[i] * col[i];
      sum_norm += gmn_scaled[i] * col[i] * col[i];
      gcol[i] += gdot[i] * kj * s2 + gmn_scaled[i] * s2 * col[i];
    }
    gkey[j] += sum_dot * s2 + gkn_scaled * kj * s2;
    if (mask) gmask[j] += 2 * s * (kj * sum_dot + gkn_scaled * kj * kj / 2 + sum_norm / 2);
  }
  return gbeta;
}

// The sharpening of the forward and backward weightings (Csordás &
// Schmidhuber; addressing.sharpen): d + eps over its largest, to the power
// s, normalised. In place on d [N].
template <typename T>
void sharpen(T* d, int64_t N, T s) {
  T top = 0;
  for (int64_t i = 0; i < N; ++i) top = std::max(top, d[i] + T(DNC_SHARPEN_EPS));
  T sum = 0;
  for (int64_t i = 0; i < N; ++i) sum += (d[i] = std::pow((d[i] + T(DNC_SHARPEN_EPS)) / top, s));
  for (int64_t i = 0; i < N; ++i) d[i] /= sum;
}

// sharpen's backward: d the input, out its result, g dL/dout [N] overwritten
// with dL/dd; returns dL/ds. As a softmax of s log(d + eps), whose scale
// (the division by the largest) cancels.
template <typename T>
T sharpen_backward(const T* d, const T* out, int64_t N, T s, T* g) {
  T top = 0, dot = 0, gs = 0;
  for (int64_t i = 0; i < N; ++i) top = std::max(top, d[i] + T(DNC_SHARPEN_EPS)), dot += g[i] * out[i];
  for (int64_t i = 0; i < N; ++i) {
    const T x = d[i] + T(DNC_SHARPEN_EPS), gz = out[i] * (g[i] - dot);
    gs += gz * std::log(x / top);
    g[i] = s * gz / x;
  }
  return gs;
}

// phi: the locations by usage, ties lowest index first. A float usage
// (never negative, so its bits order as the values do) and its index are
// one 64-bit key, and integers sort without the comparisons' branches.
template <typename T>
void sort_by_usage(const T* u, int64_t N, int64_t* order) {
  if constexpr (sizeof(T) == 4) {
    uint64_t* key = reinterpret_cast<uint64_t*>(order);
    for (int64_t i = 0; i < N; ++i) {
      uint32_t bits;
      std::memcpy(&bits, u + i, 4);
      key[i] = (uint64_t(bits) << 32) | uint64_t(i);
    }
    std::sort(key, key + N);
    for (int64_t i = 0; i < N; ++i) order[i] = int64_t(key[i] & 0xffffffffu);
  } else {
    std::iota(order, order + N, int64_t(0));
    std::stable_sort(order, order + N, [&](int64_t x, int64_t y) { return u[x] < u[y]; });
  }
}

// a_t[phi[j]] = (1 - u[phi[j]]) prod_{i<j} u[phi[i]], phi the locations
// sorted by usage, ties lowest index first (dnc_memory.allocation_weighting).
// Out: the order phi, the products before each (prefix) and a.
template <typename T>
void allocation(const T* u, int64_t N, int64_t* order, T* prefix, T* a) {
  sort_by_usage(u, N, order);
  T product = 1;
  for (int64_t j = 0; j < N; ++j) {
    prefix[j] = product;
    a[order[j]] = (T(1) - u[order[j]]) * product;
    product *= u[order[j]];
  }
}

// allocation's backward through the usages (not the sort), added to gu:
// with s_j = u[phi[j]] and P_j the product before j,
//   dL/ds_j = P_j (S_j - ga_j),  S_j = sum_{k>j} ga_k (1 - s_k) prod_{j<i<k} s_i,
// S from the end by S_j = ga_{j+1} (1 - s_{j+1}) + s_{j+1} S_{j+1}: no
// division, so unused locations (usage 0) need no care.
template <typename T>
void allocation_backward(const T* u, int64_t N, const int64_t* order, const T* prefix, const T* ga, T* gu) {
  T S = 0;
  for (int64_t j = N - 1; j >= 0; --j) {
    const int64_t at = order[j];
    gu[at] += prefix[j] * (S - ga[at]);
    S = ga[at] * (T(1) - u[at]) + u[at] * S;
  }
}

}  // namespace
