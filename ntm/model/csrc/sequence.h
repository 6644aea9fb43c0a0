// The drivers over time: the whole machine (NTM.forward) over a sequence,
// step by step, and its backward pass through time, for one share of the
// batch (fused_ntm.cpp splits the batch across threads).
//
// Each step runs the controller on its rows (controller.h), the head
// projection, then the heads of every sample (heads.h), one sample at a
// time, spread across threads by at::parallel_for: each sample writes only
// its own rows, so results do not depend on the thread count. The output
// layer, which feeds nothing later, runs once over every step's rows where
// the forward saves for the backward, and its backward too.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "controller.h"
#include "heads.h"
#include "layout.h"
#include "memory.h"
#include "products.h"
#include "weights.h"

namespace {

// The row norms of the initial memory [M, N].
template <typename T>
at::Tensor initial_norms(const Dims& d, const at::Tensor& mem0) {
  at::Tensor norms = at::empty({d.N}, mem0.options());
  row_norms(mem0.data_ptr<T>(), d.N, d.M, norms.data_ptr<T>());
  return norms;
}

// Every head starts focused on location 0: [heads, N].
inline at::Tensor initial_weightings(const Dims& d, const at::TensorOptions& opt) {
  at::Tensor w0 = at::zeros({d.heads(), d.N}, opt);
  w0.select(1, 0).fill_(1);
  return w0;
}

// The first controller layer's input rows at step t: [x_t, reads_{t-1}],
// the reads before step 0 being every read head's read of location 0.
template <typename T>
void controller_input(const Dims& d, const Schedule& s, const T* x, const T* mem0, Buffers<T>& buf, int64_t t,
                      int64_t r, int64_t rp) {
  T* a0 = buf.A[0].template data_ptr<T>();
  const T* Z = buf.Z.template data_ptr<T>();
  for (int64_t b = 0; b < s.n[t]; ++b) {
    T* row = a0 + (r + b) * d.A(0);
    const T* xin = x + (s.perm[b] * d.T + t) * d.I;
    std::copy(xin, xin + d.I, row);
    if (t == 0)
      for (int64_t k = 0; k < d.R * d.M; ++k) row[d.I + k] = mem0[(k % d.M) * d.N];
    else
      std::copy(Z + (rp + b) * d.Z() + d.H, Z + (rp + b) * d.Z() + d.Z(), row + d.I);
  }
}

// inputs [B, T, I] (this share's samples), mem0 [M, N] -> {logits [B, T, O]}
// and, with save, saved_of's buffers for the backward pass; without, every
// per-step buffer holds two steps only.
template <typename T>
std::vector<at::Tensor> forward_over_time(const Dims& d, const Schedule& s, const at::Tensor& inputs,
                                          const at::Tensor& mem0, const Weights& wt, bool save) {
  const auto opt = inputs.options();
  const Rows rows{s, save, d.B};
  Buffers<T> buf = allocate<T>(d, save ? s.rows : 2 * d.B, opt);
  at::Tensor logits = at::empty({s.rows, d.O}, opt);
  const at::Tensor norms0 = initial_norms<T>(d, mem0), w0 = initial_weightings(d, opt);
  const at::Tensor ff_gates = at::empty({d.B, d.H}, opt);
  const int64_t N = d.N, M = d.M, NH = d.heads() * N, scratch = scratch_size<T>(d);
  const T *m0 = mem0.data_ptr<T>(), *n0 = norms0.data_ptr<T>(), *w0p = w0.data_ptr<T>();
  T *raw = buf.raw.template data_ptr<T>(), *mem = buf.mem.template data_ptr<T>(), *K = buf.K.template data_ptr<T>();
  T *wc = buf.wc.template data_ptr<T>(), *wg = buf.wg.template data_ptr<T>(), *w = buf.w.template data_ptr<T>();
  T *Z = buf.Z.template data_ptr<T>(), *norms = buf.norms.template data_ptr<T>();

  for (int64_t t = 0; t < s.steps; ++t) {
    const int64_t n = s.n[t], r = rows.at(t), rp = t > 0 ? rows.at(t - 1) : -1;
    controller_input(d, s, inputs.data_ptr<T>(), m0, buf, t, r, rp);
    controller_forward(d, buf, wt, n, r, rp, ff_gates.data_ptr<T>());
    linear(n, Z + r * d.Z(), d.Z(), wt.steps.Wp, wt.bp.template data_ptr<T>(), raw + r * d.P(), d.P());
    at::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
      std::vector<T> work(scratch);
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t row = r + b;
        heads_step(d, raw + row * d.P(), t > 0 ? mem + (rp + b) * N * M : m0, t > 0 ? norms + (rp + b) * N : n0,
                   t > 0 ? w + (rp + b) * NH : w0p, mem + row * N * M, norms + row * N, K + row * NH, wc + row * NH,
                   wg + row * NH, w + row * NH, Z + row * d.Z() + d.H, work.data());
      }
    });
    if (!save)
      linear(n, Z + r * d.Z(), d.Z(), wt.steps.Wo, wt.bo.template data_ptr<T>(),
             logits.template data_ptr<T>() + s.off[t] * d.O, d.O);
  }
  if (save) linear(s.rows, Z, d.Z(), wt.steps.Wo, wt.bo.template data_ptr<T>(), logits.template data_ptr<T>(), d.O);

  at::Tensor out = unpack_rows<T>(s, logits, d.B, d.T, d.O);
  if (!save) return {out};
  std::vector<at::Tensor> result = {out};
  for (const at::Tensor& kept : saved_of(buf)) result.push_back(kept);
  return result;
}

// The weight gradients of every step at once, in the order of weights.h,
// then of the initial memory [N, M].
template <typename T>
std::vector<at::Tensor> weight_gradients(const Dims& d, const Buffers<T>& buf, ControllerGradients<T>& cg,
                                         const at::Tensor& graw, const at::Tensor& gmem, const at::Tensor& greads,
                                         at::Tensor gWo, at::Tensor gbo) {
  std::vector<at::Tensor> grads = controller_weight_gradients(d, buf, cg);
  grads.push_back(product_tn<T>(graw, buf.Z.narrow(1, 0, d.H)));
  grads.push_back(graw.sum(0));
  grads.push_back(gWo);
  grads.push_back(gbo);
  // The initial memory: its gradient from every sample's first write and
  // reads, and from the reads of location 0 before step 0.
  at::Tensor gmem0 = gmem.sum(0).view({d.M, d.N});
  at::Tensor greads0 = greads.sum(0).view({d.R, d.M}).sum(0);
  gmem0.select(1, 0).add_(greads0);
  grads.push_back(gmem0.t().contiguous());
  return grads;
}

// grad_out [B, T, O] (this share's samples) -> weights.h's gradients, the
// initial memory's [N, M], then the inputs' [B, T, I] if asked.
template <typename T>
std::vector<at::Tensor> backward_through_time(const Dims& d, const Schedule& s, const at::Tensor& grad_out,
                                              const at::Tensor& mem0, const std::vector<at::Tensor>& saved,
                                              const Weights& wt, bool input_grad) {
  const auto opt = grad_out.options();
  Buffers<T> buf = buffers_of<T>(saved, d.L);
  const int64_t N = d.N, M = d.M, NH = d.heads() * N, RM = d.R * d.M, H = d.H, scratch = scratch_size<T>(d);

  // The output layer for every step at once.
  const at::Tensor glog = pack_rows<T>(s, grad_out, d.T, d.O);
  const at::Tensor gZ = at::mm(glog, wt.Wo);  // [rows, H + RM]
  at::Tensor gWo = product_tn<T>(glog, buf.Z), gbo = glog.sum(0);

  // Gradients carried from step t+1 to step t, one row per (sorted) sample:
  // dL/d memory of this step and of the step before (swapped each step),
  // the weightings and the reads.
  at::Tensor gmem = at::zeros({d.B, N, M}, opt), gmem_prev = at::zeros({d.B, N, M}, opt);
  at::Tensor gw = at::zeros({d.B, d.heads(), N}, opt);
  at::Tensor greads = at::zeros({d.B, RM}, opt);
  ControllerGradients<T> cg(d, s.rows, opt);
  at::Tensor graw = at::empty({s.rows, d.P()}, opt);
  const at::Tensor norms0 = initial_norms<T>(d, mem0), w0 = initial_weightings(d, opt);
  at::Tensor gtop = at::empty({d.B, H}, opt);
  const T *m0 = mem0.data_ptr<T>(), *n0 = norms0.data_ptr<T>(), *w0p = w0.data_ptr<T>(), *gz = gZ.data_ptr<T>();
  const T *raw = buf.raw.template data_ptr<T>(), *mem = buf.mem.template data_ptr<T>();
  const T *norms = buf.norms.template data_ptr<T>(), *K = buf.K.template data_ptr<T>();
  const T *wc = buf.wc.template data_ptr<T>(), *wg = buf.wg.template data_ptr<T>(), *w = buf.w.template data_ptr<T>();
  T *gr = greads.data_ptr<T>(), *graw_p = graw.data_ptr<T>(), *gwp = gw.data_ptr<T>();

  for (int64_t t = s.steps - 1; t >= 0; --t) {
    const int64_t n = s.n[t], r = s.off[t], rp = t > 0 ? s.off[t - 1] : -1;
    T *gm = gmem.data_ptr<T>(), *gmp = gmem_prev.data_ptr<T>();
    at::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
      std::vector<T> work(scratch);
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t row = r + b;
        T* g = gr + b * RM;  // dL/d reads: the output layer's plus the next step's controller input's
        for (int64_t k = 0; k < RM; ++k) g[k] += gz[row * d.Z() + H + k];
        heads_step_backward(d, raw + row * d.P(), t > 0 ? mem + (rp + b) * N * M : m0,
                            t > 0 ? norms + (rp + b) * N : n0, t > 0 ? w + (rp + b) * NH : w0p, mem + row * N * M,
                            norms + row * N, K + row * NH, wc + row * NH, wg + row * NH, w + row * NH, g,
                            graw_p + row * d.P(), gm + b * N * M, gmp + b * N * M, gwp + b * NH, work.data());
      }
    });
    std::swap(gmem, gmem_prev);
    // dL/dh of the top layer: the output layer's plus the head projection's.
    T* ghl = gtop.data_ptr<T>();
    for (int64_t b = 0; b < n; ++b) std::copy(gz + (r + b) * d.Z(), gz + (r + b) * d.Z() + H, ghl + b * H);
    multiply(n, graw_p + r * d.P(), d.P(), wt.steps.Wp, true, ghl, H);
    controller_backward(d, buf, wt, n, r, rp, ghl, cg, gr);
  }

  std::vector<at::Tensor> grads = weight_gradients(d, buf, cg, graw, gmem, greads, gWo, gbo);
  if (input_grad) {
    at::Tensor gx = at::mm(cg.dG[0], wt.Wcat[0].narrow(1, 0, d.I));
    grads.push_back(unpack_rows<T>(s, gx.contiguous(), d.B, d.T, d.I));
  }
  return grads;
}

}  // namespace
