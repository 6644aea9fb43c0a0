// The heads of one sample at one step, what NTM.step does after the
// controller: the write heads address the memory before this step's write
// (5)-(9), the write (3)-(4), then the read heads address the written memory
// and read it (2). Forward and backward side by side; addressing.h and
// memory.h hold the parts.
#pragma once

#include <algorithm>

#include "addressing.h"
#include "layout.h"
#include "memory.h"

namespace {

// Working space of one thread for heads_step and heads_step_backward.
template <typename T>
int64_t scratch_size(const Dims& d) {
  const int64_t activations = d.heads() * d.per_head() + 4 * d.W * d.M;  // clamped, erase and add, their gradients
  const int64_t weightings = std::max<int64_t>(d.R, 1) * d.N;            // dL/dw of the read heads
  return activations + weightings + (3 * d.W + 2) * d.N + 2 * d.N;       // write_backward's, address_backward's
}

// One step. In: raw [P], the controller's head projection; the memory
// before this step's write with its row norms (kept from the step before)
// and the previous weightings w_prev [heads, N] (read heads first). Out: the
// memory after the write with its row norms, the new weightings w and what
// the backward pass keeps of addressing (K, wc, wg, each [heads, N]), and
// the reads [R, M].
template <typename T>
void heads_step(const Dims& d, const T* raw, const T* mem_prev, const T* norms_prev, const T* w_prev, T* mem,
                T* norms, T* K, T* wc, T* wg, T* w, T* reads, T* scratch) {
  const int64_t N = d.N, M = d.M, R = d.R, W = d.W;
  T* clamped = scratch;                        // (M + EXTRA) per head
  T* ea = clamped + d.heads() * d.per_head();  // erase and add of each write head
  HeadParams<T> hp[MAX_HEADS];
  head_activations(d, raw, clamped, hp, ea);
  key_dots(mem_prev, N, M, hp + R, W, K + R * N);
  for (int64_t h = R; h < d.heads(); ++h)
    address(norms_prev, w_prev + h * N, hp[h], N, M, K + h * N, wc + h * N, wg + h * N, w + h * N);
  write(mem_prev, w + R * N, ea, N, M, W, mem, norms);
  key_dots(mem, N, M, hp, R, K);
  for (int64_t h = 0; h < R; ++h)
    address(norms, w_prev + h * N, hp[h], N, M, K + h * N, wc + h * N, wg + h * N, w + h * N);
  read(mem, N, M, w, R, reads);
}

// heads_step's backward, in reverse: reads and read heads, the write, the
// write heads. In: gr (dL/d reads), gmem (dL/d this step's memory, from
// later steps; the read heads' shares are added to it), gw (dL/d this
// step's weightings, from later steps). Out: graw [P], gmem_prev (dL/d the
// previous memory, overwritten), and gw turned into dL/d the previous
// weightings.
template <typename T>
void heads_step_backward(const Dims& d, const T* raw, const T* mem_prev, const T* norms_prev, const T* w_prev,
                         const T* mem, const T* norms, const T* K, const T* wc, const T* wg, const T* w, const T* gr,
                         T* graw, T* gmem, T* gmem_prev, T* gw, T* scratch) {
  const int64_t N = d.N, M = d.M, R = d.R, W = d.W, ph = d.per_head();
  T* clamped = scratch;
  T* ea = clamped + d.heads() * ph;
  T* gea = ea + 2 * W * M;                              // dL/d erase and add
  T* gread_w = gea + 2 * W * M;                         // [max(R, 1), N] dL/d each read head's weighting
  T* gtotal = gread_w;                                  // [N] dL/d a write head's weighting
  T* write_scratch = gread_w + std::max<int64_t>(R, 1) * N;  // (3W + 2) N
  T* addr = write_scratch + (3 * W + 2) * N;            // 2N
  HeadParams<T> hp[MAX_HEADS];
  head_activations(d, raw, clamped, hp, ea);
  // Reads and read heads, which saw this step's write. The reads' gradient
  // of the weightings is needed before address_backward starts; that of the
  // memory is added in its pass.
  const T* greads[MAX_HEADS];
  for (int64_t h = 0; h < R; ++h) greads[h] = gr + h * M;
  read_backward(mem, N, M, greads, R, gread_w);
  for (int64_t h = 0; h < R; ++h) {
    T* g = gread_w + h * N;
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) g[i] += gw[h * N + i];
    address_backward(mem, norms, w_prev + h * N, hp[h], N, M, K + h * N, wc + h * N, wg + h * N, w + h * N, g,
                     graw + h * ph, gmem, gw + h * N, addr, greads[h]);
  }
  write_backward(gmem, mem_prev, w + R * N, ea, N, M, W, gmem_prev, gw + R * N, gea, write_scratch);
  erase_add_backward(d, raw, ea, gea, graw);
  // Write heads, which addressed the previous memory.
  for (int64_t h = R; h < d.heads(); ++h) {
    std::copy(gw + h * N, gw + (h + 1) * N, gtotal);
    address_backward(mem_prev, norms_prev, w_prev + h * N, hp[h], N, M, K + h * N, wc + h * N, wg + h * N,
                     w + h * N, gtotal, graw + h * ph, gmem_prev, gw + h * N, addr);
  }
}

}  // namespace
