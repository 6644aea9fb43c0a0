// The batch split across threads, for both fused machines (fused_ntm.cpp,
// fused_dnc.cpp).
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <vector>

namespace {

// With more than one torch thread, the batch is cut into one share per
// thread and each share runs the whole sequence, forward and backward, on
// its own thread, instead of every thread meeting the others at each time
// step (a loop over samples, then a multithreaded product). Products nested
// inside the parallel region run on their thread alone. The shares' weight
// gradients are summed in share order, so a run stays deterministic for a
// given thread count.
int64_t shares_of(int64_t B) {
  const int64_t threads = at::get_num_threads();
  return threads > 1 && B >= 2 * threads ? threads : 1;
}

// Where each share of the batch starts (shares + 1 entries, the last B): contiguous
// slices with about equal total length, since a share's time is the sum of its
// samples' steps and the slowest share holds up the others. Each share keeps at
// least one sample.
std::vector<int64_t> share_starts(const at::Tensor& lengths, int64_t T, int64_t shares) {
  const int64_t B = lengths.size(0);
  std::vector<int64_t> starts(shares + 1, B);
  starts[0] = 0;
  const at::Tensor l = lengths.to(at::kLong).clamp_max(T).contiguous();
  const int64_t* len = l.data_ptr<int64_t>();
  std::vector<int64_t> before(B + 1, 0);  // total length of samples [0, b)
  for (int64_t b = 0; b < B; ++b) before[b + 1] = before[b] + len[b];
  for (int64_t k = 1; k < shares; ++k) {
    // The first start whose prefix reaches k/shares of the total, or the one
    // before it if that comes closer.
    const int64_t lo = starts[k - 1] + 1, hi = B - (shares - k);
    int64_t at = lo;
    while (at < hi && before[at] * shares < before[B] * k) ++at;
    if (at > lo && before[B] * k - before[at - 1] * shares < before[at] * shares - before[B] * k) --at;
    starts[k] = at;
  }
  return starts;
}

// f(share, first sample, sample count) for each share, in parallel.
template <typename F>
void over_shares(const std::vector<int64_t>& starts, const F& f) {
  const int64_t shares = int64_t(starts.size()) - 1;
  if (shares == 1) {
    f(0, 0, starts[1]);
    return;
  }
  at::parallel_for(0, shares, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t k = lo; k < hi; ++k) f(k, starts[k], starts[k + 1] - starts[k]);
  });
}

// Each share's gradients (the weights', then the inputs' if asked) as one
// batch's: the weights' summed in share order, the inputs' put back together.
inline std::vector<at::Tensor> combine_shares(const std::vector<std::vector<at::Tensor>>& parts, bool input_grad) {
  std::vector<at::Tensor> out = parts[0];
  const size_t summed = out.size() - (input_grad ? 1 : 0);
  for (size_t k = 1; k < parts.size(); ++k)
    for (size_t i = 0; i < summed; ++i) out[i] = out[i] + parts[k][i];
  if (input_grad && parts.size() > 1) {
    std::vector<at::Tensor> gx;
    for (const auto& part : parts) gx.push_back(part.back());
    out.back() = at::cat(gx, 0);
  }
  return out;
}

}  // namespace
