// accumulate_metrics: adds one batch's mean loss (times its size) and correct count to the epoch's
// totals on the device, so training copies metrics to the host only when they are reported. It also
// advances totals.cursor, from which gather_batch reads where the next step's batch starts, by `advance`:
// the batch, or in data-parallel training the global batch of which this rank trained `batch` samples
// (possibly none: then loss and correct are not read).
//   loss, correct: [1] from softmax_xent   totals: {loss_sum (double), correct (int64), count, cursor}
#pragma once

#include "device_ops.h"
#include "simt.h"

namespace cudamlp::kernels {
inline namespace SIMT_EXECUTOR {  // cuda or emulated: the two builds of this code must not link as one

__global__ void accumulate_metrics_kernel(const float* loss, const int* correct, int batch, int advance,
                                          EpochTotals* totals) {
  if (threadIdx.x != 0) return;
  if (batch > 0) {
    totals->loss_sum += double(*loss) * batch;
    totals->correct += *correct;
    totals->count += batch;
  }
  totals->cursor += advance;
}

// totals.cursor = cursor, in stream order: where the next step starts after a jump (a resumed run starting
// mid-epoch, a benchmark wrapping around), without a copy that would wait for the queued steps.
__global__ void set_cursor_kernel(EpochTotals* totals, long long cursor) {
  if (threadIdx.x == 0) totals->cursor = cursor;
}

inline void set_cursor(EpochTotals* totals, long long cursor, simt::Stream stream) {
  simt::launch(set_cursor_kernel, dim3(1), dim3(32), 0, stream, totals, cursor);
}

inline void accumulate_metrics(const float* loss, const int* correct, int batch, int advance, EpochTotals* totals,
                               simt::Stream stream) {
  simt::launch(accumulate_metrics_kernel, dim3(1), dim3(32), 0, stream, loss, correct, batch, advance, totals);
}

}  // namespace SIMT_EXECUTOR
}  // namespace cudamlp::kernels
