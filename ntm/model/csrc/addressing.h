// Addressing (figure 2 of Graves et al. 2014) for one head of one sample,
// named after ntm/model/addressing.py's functions, each forward beside its
// backward: head_activations, content_weights (5)-(6), interpolate (7), shift
// (8), sharpen (9), and address, the whole pipeline. Weightings are [N].
#pragma once

#include <algorithm>
#include <cmath>

#include "layout.h"
#include "memory.h"
#include "simd.h"

namespace {

constexpr double COSINE_EPS = 1e-8;          // addressing.COSINE_EPS
constexpr double SHARPEN_EPS = 1e-12;        // addressing.SHARPEN_EPS
constexpr double SOFTPLUS_THRESHOLD = 20.0;  // F.softplus's default: linear above it

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

// addressing.head_activations for every head of one step, and erase
// (sigmoid) and add (linear) of each write head as in NTM.step: clamps raw
// [P] into `clamped` (the heads' part) and `ea` [W, 2M]. The heads' exps
// and log1ps run as vector calls over all heads at once.
template <typename T>
void head_activations(const Dims& d, const T* raw, T* clamped, HeadParams<T>* hp, T* ea) {
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

// head_activations' backward for one head: from the gradients of its key
// (graw[0..M), given), beta, g, the shifts and gamma to those of its raw
// outputs graw [M + EXTRA], through each activation and the clamp.
template <typename T>
void head_activations_backward(const HeadParams<T>& p, int64_t M, T gbeta, T gg, const T gs[3], T ggamma, T* graw) {
  for (int64_t j = 0; j < M; ++j) graw[j] = unclipped(p.raw[j], p.clip) ? graw[j] : T(0);
  const T gsum = gs[0] * p.s[0] + gs[1] * p.s[1] + gs[2] * p.s[2];
  T* gx = graw + M;
  gx[0] = gbeta * p.beta_d * p.mask[0];
  gx[1] = gg * p.g * (T(1) - p.g) * p.mask[1];
  for (int k = 0; k < 3; ++k) gx[2 + k] = p.s[k] * (gs[k] - gsum) * p.mask[2 + k];  // softmax over the 3 shifts
  gx[5] = ggamma * p.gamma_d * p.mask[5];
}

// The erase (sigmoid) and add gradients of each write head from dL/de and
// dL/da (gea [W, 2M], write_backward's), through the clamp, into graw's
// erase-and-add part.
template <typename T>
void erase_add_backward(const Dims& d, const T* raw, const T* ea, const T* gea, T* graw) {
  const T clip = T(d.clip);
  const int64_t first = d.heads() * d.per_head(), M = d.M;
  for (int64_t v = 0; v < d.W; ++v)
    for (int64_t j = 0; j < M; ++j) {
      const int64_t k = v * 2 * M + j;
      const T e = ea[k];
      graw[first + k] = unclipped(raw[first + k], clip) ? gea[k] * e * (T(1) - e) : T(0);
      graw[first + k + M] = unclipped(raw[first + k + M], clip) ? gea[k + M] : T(0);
    }
}

template <typename T>
T key_norm(const T* key, int64_t M) {
  T sq = 0;
  for (int64_t j = 0; j < M; ++j) sq += key[j] * key[j];
  return std::sqrt(sq);
}

// Each head's key dotted with every location, into K [count, N]: the
// numerators of (6) for content_weights.
template <typename T>
void key_dots(const T* mem, int64_t N, int64_t M, const HeadParams<T>* hp, int64_t count, T* K) {
  const T* keys[MAX_HEADS];
  for (int64_t h = 0; h < count; ++h) keys[h] = hp[h].key;
  location_dots(mem, N, M, keys, count, K);
}

template <typename T>
T largest(const T* x, int64_t N) {
  T most = x[0];
#pragma omp simd reduction(max : most)
  for (int64_t i = 0; i < N; ++i) most = x[i] > most ? x[i] : most;  // std::max would not vectorise
  return most;
}

// out(i) = a x(i-1) + b x(i) + c x(i+1) + eps, circular over the N
// locations. The two end locations wrap round; the interior has no branch,
// so it vectorises.
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

// (5)-(6) content weights: w^c = softmax(beta K), K(i) = k . M_i / (|k||M_i|
// + eps). K comes holding the dot products k . M_i (key_dots) and leaves
// holding the cosine similarities, kept for the backward pass.
template <typename T>
void content_weights(const T* norms, const T* key, T beta, int64_t N, int64_t M, T* K, T* wc) {
  const T kn = key_norm(key, M);
  T top = -INFINITY;
#pragma omp simd reduction(max : top)
  for (int64_t i = 0; i < N; ++i) {
    K[i] = K[i] / (kn * norms[i] + T(COSINE_EPS));
    wc[i] = beta * K[i];
    top = wc[i] > top ? wc[i] : top;
  }
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) wc[i] -= top;
  exp_(wc, N);
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < N; ++i) sum += wc[i];
  const T inv_sum = T(1) / sum;  // one reciprocal: a vector division costs several multiplies
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) wc[i] *= inv_sum;
}

// (5)-(6) backward: from gwc = dL/dw^c (overwritten), dL/dkey into gkey
// [M] (before the clamp) and dL/dM added to gmem; returns dL/dbeta. A read
// head passes its read's gradient gread [M] and weighting w: the read's (2)
// share of dL/dM, w(i) gread[j], is added in the same pass over the memory.
// `scratch` holds N values.
template <typename T>
T content_weights_backward(const T* mem, const T* norms, const T* key, T beta, int64_t N, int64_t M, const T* K,
                           const T* wc, T* gwc, T* gkey, T* gmem, T* scratch, const T* w = nullptr,
                           const T* gread = nullptr) {
  T dotc = 0;
#pragma omp simd reduction(+ : dotc)
  for (int64_t i = 0; i < N; ++i) dotc += gwc[i] * wc[i];
  T gbeta = 0;
  T* gz = gwc;  // dL/dz of the softmax, z = beta K
#pragma omp simd reduction(+ : gbeta)
  for (int64_t i = 0; i < N; ++i) {
    gz[i] = wc[i] * (gwc[i] - dotc);
    gbeta += gz[i] * K[i];
  }
  // (6): K = dot / D, D = |k||M_i| + eps.
  const T kn = key_norm(key, M);
  T gkn = 0;
  T* gdot = gz;       // dL/d dot_i
  T* gmn = scratch;   // dL/d|M_i| / |M_i|
#pragma omp simd reduction(+ : gkn)
  for (int64_t i = 0; i < N; ++i) {
    const T gK = beta * gz[i];
    const T D = kn * norms[i] + T(COSINE_EPS);
    const T gD = -gK * K[i] / D;
    gdot[i] = gK / D;
    gkn += gD * norms[i];
    gmn[i] = norms[i] > 0 ? gD * kn / norms[i] : T(0);
  }
  const T scale = kn > 0 ? gkn / kn : T(0);  // dL/d|k| / |k|
  for (int64_t j = 0; j < M; ++j) {
    const T kj = key[j];
    const T* col = mem + j * N;
    T* gcol = gmem + j * N;
    T s = 0;
    if (gread != nullptr) {
      const T rj = gread[j];
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < N; ++i) {
        s += gdot[i] * col[i];
        gcol[i] += gdot[i] * kj + gmn[i] * col[i] + w[i] * rj;
      }
    } else {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < N; ++i) {
        s += gdot[i] * col[i];
        gcol[i] += gdot[i] * kj + gmn[i] * col[i];
      }
    }
    gkey[j] = s + scale * kj;
  }
  return gbeta;
}

// (7) interpolation: w^g = g w^c + (1 - g) w_prev.
template <typename T>
void interpolate(const T* wc, const T* prev, T g, int64_t N, T* wg) {
  const T keep = T(1) - g;
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) wg[i] = g * wc[i] + keep * prev[i];
}

// (7) backward: from dL/dw^g in `grad`, which leaves holding dL/dw^c;
// dL/dw_prev into gprev; returns dL/dg.
template <typename T>
T interpolate_backward(const T* wc, const T* prev, T g, int64_t N, T* grad, T* gprev) {
  T gg = 0;
#pragma omp simd reduction(+ : gg)
  for (int64_t i = 0; i < N; ++i) {
    gg += grad[i] * (wc[i] - prev[i]);
    gprev[i] = (T(1) - g) * grad[i];
    grad[i] *= g;
  }
  return gg;
}

// (8) shift: w~(i) = s(+1) w^g(i-1) + s(0) w^g(i) + s(-1) w^g(i+1), s =
// {s(-1), s(0), s(+1)}, plus (9)'s eps, added here to save a pass.
template <typename T>
void shift(const T* wg, const T s[3], int64_t N, T* out) {
  rotate3(wg, s[2], s[1], s[0], T(SHARPEN_EPS), N, out);
}

// (8) backward: from gu = dL/dw~, dL/dw^g (the rotation's transpose) into
// gwg and dL/ds into gs[3].
template <typename T>
void shift_backward(const T* gu, const T* wg, const T s[3], int64_t N, T* gwg, T gs[3]) {
  rotated_dots(gu, wg, N, gs[2], gs[1], gs[0]);
  rotate3(gu, s[0], s[1], s[2], T(0), N, gwg);
}

// (9) sharpening in place: w = w~^gamma / sum_j w~(j)^gamma, w~ as shift
// leaves it (eps added). Each value is first divided by the largest, as in
// addressing.sharpen, and the power taken as exp(gamma log(.)): two cheap
// vector calls cost less than one pow.
template <typename T>
void sharpen(T* w, T gamma, int64_t N) {
  const T inv_most = T(1) / largest(w, N);
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) w[i] *= inv_most;
  log_(w, N);
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

// (9) backward: u comes holding w~ (shift's output, recomputed) and leaves
// holding dL/dw~, from gw = dL/dw and the sharpened w; returns dL/dgamma.
// The division by max w~ cancels in w, but not in the power's log.
// `scratch` holds N values.
template <typename T>
T sharpen_backward(const T* w, const T* gw, T gamma, int64_t N, T* u, T* scratch) {
  T dotw = 0;
#pragma omp simd reduction(+ : dotw)
  for (int64_t i = 0; i < N; ++i) dotw += gw[i] * w[i];
  T* log_u = scratch;
  const T inv_most = T(1) / largest(u, N);
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) log_u[i] = u[i] * inv_most;
  log_(log_u, N);
  T ggamma = 0;
#pragma omp simd reduction(+ : ggamma)
  for (int64_t i = 0; i < N; ++i) {
    const T d = w[i] * (gw[i] - dotw);  // dL/d(gamma log w~(i))
    ggamma += d * log_u[i];
    u[i] = gamma * d / u[i];
  }
  return ggamma;
}

// Figure 2 for one head: content (5)-(6), interpolation (7), shift (8),
// sharpening (9), from the memory's row norms and the head's previous
// weighting `prev`. K comes holding the key's dot product with each
// location (key_dots); K, w^c and w^g are kept for the backward pass; `w`
// is the head's new weighting.
template <typename T>
void address(const T* norms, const T* prev, const HeadParams<T>& p, int64_t N, int64_t M, T* K, T* wc, T* wg,
             T* w) {
  content_weights(norms, p.key, p.beta, N, M, K, wc);
  interpolate(wc, prev, p.g, N, wg);
  shift(wg, p.s, N, w);
  sharpen(w, p.gamma, N);
}

// address's backward, the same stages in reverse, from gw = dL/dw: the
// gradients of the head's raw outputs (into graw [M + EXTRA], clamp's mask
// applied), of the memory (added to gmem) and of the previous weighting
// (into gprev). A read head passes its read's gradient `gread` [M] (see
// content_weights_backward). `scratch` holds 2N values.
template <typename T>
void address_backward(const T* mem, const T* norms, const T* prev, const HeadParams<T>& p, int64_t N, int64_t M,
                      const T* K, const T* wc, const T* wg, const T* w, const T* gw, T* graw, T* gmem, T* gprev,
                      T* scratch, const T* gread = nullptr) {
  T* u = scratch;         // w~, then dL/dw~, then content_weights_backward's scratch
  T* grad = scratch + N;  // dL/dw^g, then dL/dw^c
  shift(wg, p.s, N, u);
  const T ggamma = sharpen_backward(w, gw, p.gamma, N, u, grad);
  T gs[3];
  shift_backward(u, wg, p.s, N, grad, gs);
  const T gg = interpolate_backward(wc, prev, p.g, N, grad, gprev);
  const T gbeta = content_weights_backward(mem, norms, p.key, p.beta, N, M, K, wc, grad, graw, gmem, u, w, gread);
  head_activations_backward(p, M, gbeta, gg, gs, ggamma, graw);
}

}  // namespace
