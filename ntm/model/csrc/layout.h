// The sizes of one machine and one batch, and where each step's values live.
//
// Samples are sorted by length, longest first, so the samples still running
// at step t are rows 0..n_t-1 of the batch. Every per-step buffer is "packed"
// like a PackedSequence: step t's n_t rows start at off[t], so a batch costs
// the sum of its real lengths, never batch x longest. Under no_grad nothing
// is kept for the backward pass, and every per-step buffer has two slots
// instead, this step and the last.
//
// Memory is held transposed, [M, N] (location i of column j at j * N + i), so
// the loops over locations run along contiguous memory and vectorise; the
// reference's [N, M] only appears at the edges.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <numeric>
#include <vector>

namespace {

constexpr int64_t EXTRA = 6;       // beta, g, 3 shifts, gamma beside the key (addressing.ADDRESS_PARAMETERS_EXTRA)
constexpr int64_t MAX_HEADS = 64;  // read + write heads, checked in make_dims

// Sizes of one machine and one batch.
struct Dims {
  int64_t B, T, I, O, H, L, R, W, N, M;
  bool lstm;
  double clip;
  int64_t heads() const { return R + W; }
  int64_t per_head() const { return M + EXTRA; }
  int64_t P() const { return heads() * per_head() + 2 * W * M; }  // head projection width
  int64_t Z() const { return H + R * M; }                          // output layer input [h, reads]
  int64_t in(int64_t l) const { return l == 0 ? I + R * M : H; }   // controller layer input
  int64_t A(int64_t l) const { return in(l) + (lstm ? H : 0); }    // [x, h_prev] for LSTM
  int64_t gates() const { return lstm ? 4 * H : H; }
};

// Which samples run at which step: the sort, and the packed row offsets.
struct Schedule {
  std::vector<int64_t> perm;  // perm[b] = original sample of sorted row b
  std::vector<int64_t> n;     // n[t] = samples running at step t
  std::vector<int64_t> off;   // off[t] = first packed row of step t
  int64_t steps = 0, rows = 0;
};

Schedule make_schedule(const at::Tensor& lengths, int64_t T) {
  auto len = lengths.to(at::kLong).contiguous();
  const int64_t* l = len.data_ptr<int64_t>();
  Schedule s;
  const int64_t B = len.numel();
  s.perm.resize(B);
  std::iota(s.perm.begin(), s.perm.end(), 0);
  std::stable_sort(s.perm.begin(), s.perm.end(), [&](int64_t a, int64_t b) { return l[a] > l[b]; });
  s.steps = B ? std::min<int64_t>(T, l[s.perm[0]]) : 0;
  for (int64_t t = 0; t < s.steps; ++t) {
    int64_t count = 0;
    while (count < B && l[s.perm[count]] > t) ++count;
    s.off.push_back(s.rows);
    s.n.push_back(count);
    s.rows += count;
  }
  return s;
}

// Rows of step t in the packed (save) layout or the two-slot (no save) layout.
struct Rows {
  const Schedule& s;
  bool save;
  int64_t B;
  int64_t at(int64_t t) const { return save ? s.off[t] : (t & 1) * B; }
};

// Packed rows [rows, width] back to [B, T, width] in the samples' own
// order; padded steps stay zero.
template <typename T>
at::Tensor unpack_rows(const Schedule& s, const at::Tensor& packed, int64_t B, int64_t steps_T, int64_t width) {
  at::Tensor out = at::zeros({B, steps_T, width}, packed.options());
  T* o = out.data_ptr<T>();
  const T* p = packed.data_ptr<T>();
  for (int64_t t = 0; t < s.steps; ++t)
    for (int64_t b = 0; b < s.n[t]; ++b)
      std::copy(p + (s.off[t] + b) * width, p + (s.off[t] + b + 1) * width, o + (s.perm[b] * steps_T + t) * width);
  return out;
}

// [B, T, width] in the samples' own order -> packed rows [rows, width].
template <typename T>
at::Tensor pack_rows(const Schedule& s, const at::Tensor& unpacked, int64_t steps_T, int64_t width) {
  at::Tensor out = at::empty({s.rows, width}, unpacked.options());
  const T* u = unpacked.data_ptr<T>();
  T* p = out.data_ptr<T>();
  for (int64_t t = 0; t < s.steps; ++t)
    for (int64_t b = 0; b < s.n[t]; ++b)
      std::copy(u + (s.perm[b] * steps_T + t) * width, u + (s.perm[b] * steps_T + t + 1) * width,
                p + (s.off[t] + b) * width);
  return out;
}

// Each step's values, by row. A controller layer's output h is not stored
// apart: the top layer's lives in the output layer's input Z, a lower
// layer's at the front of the next layer's input.
template <typename T>
struct Buffers {
  std::vector<at::Tensor> A, G, C;  // per layer: [x, h_prev]; activated gates (LSTM); cell (LSTM)
  at::Tensor raw, K, wc, wg, w, mem, norms, Z;  // norms: of each step's memory rows
  T* h(const Dims& d, int64_t l, int64_t row) {
    if (l == d.L - 1) return Z.data_ptr<T>() + row * d.Z();
    return A[l + 1].data_ptr<T>() + row * d.A(l + 1);
  }
  void layer_done(const Dims&, int64_t, int64_t, int64_t) {}  // h is already where the next layer reads it
};

template <typename T>
Buffers<T> allocate(const Dims& d, int64_t rows, const at::TensorOptions& opt) {
  Buffers<T> b;
  for (int64_t l = 0; l < d.L; ++l) {
    b.A.push_back(at::zeros({rows, d.A(l)}, opt));
    b.G.push_back(d.lstm ? at::empty({rows, 4 * d.H}, opt) : at::empty({0}, opt));
    b.C.push_back(d.lstm ? at::empty({rows, d.H}, opt) : at::empty({0}, opt));
  }
  b.raw = at::empty({rows, d.P()}, opt);
  b.K = at::empty({rows, d.heads(), d.N}, opt);
  b.wc = at::empty({rows, d.heads(), d.N}, opt);
  b.wg = at::empty({rows, d.heads(), d.N}, opt);
  b.w = at::empty({rows, d.heads(), d.N}, opt);
  b.mem = at::empty({rows, d.M, d.N}, opt);  // transposed
  b.norms = at::empty({rows, d.N}, opt);
  b.Z = at::empty({rows, d.Z()}, opt);
  return b;
}

// What the forward pass keeps for the backward, in this order, and back.
template <typename T>
std::vector<at::Tensor> saved_of(const Buffers<T>& b) {
  std::vector<at::Tensor> saved = {b.raw, b.K, b.wc, b.wg, b.w, b.mem, b.Z, b.norms};
  for (size_t l = 0; l < b.A.size(); ++l) saved.insert(saved.end(), {b.A[l], b.G[l], b.C[l]});
  return saved;
}

int64_t saved_per_share(int64_t layers) { return 8 + 3 * layers; }  // saved_of's count

template <typename T>
Buffers<T> buffers_of(const std::vector<at::Tensor>& saved, int64_t layers) {
  Buffers<T> b;
  b.raw = saved[0], b.K = saved[1], b.wc = saved[2], b.wg = saved[3];
  b.w = saved[4], b.mem = saved[5], b.Z = saved[6], b.norms = saved[7];
  for (int64_t l = 0; l < layers; ++l) {
    b.A.push_back(saved[8 + 3 * l]);
    b.G.push_back(saved[9 + 3 * l]);
    b.C.push_back(saved[10 + 3 * l]);
  }
  return b;
}

}  // namespace
