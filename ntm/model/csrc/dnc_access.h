// The DNC's memory access for one sample at one step (ntm/model/dnc.py's
// `access`; Graves et al. 2016, Methods), forward beside backward, in the
// paper's order: retention, usage, allocation, the write weighting, the
// write, the temporal links and precedence, the forward and backward
// weightings, the read weightings and the reads. dnc_equations.h holds the
// longer parts. Memory is [W, N] (dnc_layout.h); weightings are [N] per head.
#pragma once

#include <algorithm>
#include <vector>

#include "dnc_equations.h"
#include "dnc_layout.h"

namespace {

// What one step computes on the way and its backward needs, as pointers
// into one row of the forward's kept buffer (or into own, when nothing is
// kept), and the backward's working space of one thread.
template <typename T>
struct Work {
  T *act, *psi, *prefix, *order_kept, *alloc, *cw, *Kw, *mnw, *fraw, *braw, *f, *b, *cr, *Kr, *mnr;
  std::vector<int64_t> order;  // phi_t as indices
  std::vector<T> own;
  // The backward's: gradients of the activations, of the step's
  // intermediates and of the previous read weightings.
  std::vector<T> gact, gpsi, galloc, gcw, gf, gb, gcr, gwr_prev, content_scratch;

  // Values kept per row: the activations, 7 per location, 7 per read head and location.
  static int64_t kept_size(const DncDims& d, const Fields& fields) { return fields.size + 7 * d.N + 7 * d.R * d.N; }

  Work(const DncDims& d, const Fields& fields, bool backward) : order(d.N) {
    if (!backward) {
      own.resize(kept_size(d, fields));
      at(d, fields, own.data());
      return;
    }
    gact.resize(fields.size);
    for (auto* v : {&gpsi, &galloc, &gcw, &content_scratch}) v->resize(d.N);
    for (auto* v : {&gf, &gb, &gcr, &gwr_prev}) v->resize(d.R * d.N);
  }

  void at(const DncDims& d, const Fields& fields, T* row) {
    const int64_t N = d.N, RN = d.R * d.N;
    act = row, psi = act + fields.size, prefix = psi + N, order_kept = prefix + N, alloc = order_kept + N;
    cw = alloc + N, Kw = cw + N, mnw = Kw + N, fraw = mnw + N, braw = fraw + RN, f = braw + RN, b = f + RN;
    cr = b + RN, Kr = cr + RN, mnr = Kr + RN;
  }
};

// One step of access (dnc.access): from xi_t's raw values, the memory
// before the step mem_prev [W, N] and the state before, the new memory, the
// new state and the reads [R, W]; w keeps what the backward needs.
template <typename T>
void access_step(const DncDims& d, const Fields& fl, const T* raw, const T* mem_prev, StateOf<const T> prev, T* mem,
                 StateOf<T> next, T* reads, Work<T>& w) {
  const int64_t N = d.N, M = d.M, R = d.R;
  T* a = w.act;
  activate(d, fl, raw, a);
  // psi_t = prod_i (1 - f^i w^{r,i}_{t-1}); u_t = (u + w^w - u o w^w) o psi_t
  T* psi = w.psi;
  std::fill(psi, psi + N, T(1));
  for (int64_t r = 0; r < R; ++r) {
    const T fr = a[fl.free_gates + r];
    const T* wp = prev.read + r * N;
    for (int64_t i = 0; i < N; ++i) psi[i] *= T(1) - fr * wp[i];
  }
  for (int64_t i = 0; i < N; ++i)
    next.usage[i] = (prev.usage[i] + prev.write[i] - prev.usage[i] * prev.write[i]) * psi[i];
  allocation(next.usage, N, w.order.data(), w.prefix, w.alloc);
  for (int64_t j = 0; j < N; ++j) w.order_kept[j] = T(w.order[j]);
  // w^w_t = g^w [g^a a_t + (1 - g^a) c^w_t], c^w on the memory before the write
  const T* mask_w = d.masked ? a + fl.write_mask : nullptr;
  content(mem_prev, N, M, a + fl.write_key, mask_w, a[fl.write_strength], w.Kw, w.mnw, w.cw);
  const T ga = a[fl.allocation_gate], gw = a[fl.write_gate];
  for (int64_t i = 0; i < N; ++i) next.write[i] = gw * (ga * w.alloc[i] + (T(1) - ga) * w.cw[i]);
  // M_t = M_{t-1} o (E - w^w e^T) [o psi 1^T, with the wipe] + w^w v^T
  const T *e = a + fl.erase, *v = a + fl.write_vector, *ww = next.write;
  for (int64_t j = 0; j < M; ++j) {
    const T* col = mem_prev + j * N;
    T* out = mem + j * N;
    if (d.wipe) {
#pragma omp simd
      for (int64_t i = 0; i < N; ++i) out[i] = col[i] * (T(1) - ww[i] * e[j]) * psi[i] + ww[i] * v[j];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < N; ++i) out[i] = col[i] * (T(1) - ww[i] * e[j]) + ww[i] * v[j];
    }
  }
  // L_t[i,j] = (1 - w^w[i] - w^w[j]) L_{t-1}[i,j] + w^w[i] p_{t-1}[j], L_t[i,i] = 0;
  // in the same pass f^r = L_t w^r_{t-1} and b^r = L_t^T w^r_{t-1}.
  // The row is written, and read by the first head, in one pass; the
  // diagonal is chosen in the loop, so the sums never hold its term.
  T *fraw = w.fraw, *braw = w.braw;
  std::fill(braw, braw + R * N, T(0));
  const T* p = prev.precedence;
  for (int64_t i = 0; i < N; ++i) {
    const T wi = ww[i];
    const T* lp = prev.link + i * N;
    T* l = next.link + i * N;
    const T* wp0 = prev.read;
    T* br0 = braw;
    const T wp0i = wp0[i];
    T f0 = 0;
#pragma omp simd reduction(+ : f0)
    for (int64_t j = 0; j < N; ++j) {
      const T lij = j == i ? T(0) : (T(1) - wi - ww[j]) * lp[j] + wi * p[j];
      l[j] = lij;
      f0 += lij * wp0[j];
      br0[j] += wp0i * lij;
    }
    fraw[i] = f0;
    for (int64_t r = 1; r < R; ++r) {
      const T* wp = prev.read + r * N;
      T* br = braw + r * N;
      const T wpi = wp[i];
      T fr = 0;
#pragma omp simd reduction(+ : fr)
      for (int64_t j = 0; j < N; ++j) {
        fr += l[j] * wp[j];
        br[j] += wpi * l[j];
      }
      fraw[r * N + i] = fr;
    }
  }
  // p_t = (1 - sum_i w^w[i]) p_{t-1} + w^w
  const T written = sum_of(ww, N);
  for (int64_t i = 0; i < N; ++i) next.precedence[i] = (T(1) - written) * prev.precedence[i] + ww[i];
  T *f = fraw, *b = braw;
  if (d.sharpened) {
    f = w.f, b = w.b;
    std::copy(fraw, fraw + R * N, f);
    std::copy(braw, braw + R * N, b);
    for (int64_t r = 0; r < R; ++r) {
      sharpen(f + r * N, N, a[fl.forward_sharpness + r]);
      sharpen(b + r * N, N, a[fl.backward_sharpness + r]);
    }
  }
  // c^r on the memory just written; w^r = pi[0] b + pi[1] c^r + pi[2] f; r = M_t^T w^r
  for (int64_t r = 0; r < R; ++r) {
    const T* mask_r = d.masked ? a + fl.read_masks + r * M : nullptr;
    T* cr = w.cr + r * N;
    content(mem, N, M, a + fl.read_keys + r * M, mask_r, a[fl.read_strengths + r], w.Kr + r * N,
            w.mnr + r * N, cr);
    const T* pi = a + fl.read_modes + 3 * r;
    T* wr = next.read + r * N;
    for (int64_t i = 0; i < N; ++i) wr[i] = pi[0] * b[r * N + i] + pi[1] * cr[i] + pi[2] * f[r * N + i];
    for (int64_t j = 0; j < M; ++j) {
      const T* col = mem + j * N;
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < N; ++i) sum += col[i] * wr[i];
      reads[r * M + j] = sum;
    }
  }
}

// The gradients one sample carries from step t+1 back to step t, each
// dL/d that quantity of step t; updated in place to step t-1's.
template <typename T>
struct Carried {
  T *mem, *link, *usage, *write, *precedence, *read;  // [W N], [N N], [N] x 3, [R N]
};

// access_step's backward. In: raw, the memory and state before and after
// the step, what the forward kept (w, set `at` its row), the carried
// gradients of step t (g) and dL/dreads_t (greads [R, W]). Out: dL/draw
// into graw, and g updated to step t-1's.
template <typename T>
void access_step_backward(const DncDims& d, const Fields& fl, const T* raw, const T* mem_prev,
                          StateOf<const T> prev, const T* mem, StateOf<const T> next, const T* greads, Carried<T> g,
                          T* graw, Work<T>& w) {
  const int64_t N = d.N, M = d.M, R = d.R;
  const T* a = w.act;
  T* ga = w.gact.data();
  std::fill(ga, ga + fl.size, T(0));
  const T *f = d.sharpened ? w.f : w.fraw, *b = d.sharpened ? w.b : w.braw;
  T *gf = w.gf.data(), *gb = w.gb.data(), *gcr = w.gcr.data();

  // r = M_t^T w^r: dL/dw^r and M_t's share; then the read modes
  for (int64_t r = 0; r < R; ++r) {
    T* gwr = g.read + r * N;
    const T* wr = next.read + r * N;
    for (int64_t j = 0; j < M; ++j) {
      const T gr = greads[r * M + j];
      const T* col = mem + j * N;
      T* gcol = g.mem + j * N;
#pragma omp simd
      for (int64_t i = 0; i < N; ++i) {
        gwr[i] += col[i] * gr;
        gcol[i] += wr[i] * gr;
      }
    }
    const T* pi = a + fl.read_modes + 3 * r;
    T gpi0 = 0, gpi1 = 0, gpi2 = 0;
#pragma omp simd reduction(+ : gpi0, gpi1, gpi2)
    for (int64_t i = 0; i < N; ++i) {
      gpi0 += gwr[i] * b[r * N + i];
      gpi1 += gwr[i] * w.cr[r * N + i];
      gpi2 += gwr[i] * f[r * N + i];
      gb[r * N + i] = pi[0] * gwr[i];
      gcr[r * N + i] = pi[1] * gwr[i];
      gf[r * N + i] = pi[2] * gwr[i];
    }
    ga[fl.read_modes + 3 * r] = gpi0, ga[fl.read_modes + 3 * r + 1] = gpi1, ga[fl.read_modes + 3 * r + 2] = gpi2;
    const T* mask_r = d.masked ? a + fl.read_masks + r * M : nullptr;
    ga[fl.read_strengths + r] = content_backward(
        mem, N, M, a + fl.read_keys + r * M, mask_r, a[fl.read_strengths + r], w.Kr + r * N,
        w.mnr + r * N, w.cr + r * N, gcr + r * N, g.mem, ga + fl.read_keys + r * M,
        d.masked ? ga + fl.read_masks + r * M : nullptr, w.content_scratch.data());
    if (d.sharpened) {
      ga[fl.forward_sharpness + r] =
          sharpen_backward(w.fraw + r * N, f + r * N, N, a[fl.forward_sharpness + r], gf + r * N);
      ga[fl.backward_sharpness + r] =
          sharpen_backward(w.braw + r * N, b + r * N, N, a[fl.backward_sharpness + r], gb + r * N);
    }
  }

  // p_t = (1 - sum w^w) p_{t-1} + w^w
  const T* ww = next.write;
  T* gww = g.write;  // dL/dw^w_t: what step t+1's usage sent, and this step's shares below
  const T written = sum_of(ww, N);
  T gp_dot_p = 0;
#pragma omp simd reduction(+ : gp_dot_p)
  for (int64_t i = 0; i < N; ++i) gp_dot_p += g.precedence[i] * prev.precedence[i];
  for (int64_t i = 0; i < N; ++i) {
    gww[i] += g.precedence[i] - gp_dot_p;
    g.precedence[i] *= T(1) - written;
  }
  // The links, f = L_t w^r_{t-1} and b = L_t^T w^r_{t-1}, in one pass over
  // each row i of L_t, L_{t-1} and dL/dL_t (G, turned into dL/dL_{t-1}).
  // Two passes over each row: the reads' shares into G, then G's into
  // w^w, p and dL/dL_{t-1}.
  T* gwp = w.gwr_prev.data();
  std::fill(gwp, gwp + R * N, T(0));
  const T* p = prev.precedence;
  T* gp = g.precedence;
  for (int64_t i = 0; i < N; ++i) {
    const T wi = ww[i];
    const T *l = next.link + i * N, *lp = prev.link + i * N;
    T* G = g.link + i * N;
    for (int64_t r = 0; r < R; ++r) {
      const T* wp = prev.read + r * N;
      const T gfi = gf[r * N + i], wpi = wp[i];
      const T* gbr = gb + r * N;
      T* gw_r = gwp + r * N;
      T lgb = 0;
#pragma omp simd reduction(+ : lgb)
      for (int64_t j = 0; j < N; ++j) {
        G[j] += gfi * wp[j] + wpi * gbr[j];  // f^r[i] = sum_j L[i,j] w[j]; b^r[j] = sum_i L[i,j] w[i]
        gw_r[j] += l[j] * gfi;
        lgb += l[j] * gbr[j];
      }
      gw_r[i] += lgb;
    }
    G[i] = 0;  // L_t[i,i] is 0 whatever came before
    T row = 0;  // dL/dw^w[i] through the row: sum_j G[i,j] (p[j] - L_{t-1}[i,j])
#pragma omp simd reduction(+ : row)
    for (int64_t j = 0; j < N; ++j) {
      const T Gj = G[j];
      row += Gj * (p[j] - lp[j]);
      gww[j] -= Gj * lp[j];
      gp[j] += Gj * wi;
      G[j] = Gj * (T(1) - wi - ww[j]);
    }
    gww[i] += row;
  }

  // M_t = M_{t-1} o (E - w^w e^T) [o psi] + w^w v^T; dL/dM_t becomes dL/dM_{t-1}
  const T *e = a + fl.erase, *v = a + fl.write_vector, *psi = w.psi;
  T* gpsi = w.gpsi.data();
  std::fill(gpsi, gpsi + N, T(0));
  for (int64_t j = 0; j < M; ++j) {
    const T* col = mem_prev + j * N;
    T* gcol = g.mem + j * N;
    T ge = 0, gv = 0;
    const T ej = e[j], vj = v[j];
#pragma omp simd reduction(+ : ge, gv)
    for (int64_t i = 0; i < N; ++i) {
      const T gm = gcol[i], keep = T(1) - ww[i] * ej, k = d.wipe ? psi[i] : T(1);
      gww[i] += gm * (vj - col[i] * k * ej);
      ge -= gm * col[i] * k * ww[i];
      gv += gm * ww[i];
      if (d.wipe) gpsi[i] += gm * col[i] * keep;
      gcol[i] = gm * k * keep;
    }
    ga[fl.erase + j] = ge;
    ga[fl.write_vector + j] = gv;
  }
  // w^w = g^w [g^a a + (1 - g^a) c^w]
  const T g_a = a[fl.allocation_gate], g_w = a[fl.write_gate];
  T* galloc = w.galloc.data();
  T* gcw = w.gcw.data();
  T gga = 0, ggw = 0;
#pragma omp simd reduction(+ : gga, ggw)
  for (int64_t i = 0; i < N; ++i) {
    ggw += gww[i] * (g_a * w.alloc[i] + (T(1) - g_a) * w.cw[i]);
    gga += gww[i] * g_w * (w.alloc[i] - w.cw[i]);
    galloc[i] = gww[i] * g_w * g_a;
    gcw[i] = gww[i] * g_w * (T(1) - g_a);
  }
  ga[fl.allocation_gate] = gga;
  ga[fl.write_gate] = ggw;
  const T* mask_w = d.masked ? a + fl.write_mask : nullptr;
  ga[fl.write_strength] = content_backward(mem_prev, N, M, a + fl.write_key, mask_w, a[fl.write_strength],
                                           w.Kw, w.mnw, w.cw, gcw, g.mem, ga + fl.write_key,
                                           d.masked ? ga + fl.write_mask : nullptr,
                                           w.content_scratch.data());
  // a_t from u_t; u_t = (u_{t-1} + w^w_{t-1} - u_{t-1} o w^w_{t-1}) o psi
  T* gu = g.usage;  // dL/du_t from step t+1, plus the allocation's
  for (int64_t j = 0; j < N; ++j) w.order[j] = int64_t(w.order_kept[j]);
  allocation_backward(next.usage, N, w.order.data(), w.prefix, galloc, gu);
  for (int64_t i = 0; i < N; ++i) {
    const T up = prev.usage[i], wp = prev.write[i], gi = gu[i];
    gpsi[i] += gi * (up + wp - up * wp);
    gu[i] = gi * psi[i] * (T(1) - wp);
    gww[i] = gi * psi[i] * (T(1) - up);  // now dL/dw^w_{t-1}, from this step's usage
  }
  // psi = prod_r (1 - f^r w^r_{t-1}): each factor's share, the others' product
  for (int64_t r = 0; r < R; ++r) {
    const T fr = a[fl.free_gates + r];
    const T* wp = prev.read + r * N;
    T gfr = 0;
    for (int64_t i = 0; i < N; ++i) {
      T others = 1;
      for (int64_t q = 0; q < R; ++q)
        if (q != r) others *= T(1) - a[fl.free_gates + q] * prev.read[q * N + i];
      gfr -= gpsi[i] * wp[i] * others;
      gwp[r * N + i] -= gpsi[i] * fr * others;
    }
    ga[fl.free_gates + r] = gfr;
  }
  std::copy(gwp, gwp + R * N, g.read);
  activate_backward(d, fl, raw, a, ga, graw);
}

}  // namespace
