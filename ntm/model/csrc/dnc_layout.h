// The DNC's sizes, where each field of the interface vector xi_t lies, and
// each step's buffers, for the fused DNC (fused_dnc.cpp). Rows are packed
// as the NTM's (layout.h: samples sorted by length, step t's n_t rows from
// off[t]); memory is held transposed, [W, N], so loops over locations run
// along contiguous memory.
#pragma once

#include <ATen/ATen.h>

#include <vector>

namespace {

constexpr int64_t MAX_READ_HEADS = 32;  // checked in make_dnc_dims

// Sizes of one DNC and one batch. The member names the controller
// (controller.h) reads are the NTM's: R read heads, M the memory width.
struct DncDims {
  int64_t B, T, I, O, H, L, R, N, M;
  bool lstm = true;  // the DNC's controller is an LSTM
  bool masked, wipe, sharpened;  // Csordás & Schmidhuber's changes (dnc.py, DNCOptions)
  double clip;
  int64_t in(int64_t l) const { return l == 0 ? I + R * M : H; }  // controller layer input
  int64_t A(int64_t l) const { return in(l) + H; }                 // [input, h_prev]
  int64_t gates() const { return 4 * H; }
  int64_t hidden() const { return L * H; }           // [h^1_t; ...; h^L_t], what xi_t and y_t read
  int64_t Z() const { return hidden() + R * M; }     // the output layer's input [hidden, reads]
  int64_t state() const { return N * N + 3 * N + R * N; }  // link, usage, write weighting, precedence, read weightings
};

// Where each field of xi_t starts (dnc.interface_layout's order); -1 where
// an option is off.
struct Fields {
  int64_t read_keys, read_strengths, write_key, write_strength, erase, write_vector, free_gates, allocation_gate,
      write_gate, read_modes, read_masks = -1, write_mask = -1, forward_sharpness = -1, backward_sharpness = -1,
      size;
  explicit Fields(const DncDims& d) {
    int64_t at = 0;
    const auto take = [&](int64_t count) { return (at += count) - count; };
    read_keys = take(d.R * d.M), read_strengths = take(d.R), write_key = take(d.M), write_strength = take(1);
    erase = take(d.M), write_vector = take(d.M), free_gates = take(d.R), allocation_gate = take(1);
    write_gate = take(1), read_modes = take(3 * d.R);
    if (d.masked) read_masks = take(d.R * d.M), write_mask = take(d.M);
    if (d.sharpened) forward_sharpness = take(d.R), backward_sharpness = take(d.R);
    size = at;
  }
};

// Each step's values, by row. The controller's h of every layer lives in Z
// (xi_t and y_t read them all); a lower layer's is also copied to the front
// of the next layer's input, where that layer's product reads it.
template <typename T>
struct DncBuffers {
  std::vector<at::Tensor> A, G, C;  // per layer: [input, h_prev]; activated gates; cell
  at::Tensor raw;                    // xi_t before the clamp [rows, X]
  at::Tensor Z;                      // [rows, L H + R W]
  at::Tensor mem;                    // M_t [rows, W, N] (transposed)
  at::Tensor kept;                   // what access_step works out on the way, for the backward [rows, Work::kept_size]
  // Per step (two slots without save) [n_t, state()]: L_t [N, N], u_t, w^w_t,
  // p_t [N], w^r_t [R, N]. One tensor per step, each a few MB: a single one
  // for the whole sequence would pass glibc's 32 MB mmap threshold and
  // fault its pages in afresh every call (heap.py).
  std::vector<at::Tensor> states;
  T* state(const DncDims& d, int64_t slot, int64_t b) { return states[slot].data_ptr<T>() + b * d.state(); }
  T* h(const DncDims& d, int64_t l, int64_t row) { return Z.data_ptr<T>() + row * d.Z() + l * d.H; }
  void layer_done(const DncDims& d, int64_t l, int64_t n, int64_t r) {
    if (l == d.L - 1) return;
    T* next = A[l + 1].data_ptr<T>();
    for (int64_t b = 0; b < n; ++b) std::copy(h(d, l, r + b), h(d, l, r + b) + d.H, next + (r + b) * d.A(l + 1));
  }
};

template <typename T>
DncBuffers<T> allocate_dnc(const DncDims& d, int64_t X, int64_t rows, const std::vector<int64_t>& slots,
                           int64_t kept_rows, int64_t kept_size, const at::TensorOptions& opt) {
  DncBuffers<T> b;
  for (int64_t l = 0; l < d.L; ++l) {
    b.A.push_back(at::zeros({rows, d.A(l)}, opt));
    b.G.push_back(at::empty({rows, 4 * d.H}, opt));
    b.C.push_back(at::empty({rows, d.H}, opt));
  }
  b.raw = at::empty({rows, X}, opt);
  b.Z = at::empty({rows, d.Z()}, opt);
  b.mem = at::empty({rows, d.M, d.N}, opt);
  b.kept = at::empty({kept_rows, kept_size}, opt);
  for (int64_t n : slots) b.states.push_back(at::empty({n, d.state()}, opt));
  return b;
}

// What the forward pass keeps for the backward, in this order (the
// states last, one per step), and back.
template <typename T>
std::vector<at::Tensor> dnc_saved_of(const DncBuffers<T>& b) {
  std::vector<at::Tensor> saved = {b.raw, b.Z, b.mem, b.kept};
  for (size_t l = 0; l < b.A.size(); ++l) saved.insert(saved.end(), {b.A[l], b.G[l], b.C[l]});
  saved.insert(saved.end(), b.states.begin(), b.states.end());
  return saved;
}

template <typename T>
DncBuffers<T> dnc_buffers_of(const std::vector<at::Tensor>& saved, int64_t layers) {
  DncBuffers<T> b;
  b.raw = saved[0], b.Z = saved[1], b.mem = saved[2], b.kept = saved[3];
  for (int64_t l = 0; l < layers; ++l) {
    b.A.push_back(saved[4 + 3 * l]);
    b.G.push_back(saved[5 + 3 * l]);
    b.C.push_back(saved[6 + 3 * l]);
  }
  b.states.assign(saved.begin() + 4 + 3 * layers, saved.end());
  return b;
}

// One step's state of one sample, as pointers into DncBuffers::state's row
// (or the zero state before step 0).
template <typename T>
struct StateOf {
  T *link, *usage, *write, *precedence, *read;
  StateOf(const DncDims& d, T* row)
      : link(row), usage(row + d.N * d.N), write(usage + d.N), precedence(write + d.N), read(precedence + d.N) {}
};

}  // namespace
