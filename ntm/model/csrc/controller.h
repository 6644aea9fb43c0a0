// The controller (ntm/model/controller.py) at one step, on the n rows of the
// samples still running: a stack of LSTM cells or of tanh layers, forward
// and backward. Each layer's product runs on all n rows at once
// (products.h); the cells' elementwise work row by row.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "layout.h"
#include "products.h"
#include "simd.h"
#include "weights.h"

namespace {

// torch.nn.LSTMCell (gates i, f, g, o) on the pre-activations in `gates`,
// for one row: writes the activated gates back, and c and h.
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

// lstm_cell's backward for n rows: from dL/dh (gh_above from the layer
// above or the heads and output, gh_next through h from the next step) and
// dL/dc from the next step in gc (overwritten with dL/dc_prev), the
// pre-activation gradients dg [n, 4H]. gates [n, 4H] are the activated
// gates, c [n, H] the cells, c_prev the step before's (null at the first
// step); tanh_c holds n H values.
template <typename T>
void lstm_cell_backward(int64_t n, int64_t H, const T* gates, const T* c, const T* c_prev, const T* gh_above,
                        const T* gh_next, T* gc, T* tanh_c, T* dg) {
  std::copy(c, c + n * H, tanh_c);
  tanh_(tanh_c, n * H);
  for (int64_t b = 0; b < n; ++b) {
    const T* gt = gates + b * 4 * H;
    T* out = dg + b * 4 * H;
    for (int64_t k = 0; k < H; ++k) {
      const T i = gt[k], f = gt[H + k], g = gt[2 * H + k], o = gt[3 * H + k];
      const T cp = c_prev ? c_prev[b * H + k] : T(0);
      const T tc = tanh_c[b * H + k];
      const T dh = gh_above[b * H + k] + gh_next[b * H + k];
      const T dc = gc[b * H + k] + dh * o * (T(1) - tc * tc);
      out[k] = dc * g * i * (T(1) - i);
      out[H + k] = dc * cp * f * (T(1) - f);
      out[2 * H + k] = dc * i * (T(1) - g * g);
      out[3 * H + k] = dh * tc * o * (T(1) - o);
      gc[b * H + k] = dc * f;
    }
  }
}

// One step of the controller on the n rows at r, whose first layer's input
// rows already hold [x_t, reads_{t-1}]; rp is the step before's first row,
// -1 at the first step. Each layer's h goes where Buffers::h says.
// ff_gates [n, H] holds a feedforward layer's pre-activations.
template <typename T, typename D, typename Buf>
void controller_forward(const D& d, Buf& buf, const Weights& wt, int64_t n, int64_t r, int64_t rp, T* ff_gates) {
  for (int64_t l = 0; l < d.L; ++l) {
    T* al = buf.A[l].template data_ptr<T>();
    const T* a = al + r * d.A(l);
    const T* bl = wt.bias[l].template data_ptr<T>();
    if (!d.lstm) {
      linear(n, a, d.A(l), wt.steps.Wcat[l], bl, ff_gates, d.H);
      for (int64_t b = 0; b < n; ++b) {
        T* h = buf.h(d, l, r + b);
        std::copy(ff_gates + b * d.H, ff_gates + (b + 1) * d.H, h);
        tanh_(h, d.H);
      }
      buf.layer_done(d, l, n, r);
      continue;
    }
    for (int64_t b = 0; b < n; ++b) {  // the input's h_prev part
      T* h_prev = al + (r + b) * d.A(l) + d.in(l);
      if (rp < 0)
        std::fill(h_prev, h_prev + d.H, T(0));
      else
        std::copy(buf.h(d, l, rp + b), buf.h(d, l, rp + b) + d.H, h_prev);
    }
    T* gp = buf.G[l].template data_ptr<T>() + r * 4 * d.H;
    linear(n, a, d.A(l), wt.steps.Wcat[l], bl, gp, 4 * d.H);
    T* cl = buf.C[l].template data_ptr<T>();
    at::parallel_for(0, n, 8, [&](int64_t lo, int64_t hi) {
      for (int64_t b = lo; b < hi; ++b)
        lstm_cell(gp + b * 4 * d.H, rp >= 0 ? cl + (rp + b) * d.H : nullptr, cl + (r + b) * d.H, buf.h(d, l, r + b),
                  d.H);
    });
    buf.layer_done(d, l, n, r);
  }
}

// What the controller's backward carries from step t+1 to step t, one row
// per (sorted) sample, and what it keeps for the weight gradients.
template <typename T>
struct ControllerGradients {
  std::vector<at::Tensor> gh, gc;  // per layer [B, H]: dL/dh and dL/dc through the recurrence (LSTM)
  std::vector<at::Tensor> dG;      // per layer [rows, gates]: dL/d pre-activations of every step
  std::vector<T> tanh_cell, grad_a;

  template <typename D>
  ControllerGradients(const D& d, int64_t rows, const at::TensorOptions& opt)
      : tanh_cell(d.B * d.H), grad_a(d.B * std::max(d.A(0), d.A(d.L - 1))) {
    for (int64_t l = 0; l < d.L; ++l) {
      gh.push_back(at::zeros({d.B, d.H}, opt));
      gc.push_back(at::zeros({d.B, d.H}, opt));
      dG.push_back(at::empty({rows, d.gates()}, opt));
    }
  }
};

// controller_forward's backward at one step: from dL/dh of the top layer
// (ghl [n, H], then used for each layer below), the pre-activation
// gradients of every layer into cg.dG, the recurrence's into cg.gh and cg.gc,
// and dL/d the reads of the step before into greads [n, R M]. A machine that
// reads every layer's h (the DNC) passes their gradients from outside the
// stack in gh_outside [n, ld_outside], layer l's at column l H.
template <typename T, typename D, typename Buf>
void controller_backward(const D& d, Buf& buf, const Weights& wt, int64_t n, int64_t r, int64_t rp, T* ghl,
                         ControllerGradients<T>& cg, T* greads, const T* gh_outside = nullptr,
                         int64_t ld_outside = 0) {
  const int64_t H = d.H;
  for (int64_t l = d.L - 1; l >= 0; --l) {
    T* dg = cg.dG[l].template data_ptr<T>() + r * d.gates();
    if (d.lstm) {
      const T* c = buf.C[l].template data_ptr<T>();
      lstm_cell_backward(n, H, buf.G[l].template data_ptr<T>() + r * 4 * H, c + r * H, rp >= 0 ? c + rp * H : nullptr,
                         ghl, cg.gh[l].template data_ptr<T>(), cg.gc[l].template data_ptr<T>(), cg.tanh_cell.data(),
                         dg);
    } else {
      for (int64_t b = 0; b < n; ++b) {
        const T* h = buf.h(d, l, r + b);
        for (int64_t k = 0; k < H; ++k) dg[b * H + k] = ghl[b * H + k] * (T(1) - h[k] * h[k]);  // tanh'
      }
    }
    T* ga = cg.grad_a.data();  // [n, A(l)]: dL/d the layer's input
    multiply(n, dg, d.gates(), wt.steps.Wcat[l], false, ga, d.A(l));
    if (d.lstm) {
      T* gh_next = cg.gh[l].template data_ptr<T>();
      for (int64_t b = 0; b < n; ++b) std::copy(ga + b * d.A(l) + d.in(l), ga + (b + 1) * d.A(l), gh_next + b * H);
    }
    if (l > 0) {
      for (int64_t b = 0; b < n; ++b) std::copy(ga + b * d.A(l), ga + b * d.A(l) + H, ghl + b * H);
      if (gh_outside != nullptr)
        for (int64_t b = 0; b < n; ++b)
          for (int64_t k = 0; k < H; ++k) ghl[b * H + k] += gh_outside[b * ld_outside + (l - 1) * H + k];
    } else {
      const int64_t RM = d.R * d.M;
      for (int64_t b = 0; b < n; ++b) std::copy(ga + b * d.A(0) + d.I, ga + b * d.A(0) + d.I + RM, greads + b * RM);
    }
  }
}

// Every layer's weight gradients from every step's at once, in the order
// the parameters come: LSTM weight_ih, weight_hh, bias_ih, bias_hh (the two
// biases share one gradient); feedforward weight, bias.
template <typename T, typename D, typename Buf>
std::vector<at::Tensor> controller_weight_gradients(const D& d, const Buf& buf, const ControllerGradients<T>& cg) {
  std::vector<at::Tensor> grads;
  for (int64_t l = 0; l < d.L; ++l) {
    at::Tensor gW = product_tn<T>(cg.dG[l], buf.A[l]);
    at::Tensor gb = cg.dG[l].sum(0);
    if (d.lstm) {
      grads.push_back(gW.narrow(1, 0, d.in(l)).contiguous());
      grads.push_back(gW.narrow(1, d.in(l), d.H).contiguous());
      grads.push_back(gb);
      grads.push_back(gb.clone());
    } else {
      grads.push_back(gW);
      grads.push_back(gb);
    }
  }
  return grads;
}

}  // namespace
