// The fused NTM: the reference machine (ntm/model/ntm.py, addressing.py)
// over a whole sequence in one call, with a hand-written backward pass; the
// Python side is ntm/model/fused.py. One translation unit; each part of the
// machine has its own header, forward beside backward:
//
//   simd.h        exp, log, tanh, sigmoid over short arrays; a 64-byte vector type
//   products.h    the dense products: the BLAS, or small_products.h's own
//   layout.h      sizes, the packed rows of a batch sorted by length, buffers
//   weights.h     the parameters in the order fused.py passes them
//   memory.h      read (2), write (3)-(4), dot products with every location
//   addressing.h  head activations, content (5)-(6), interpolation (7),
//                 shift (8), sharpening (9), and address, the whole of figure 2
//   heads.h       one sample's step of the heads: write heads, write, read heads, reads
//   controller.h  the LSTM or feedforward controller at one step
//   sequence.h    the forward over time and the backward through time
//   shares.h      the batch split across threads
//   this file     the Python bindings
//
// Equation numbers are those of Graves et al. 2014, as in addressing.py.

// ATen and torch's pybind casters only, not <torch/extension.h>: the whole
// C++ frontend would lengthen every build for nothing.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/utils/pybind.h>

#include <string>
#include <vector>

#include "layout.h"
#include "products.h"
#include "sequence.h"
#include "shares.h"
#include "small_products.h"
#include "weights.h"

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
                               [&] { parts[k] = forward_over_time<scalar_t>(d, s, x, mem0_t, wt, save); });
  });
  if (shares == 1) return parts[0];
  std::vector<at::Tensor> logits;
  for (const auto& part : parts) logits.push_back(part[0]);
  std::vector<at::Tensor> out = {at::cat(logits, 0)};
  for (const auto& part : parts) out.insert(out.end(), part.begin() + 1, part.end());
  return out;
}

// dL/dlogits [B, T, O] -> dL/d each parameter (in the order of weights.h), then dL/d the initial memory
// [N, M], then dL/dinputs if asked.
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
      parts[k] = backward_through_time<scalar_t>(d, s, g, mem0_t, share_saved, wt, input_grad);
    });
  });
  return combine_shares(parts, input_grad);
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
