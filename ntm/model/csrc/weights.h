// The parameters as fused.py passes them, by name in this order:
//   per controller layer, LSTM: weight_ih, weight_hh, bias_ih, bias_hh;
//                     feedforward: weight, bias;
//   then head_parameters.weight, head_parameters.bias, output.weight, output.bias.
// fused.py checks each one's name and shape; make_dims checks the count and
// the sizes they imply.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "layout.h"
#include "products.h"

namespace {

struct Weights {
  std::vector<at::Tensor> Wcat, bias;  // per layer: [W_ih | W_hh] and b_ih + b_hh (LSTM), or W and b
  at::Tensor Wp, bp, Wo, bo;           // head projection, output layer
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
  TORCH_CHECK(params.size() == size_t(layers * (lstm ? 4 : 2) + 4), "fused NTM: unexpected parameter count");
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
  return d;
}

}  // namespace
