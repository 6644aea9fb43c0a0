// The fused DNC: the reference machine (ntm/model/dnc.py, dnc_memory.py)
// over a whole sequence in one call, with a hand-written backward pass; the
// Python side is ntm/model/fused_dnc.py. It shares the NTM's controller,
// products and batch split:
//
//   dnc_layout.h  sizes, where each field of the interface lies, buffers
//   dnc_equations.h  activations, content lookup, sharpening, allocation
//   dnc_access.h  one sample's step of memory access, forward and backward
//   controller.h  the LSTM controller at one step (the NTM's)
//   products.h    the dense products (the NTM's)
//   shares.h      the batch split across threads (the NTM's)
//   this file     the drivers over time and the Python bindings
//
// Each step runs the controller on its rows, the interface projection, then
// each sample's access (in parallel: a sample writes only its own rows).
// The backward recomputes each step's access from the state before it, so
// only the states are kept: M_t, L_t, u_t, w^w_t, p_t and w^r_t per row.

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <torch/csrc/utils/pybind.h>

#include <vector>

#include "controller.h"
#include "dnc_access.h"
#include "dnc_layout.h"
#include "layout.h"
#include "products.h"
#include "shares.h"
#include "weights.h"

namespace {

// The parameters as fused_dnc.py passes them: per layer weight_ih,
// weight_hh, bias_ih, bias_hh; then interface.weight, interface.bias,
// output.weight, output.bias.
Weights gather_dnc_weights(const DncDims& d, const std::vector<at::Tensor>& params, bool for_forward) {
  Weights w;
  for (int64_t l = 0; l < d.L; ++l) {
    const auto* p = &params[l * 4];
    w.Wcat.push_back(at::cat({p[0], p[1]}, 1).contiguous());
    w.bias.push_back(p[2] + p[3]);
  }
  const int64_t k = d.L * 4;
  w.Wp = params[k].contiguous(), w.bp = params[k + 1].contiguous();
  w.Wo = params[k + 2].contiguous(), w.bo = params[k + 3].contiguous();
  const auto as_operand = [&](const at::Tensor& W) { return operand(for_forward ? W.t() : W); };
  for (const auto& Wl : w.Wcat) w.steps.Wcat.push_back(as_operand(Wl));
  w.steps.Wp = as_operand(w.Wp);
  if (for_forward) w.steps.Wo = as_operand(w.Wo);
  return w;
}

DncDims make_dnc_dims(const at::Tensor& inputs, const std::vector<at::Tensor>& params, int64_t layers, int64_t R,
                      int64_t N, int64_t M, bool masked, bool wipe, bool sharpened, double clip) {
  TORCH_CHECK(params.size() == size_t(layers * 4 + 4), "fused DNC: unexpected parameter count");
  TORCH_CHECK(R >= 1 && R <= MAX_READ_HEADS, "fused DNC: 1 to ", MAX_READ_HEADS, " read heads");
  DncDims d;
  d.B = inputs.size(0), d.T = inputs.size(1), d.I = inputs.size(2);
  d.L = layers, d.R = R, d.N = N, d.M = M;
  d.masked = masked, d.wipe = wipe, d.sharpened = sharpened, d.clip = clip;
  d.H = params[1].size(1);
  d.O = params.back().size(0);
  TORCH_CHECK(params[layers * 4].size(0) == Fields(d).size && params[layers * 4].size(1) == d.hidden(),
              "fused DNC: the interface weight has the wrong shape for these options");
  TORCH_CHECK(params[layers * 4 + 2].size(1) == d.Z(), "fused DNC: the output weight has the wrong shape");
  return d;
}

// The first layer's input rows at step t: [x_t, reads_{t-1}], the reads
// before step 0 zero.
template <typename T>
void dnc_controller_input(const DncDims& d, const Schedule& s, const T* x, DncBuffers<T>& buf, int64_t t, int64_t r,
                          int64_t rp) {
  T* a0 = buf.A[0].template data_ptr<T>();
  const T* Z = buf.Z.template data_ptr<T>();
  for (int64_t b = 0; b < s.n[t]; ++b) {
    T* row = a0 + (r + b) * d.A(0);
    const T* xin = x + (s.perm[b] * d.T + t) * d.I;
    std::copy(xin, xin + d.I, row);
    if (t == 0)
      std::fill(row + d.I, row + d.I + d.R * d.M, T(0));
    else
      std::copy(Z + (rp + b) * d.Z() + d.hidden(), Z + (rp + b) * d.Z() + d.Z(), row + d.I);
  }
}

// inputs [B, T, I] (this share's), mem0 [W, N] -> {logits [B, T, O]} and,
// with save, dnc_saved_of's buffers.
template <typename T>
std::vector<at::Tensor> dnc_forward_over_time(const DncDims& d, const Schedule& s, const at::Tensor& inputs,
                                              const at::Tensor& mem0, const Weights& wt, bool save) {
  const auto opt = inputs.options();
  const Fields fl(d);
  const Rows rows{s, save, d.B};
  DncBuffers<T> buf = allocate_dnc<T>(d, fl.size, save ? s.rows : 2 * d.B, save ? s.n : std::vector<int64_t>{d.B, d.B},
                                      save ? s.rows : 0, Work<T>::kept_size(d, fl), opt);
  T* kept = buf.kept.template data_ptr<T>();
  const int64_t K = Work<T>::kept_size(d, fl);
  at::Tensor logits = at::empty({s.rows, d.O}, opt);
  const at::Tensor zero_state = at::zeros({d.state()}, opt);
  const int64_t X = fl.size, NM = d.N * d.M;
  T *raw = buf.raw.template data_ptr<T>(), *mem = buf.mem.template data_ptr<T>(), *Z = buf.Z.template data_ptr<T>();
  const T *m0 = mem0.data_ptr<T>(), *z0 = zero_state.data_ptr<T>();
  const auto slot = [&](int64_t t) { return save ? t : t & 1; };
  for (int64_t t = 0; t < s.steps; ++t) {
    const int64_t n = s.n[t], r = rows.at(t), rp = t > 0 ? rows.at(t - 1) : -1;
    dnc_controller_input(d, s, inputs.data_ptr<T>(), buf, t, r, rp);
    controller_forward(d, buf, wt, n, r, rp, static_cast<T*>(nullptr));
    linear(n, Z + r * d.Z(), d.Z(), wt.steps.Wp, wt.bp.template data_ptr<T>(), raw + r * X, X);
    at::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
      Work<T> work(d, fl, false);
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t row = r + b;
        if (save) work.at(d, fl, kept + row * K);
        access_step(d, fl, raw + row * X, t > 0 ? mem + (rp + b) * NM : m0,
                    StateOf<const T>(d, t > 0 ? buf.state(d, slot(t - 1), b) : z0), mem + row * NM,
                    StateOf<T>(d, buf.state(d, slot(t), b)), Z + row * d.Z() + d.hidden(), work);
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
  for (const at::Tensor& kept : dnc_saved_of(buf)) result.push_back(kept);
  return result;
}

// grad_out [B, T, O] (this share's) -> the parameters' gradients in
// gather_dnc_weights' order, then the inputs' [B, T, I] if asked.
template <typename T>
std::vector<at::Tensor> dnc_backward_through_time(const DncDims& d, const Schedule& s, const at::Tensor& grad_out,
                                                  const at::Tensor& mem0, const std::vector<at::Tensor>& saved,
                                                  const Weights& wt, bool input_grad) {
  const auto opt = grad_out.options();
  const Fields fl(d);
  DncBuffers<T> buf = dnc_buffers_of<T>(saved, d.L);
  const int64_t X = fl.size, N = d.N, NM = N * d.M, S = d.state(), RM = d.R * d.M, LH = d.hidden();

  const at::Tensor glog = pack_rows<T>(s, grad_out, d.T, d.O);
  const at::Tensor gZ = at::mm(glog, wt.Wo);  // [rows, L H + R W]
  at::Tensor gWo = product_tn<T>(glog, buf.Z), gbo = glog.sum(0);

  // Carried from step t+1 to step t, one row per (sorted) sample.
  at::Tensor gmem = at::zeros({d.B, NM}, opt), gstate = at::zeros({d.B, S}, opt);
  at::Tensor greads = at::zeros({d.B, RM}, opt);
  ControllerGradients<T> cg(d, s.rows, opt);
  at::Tensor graw = at::empty({s.rows, X}, opt);
  at::Tensor ghidden = at::empty({d.B, LH}, opt), gtop = at::empty({d.B, d.H}, opt);
  const at::Tensor zero_state = at::zeros({S}, opt);
  const T *raw = buf.raw.template data_ptr<T>(), *mem = buf.mem.template data_ptr<T>(), *gz = gZ.data_ptr<T>();
  T* kept = buf.kept.template data_ptr<T>();
  const int64_t K = Work<T>::kept_size(d, fl);
  const T *m0 = mem0.data_ptr<T>(), *z0 = zero_state.data_ptr<T>();
  T *gr = greads.data_ptr<T>(), *graw_p = graw.data_ptr<T>(), *gm = gmem.data_ptr<T>(), *gs = gstate.data_ptr<T>();
  T *gh = ghidden.data_ptr<T>(), *gt = gtop.data_ptr<T>();

  for (int64_t t = s.steps - 1; t >= 0; --t) {
    const int64_t n = s.n[t], r = s.off[t], rp = t > 0 ? s.off[t - 1] : -1;
    at::parallel_for(0, n, 1, [&](int64_t lo, int64_t hi) {
      Work<T> work(d, fl, true);
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t row = r + b;
        T* g = gr + b * RM;  // dL/dreads_t: the next step's controller input's, plus the output layer's
        for (int64_t k = 0; k < RM; ++k) g[k] += gz[row * d.Z() + LH + k];
        StateOf<T> carried(d, gs + b * S);
        Carried<T> c{gm + b * NM, carried.link, carried.usage, carried.write, carried.precedence, carried.read};
        work.at(d, fl, kept + row * K);
        access_step_backward(d, fl, raw + row * X, t > 0 ? mem + (rp + b) * NM : m0,
                             StateOf<const T>(d, t > 0 ? buf.state(d, t - 1, b) : z0), mem + row * NM,
                             StateOf<const T>(d, buf.state(d, t, b)), g, c, graw_p + row * X, work);
      }
    });
    // dL/dh of every layer: the output layer's plus the interface's
    for (int64_t b = 0; b < n; ++b) std::copy(gz + (r + b) * d.Z(), gz + (r + b) * d.Z() + LH, gh + b * LH);
    multiply(n, graw_p + r * X, X, wt.steps.Wp, true, gh, LH);
    for (int64_t b = 0; b < n; ++b) std::copy(gh + b * LH + (d.L - 1) * d.H, gh + (b + 1) * LH, gt + b * d.H);
    controller_backward(d, buf, wt, n, r, rp, gt, cg, gr, gh, LH);
  }

  std::vector<at::Tensor> grads = controller_weight_gradients(d, buf, cg);
  grads.push_back(product_tn<T>(graw, buf.Z.narrow(1, 0, LH)));
  grads.push_back(graw.sum(0));
  grads.push_back(gWo);
  grads.push_back(gbo);
  if (input_grad) {
    at::Tensor gx = at::mm(cg.dG[0], wt.Wcat[0].narrow(1, 0, d.I));
    grads.push_back(unpack_rows<T>(s, gx.contiguous(), d.B, d.T, d.I));
  }
  return grads;
}

}  // namespace

// inputs [B, T, I], lengths [B], the initial memory [N, W] -> {logits [B, T, O]}
// and, with save, what backward needs (share by share).
std::vector<at::Tensor> dnc_forward(at::Tensor inputs, at::Tensor lengths, std::vector<at::Tensor> params,
                                    int64_t layers, int64_t R, int64_t N, int64_t M, bool masked, bool wipe,
                                    bool sharpened, double clip, at::Tensor mem0, bool save) {
  at::NoGradGuard no_grad;
  inputs = inputs.contiguous();
  TORCH_CHECK(mem0.size(0) == N && mem0.size(1) == M, "fused DNC: the initial memory must be [N, W]");
  const at::Tensor mem0_t = mem0.to(inputs.scalar_type()).t().contiguous();
  const DncDims whole = make_dnc_dims(inputs, params, layers, R, N, M, masked, wipe, sharpened, clip);
  const Weights wt = gather_dnc_weights(whole, params, true);
  const int64_t B = inputs.size(0), shares = shares_of(B);
  std::vector<std::vector<at::Tensor>> parts(shares);
  over_shares(share_starts(lengths, inputs.size(1), shares), [&](int64_t k, int64_t first, int64_t count) {
    const at::Tensor x = inputs.narrow(0, first, count);
    const DncDims d = make_dnc_dims(x, params, layers, R, N, M, masked, wipe, sharpened, clip);
    const Schedule s = make_schedule(lengths.narrow(0, first, count), d.T);
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "fused_dnc_forward",
                               [&] { parts[k] = dnc_forward_over_time<scalar_t>(d, s, x, mem0_t, wt, save); });
  });
  // {logits, each share's count of saved tensors [shares], the saved tensors share by share}
  std::vector<at::Tensor> logits;
  at::Tensor counts = at::empty({shares}, at::kLong);
  for (int64_t k = 0; k < shares; ++k) {
    logits.push_back(parts[k][0]);
    counts[k] = int64_t(parts[k].size()) - 1;
  }
  std::vector<at::Tensor> out = {shares == 1 ? logits[0] : at::cat(logits, 0), counts};
  if (!save) return {out[0]};
  for (const auto& part : parts) out.insert(out.end(), part.begin() + 1, part.end());
  return out;
}

// dL/dlogits [B, T, O] -> dL/d each parameter (in the order above), then dL/dinputs if asked.
std::vector<at::Tensor> dnc_backward(at::Tensor grad_out, at::Tensor inputs, at::Tensor lengths,
                                     std::vector<at::Tensor> params, std::vector<at::Tensor> saved, at::Tensor counts,
                                     int64_t layers,
                                     int64_t R, int64_t N, int64_t M, bool masked, bool wipe, bool sharpened,
                                     double clip, at::Tensor mem0, bool input_grad) {
  at::NoGradGuard no_grad;
  grad_out = grad_out.contiguous();
  const at::Tensor mem0_t = mem0.to(grad_out.scalar_type()).t().contiguous();
  const DncDims whole = make_dnc_dims(inputs, params, layers, R, N, M, masked, wipe, sharpened, clip);
  const Weights wt = gather_dnc_weights(whole, params, false);
  const int64_t shares = counts.numel();
  std::vector<int64_t> first_saved = {0};
  for (int64_t k = 0; k < shares; ++k) first_saved.push_back(first_saved.back() + counts[k].item<int64_t>());
  TORCH_CHECK(shares >= 1 && first_saved.back() == static_cast<int64_t>(saved.size()),
              "fused DNC: the saved tensors do not match their counts");
  std::vector<std::vector<at::Tensor>> parts(shares);
  over_shares(share_starts(lengths, inputs.size(1), shares), [&](int64_t k, int64_t first, int64_t count) {
    const at::Tensor x = inputs.narrow(0, first, count);
    const DncDims d = make_dnc_dims(x, params, layers, R, N, M, masked, wipe, sharpened, clip);
    const Schedule s = make_schedule(lengths.narrow(0, first, count), d.T);
    const std::vector<at::Tensor> share_saved(saved.begin() + first_saved[k], saved.begin() + first_saved[k + 1]);
    const at::Tensor g = grad_out.narrow(0, first, count);
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "fused_dnc_backward", [&] {
      parts[k] = dnc_backward_through_time<scalar_t>(d, s, g, mem0_t, share_saved, wt, input_grad);
    });
  });
  return combine_shares(parts, input_grad);
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &dnc_forward, "fused DNC forward over a whole sequence");
  m.def("backward", &dnc_backward, "fused DNC backward through time");
}
