// The memory of one sample, [M, N] (transposed, layout.h): reading (eq. 2),
// writing with erase and add (eqs. 3-4), each with its backward pass, and the
// row norms and dot products with every location that addressing needs.
// Equation numbers are those of Graves et al. 2014, as in addressing.py.
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "layout.h"
#include "simd.h"

namespace {

// |M_i| of every location i.
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

// G vectors of length M dotted with every location, out[h][i] = sum_j
// vectors[h][j] M[j][i]: the heads' keys, or in the backward pass the reads'
// gradients. A block of locations is loaded once per column for all G,
// whose sums stay in registers.
template <int G, typename T>
void location_dots(const T* mem, int64_t N, int64_t M, const T* const* vectors, T* out) {
  using V = typename Vec<T>::type;
  int64_t i = 0;
  for (; i + Vec<T>::lanes <= N; i += Vec<T>::lanes) {
    V sum[G];
    for (int h = 0; h < G; ++h) sum[h] = V{};
    for (int64_t j = 0; j < M; ++j) {
      const V c = Vec<T>::load(mem + j * N + i);
      for (int h = 0; h < G; ++h) sum[h] += vectors[h][j] * c;
    }
    for (int h = 0; h < G; ++h) Vec<T>::store(out + h * N + i, sum[h]);
  }
  for (; i < N; ++i)
    for (int h = 0; h < G; ++h) {
      T sum = 0;
      for (int64_t j = 0; j < M; ++j) sum += vectors[h][j] * mem[j * N + i];
      out[h * N + i] = sum;
    }
}

// f(std::integral_constant<int, G>{}, first) over [0, count) in groups of
// G = 4 heads, the last group smaller: a kernel's registers are sized by G,
// which must be known at compile time.
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
void location_dots(const T* mem, int64_t N, int64_t M, const T* const* vectors, int64_t count, T* out) {
  in_groups_of_four(count, [&](auto G, int64_t h) {
    location_dots<decltype(G)::value>(mem, N, M, vectors + h, out + h * N);
  });
}

// (2) read: r_h[j] = sum_i w_h(i) M_i[j] for G heads' weightings w [G, N]:
// each block of a column is loaded once for all G.
template <int G, typename T>
void read(const T* mem, int64_t N, int64_t M, const T* w, T* out) {
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

// (2) for any number of heads: reads out [heads, M].
template <typename T>
void read(const T* mem, int64_t N, int64_t M, const T* w, int64_t heads, T* out) {
  in_groups_of_four(heads, [&](auto G, int64_t h) { read<decltype(G)::value>(mem, N, M, w + h * N, out + h * M); });
}

// (2) backward, the weightings' share: dL/dw_h(i) = sum_j gr_h[j] M_i[j]
// into gw [heads, N]. The memory's share, w_h(i) gr_h[j], is added by
// content_weights_backward in its pass over the memory (addressing.h).
template <typename T>
void read_backward(const T* mem, int64_t N, int64_t M, const T* const* greads, int64_t heads, T* gw) {
  location_dots(mem, N, M, greads, heads, gw);
}

// (3)-(4) write: M_i = M_prev,i * prod_v (1 - w_v(i) e_v) + sum_v w_v(i) a_v
// for W write heads, weightings w [W, N], erase and add ea [W, 2M] (each
// head's erase, then its add). The new row norms go to `norms`, summed while
// each column is written, so no pass over the memory is spent on them alone.
template <typename T>
void write(const T* mem_prev, const T* w, const T* ea, int64_t N, int64_t M, int64_t W, T* mem, T* norms) {
  using V = typename Vec<T>::type;
  std::fill(norms, norms + N, T(0));
  for (int64_t j = 0; j < M; ++j) {
    const T* old = mem_prev + j * N;
    T* col = mem + j * N;
    if (W == 1) {  // every task's machines but priority sort's: one pass, no product over heads
      const T e = ea[j], a = ea[M + j];
#pragma omp simd
      for (int64_t i = 0; i < N; ++i) {
        col[i] = old[i] * (T(1) - w[i] * e) + w[i] * a;
        norms[i] += col[i] * col[i];
      }
      continue;
    }
    // A block of locations keeps its product of erase factors and its sum
    // of adds in registers across the heads.
    int64_t i = 0;
    for (; i + Vec<T>::lanes <= N; i += Vec<T>::lanes) {
      V keep = V{} + T(1), added = V{};
      for (int64_t v = 0; v < W; ++v) {
        const V wv = Vec<T>::load(w + v * N + i);
        keep *= T(1) - wv * ea[v * 2 * M + j];
        added += wv * ea[v * 2 * M + M + j];
      }
      const V c = Vec<T>::load(old + i) * keep + added;
      Vec<T>::store(col + i, c);
      Vec<T>::store(norms + i, Vec<T>::load(norms + i) + c * c);  // row_norms' sums, in its order
    }
    for (; i < N; ++i) {
      T keep = 1, added = 0;
      for (int64_t v = 0; v < W; ++v) {
        keep *= T(1) - w[v * N + i] * ea[v * 2 * M + j];
        added += w[v * N + i] * ea[v * 2 * M + M + j];
      }
      col[i] = old[i] * keep + added;
      norms[i] += col[i] * col[i];
    }
  }
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) norms[i] = std::sqrt(norms[i]);
}

// (3)-(4) backward for W write heads, W known at compile time so that a
// location's W erase factors and their products before and after each head
// stay in registers. In: gmem (dL/d the new memory), mem_prev, w [W, N], ea
// [W, 2M] as in `write`. Out: gmem_prev (dL/d the old memory, overwritten),
// gw [W, N] += each head's weighting gradient, and gea [W, 2M] (dL/d each
// head's erase and add):
//   dL/de_v[j] = -sum_i g_i M_prev,i w_v(i) prod_{u != v} (1 - w_u(i) e_u),
//   dL/da_v[j] = sum_i g_i w_v(i).
template <int W, typename T>
void write_backward(const T* gmem, const T* mem_prev, const T* w, const T* ea, int64_t N, int64_t M, T* gmem_prev,
                    T* gw, T* gea) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  for (int64_t j = 0; j < M; ++j) {
    const T* g = gmem + j * N;
    const T* m = mem_prev + j * N;
    T* gp = gmem_prev + j * N;
    T e[W], a[W], gerase[W], gadd[W];
    for (int v = 0; v < W; ++v) e[v] = ea[v * 2 * M + j], a[v] = ea[v * 2 * M + M + j];
    V erase_sum[W], add_sum[W];
    for (int v = 0; v < W; ++v) erase_sum[v] = add_sum[v] = V{};
    int64_t i = 0;
    for (; i + L <= N; i += L) {
      const V gi = Vec<T>::load(g + i);
      // The products of the factors from head v on, then a running product
      // of those before it: fewer live values than keeping both as arrays,
      // so the sums above stay in registers.
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
    for (int v = 0; v < W; ++v) gea[v * 2 * M + j] = gerase[v], gea[v * 2 * M + M + j] = gadd[v];
  }
}

// (3)-(4) backward for any number of write heads: the same sums, with each
// column's factors and their products kept in `scratch` [3W + 2, N] instead
// of registers.
template <typename T>
void write_backward_loop(const T* gmem, const T* mem_prev, const T* w, const T* ea, int64_t N, int64_t M, int64_t W,
                         T* gmem_prev, T* gw, T* gea, T* scratch) {
  T* factors = scratch;              // [W, N] 1 - w_v e_v in one column
  T* before = factors + W * N;       // [W + 1, N] products of the factors before head v
  T* after = before + (W + 1) * N;   // [W + 1, N] and from head v on
  for (int64_t j = 0; j < M; ++j) {
    const T* g = gmem + j * N;
    const T* m = mem_prev + j * N;
    T* gp = gmem_prev + j * N;
    std::fill(before, before + N, T(1));
    std::fill(after + W * N, after + (W + 1) * N, T(1));
    for (int64_t v = 0; v < W; ++v) {
      const T* wv = w + v * N;
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
      const T* wv = w + v * N;
      T* gwv = gw + v * N;
      const T e = ea[v * 2 * M + j], a = ea[v * 2 * M + M + j];
      T gerase = 0, gadd = 0;
#pragma omp simd reduction(+ : gerase, gadd)
      for (int64_t i = 0; i < N; ++i) {
        const T gm_others = g[i] * m[i] * before[v * N + i] * after[(v + 1) * N + i];
        gwv[i] += g[i] * a - gm_others * e;
        gerase -= gm_others * wv[i];
        gadd += g[i] * wv[i];
      }
      gea[v * 2 * M + j] = gerase, gea[v * 2 * M + M + j] = gadd;
    }
  }
}

// (3)-(4) backward, the head count made a compile-time constant where it
// is 1 to 8 (every task's machines), the general loop above otherwise.
// `scratch` holds (3W + 2) N values.
template <typename T>
void write_backward(const T* gmem, const T* mem_prev, const T* w, const T* ea, int64_t N, int64_t M, int64_t W,
                    T* gmem_prev, T* gw, T* gea, T* scratch) {
  switch (W) {
    case 1: return write_backward<1>(gmem, mem_prev, w, ea, N, M, gmem_prev, gw, gea);
    case 2: return write_backward<2>(gmem, mem_prev, w, ea, N, M, gmem_prev, gw, gea);
    case 3: return write_backward<3>(gmem, mem_prev, w, ea, N, M, gmem_prev, gw, gea);
    case 4: return write_backward<4>(gmem, mem_prev, w, ea, N, M, gmem_prev, gw, gea);
    case 5: return write_backward<5>(gmem, mem_prev, w, ea, N, M, gmem_prev, gw, gea);
    case 6: return write_backward<6>(gmem, mem_prev, w, ea, N, M, gmem_prev, gw, gea);
    case 7: return write_backward<7>(gmem, mem_prev, w, ea, N, M, gmem_prev, gw, gea);
    case 8: return write_backward<8>(gmem, mem_prev, w, ea, N, M, gmem_prev, gw, gea);
    default: break;
  }
  write_backward_loop(gmem, mem_prev, w, ea, N, M, W, gmem_prev, gw, gea, scratch);
}

}  // namespace
