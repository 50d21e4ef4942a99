// The SIMT emulator itself (kernels/simt/simt.h, simt_emulator.cpp): CUDA's indexing, barriers, warp
// shuffles, atomics and shared memory behave as on a GPU, and the bugs it exists to catch are caught:
// a missing __syncthreads(), a barrier in divergent code, out-of-bounds writes. The kernels here are
// compiled by g++, so they always run on the emulator.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "cudamlp/errors.h"
#include "simt.h"

using namespace cudamlp;

namespace {

// Device memory from the emulator, freed (and its guard zones checked) on destruction.
template <typename T>
class EmulatedArray {
 public:
  explicit EmulatedArray(size_t n, T fill = T()) : n_(n), data_(static_cast<T*>(simt::device_alloc(n * sizeof(T)))) {
    std::fill(data_, data_ + n, fill);
  }
  ~EmulatedArray() {
    try {
      simt::device_free(data_);
    } catch (...) {  // already reported by the launch that damaged it
    }
  }
  T* get() { return data_; }
  std::vector<T> values() const { return std::vector<T>(data_, data_ + n_); }

 private:
  size_t n_;
  T* data_;
};

// Rotates values through shared memory: out[t] = in[(t + 1) % n] of the same block.
__global__ void rotate_with_barrier(const int* in, int* out) {
  __shared__ int values[256];
  const int t = int(threadIdx.x), n = int(blockDim.x);
  const int base = int(blockIdx.x) * n;
  values[t] = in[base + t];
  __syncthreads();
  out[base + t] = values[(t + 1) % n];
}

// The same without the barrier: on a GPU a thread may read its neighbour's slot before it is written.
__global__ void rotate_without_barrier(const int* in, int* out) {
  __shared__ int values[256];
  const int t = int(threadIdx.x), n = int(blockDim.x);
  const int base = int(blockIdx.x) * n;
  values[t] = in[base + t];
  out[base + t] = values[(t + 1) % n];
}

__global__ void barrier_in_divergent_code(int* out) {
  if (threadIdx.x < 16) return;  // half the block never reaches the barrier
  __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void write_one_past_the_end(float* out, int n) {
  const int i = int(blockIdx.x * blockDim.x + threadIdx.x);
  if (i <= n) out[i] = 1.0f;  // planted bug: <= instead of <
}

__global__ void write_before_the_start(float* out) {
  if (threadIdx.x == 0) out[-1] = 1.0f;
}

__global__ void record_coordinates(int* out) {
  const int block = int((blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x);
  const int thread = int((threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x);
  const int threads = int(blockDim.x * blockDim.y * blockDim.z);
  atomicAdd(&out[block * threads + thread], 1);
}

// out[lane] for each kind of shuffle, one warp.
__global__ void shuffles(const float* in, float* xor_sum, float* down, float* up, float* broadcast) {
  const int lane = int(threadIdx.x);
  float v = in[lane];
  float sum = v;
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  xor_sum[lane] = sum;
  down[lane] = __shfl_down_sync(0xffffffffu, v, 3);
  up[lane] = __shfl_up_sync(0xffffffffu, v, 5);
  broadcast[lane] = __shfl_sync(0xffffffffu, v, 7);
}

__global__ void shuffle_after_some_lanes_exit(float* out) {
  if (threadIdx.x >= 20) return;
  out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1.0f, 1);
}

__global__ void count_with_atomics(int* counter, float* float_counter) {
  atomicAdd(counter, 1);
  atomicAdd(float_counter, 0.5f);
}

// Sums a block's inputs through dynamic shared memory; also reports what shared memory held first.
__global__ void block_sum_dynamic(const float* in, float* sums, float* first_seen) {
  SIMT_DYNAMIC_SHARED(float, scratch);
  const int t = int(threadIdx.x);
  if (t == 0) first_seen[blockIdx.x] = scratch[0];
  __syncthreads();
  scratch[t] = in[blockIdx.x * blockDim.x + t];
  __syncthreads();
  for (int stride = int(blockDim.x) / 2; stride > 0; stride /= 2) {
    if (t < stride) scratch[t] += scratch[t + stride];
    __syncthreads();
  }
  if (t == 0) sums[blockIdx.x] = scratch[0];
}

// out[i] = the sum of the four floats from in + offset (a 128-bit load).
__global__ void load_four_at(const float* in, int offset, float* out) {
  float four[4];
  simt::load_float4(in + offset, four);
  out[threadIdx.x] = four[0] + four[1] + four[2] + four[3];
}

std::vector<int> rotate(void (*kernel)(const int*, int*), int blocks, int threads) {
  EmulatedArray<int> in(size_t(blocks * threads)), out(size_t(blocks * threads), -1);
  for (int i = 0; i < blocks * threads; ++i) in.get()[i] = 1000 + i;
  simt::launch(kernel, dim3(unsigned(blocks)), dim3(unsigned(threads)), 0, nullptr, in.get(), out.get());
  return out.values();
}

std::vector<int> expected_rotation(int blocks, int threads) {
  std::vector<int> expected(size_t(blocks * threads));
  for (int b = 0; b < blocks; ++b)
    for (int t = 0; t < threads; ++t) expected[size_t(b * threads + t)] = 1000 + b * threads + (t + 1) % threads;
  return expected;
}

}  // namespace

TEST(SimtEmulator, BarrierMakesSharedMemoryWritesVisibleToTheBlock) {
  EXPECT_EQ(rotate(rotate_with_barrier, 5, 96), expected_rotation(5, 96));
}

TEST(SimtEmulator, CatchesAPlantedMissingBarrier) {
  // Threads run alone between barriers in a shuffled order, so without the barrier about half of them
  // read their neighbour's slot before it is written: the result is wrong, and reproducibly so.
  const std::vector<int> first = rotate(rotate_without_barrier, 5, 96);
  EXPECT_NE(first, expected_rotation(5, 96));
  EXPECT_EQ(first, rotate(rotate_without_barrier, 5, 96));
}

TEST(SimtEmulator, RejectsABarrierThatNotEveryThreadReaches) {
  EmulatedArray<int> out(32);
  try {
    simt::launch(barrier_in_divergent_code, dim3(1), dim3(32), 0, nullptr, out.get());
    FAIL() << "a barrier in divergent code must be reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("__syncthreads() reached by 16 of 32 threads"), std::string::npos) << e.what();
  }
}

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer the guard zones are poisoned: ASan itself stops the process at the bad write,
// with the kernel's source line. (Death tests fork; the emulator's threads are all joined here.)
TEST(SimtEmulator, CatchesAPlantedOutOfBoundsWrite) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EmulatedArray<float> out(100);
  EXPECT_DEATH(simt::launch(write_one_past_the_end, dim3(4), dim3(32), 0, nullptr, out.get(), 100),
               "AddressSanitizer: use-after-poison");
}

TEST(SimtEmulator, CatchesAWriteBeforeTheStartOfAnAllocation) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  EmulatedArray<float> out(10);
  EXPECT_DEATH(simt::launch(write_before_the_start, dim3(1), dim3(32), 0, nullptr, out.get()),
               "AddressSanitizer: use-after-poison");
}
#else
TEST(SimtEmulator, CatchesAPlantedOutOfBoundsWrite) {
  EmulatedArray<float> out(100);
  try {
    simt::launch(write_one_past_the_end, dim3(4), dim3(32), 0, nullptr, out.get(), 100);
    FAIL() << "a write one past the end must be reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("out-of-bounds write at byte 400 of a device allocation of 400 bytes"),
              std::string::npos)
        << e.what();
  }
}

TEST(SimtEmulator, CatchesAWriteBeforeTheStartOfAnAllocation) {
  EmulatedArray<float> out(10);
  EXPECT_THROW(simt::launch(write_before_the_start, dim3(1), dim3(32), 0, nullptr, out.get()), Error);
}
#endif

TEST(SimtEmulator, VectorLoadsNeedA16ByteAlignedAddressLikeOnAGpu) {
  EmulatedArray<float> in(8, 1.0f), out(1);
  simt::launch(load_four_at, dim3(1), dim3(1), 0, nullptr, in.get(), 4, out.get());
  EXPECT_EQ(out.values()[0], 4.0f);
  try {
    simt::launch(load_four_at, dim3(1), dim3(1), 0, nullptr, in.get(), 1, out.get());
    FAIL() << "a 128-bit load from an address 4 bytes past alignment must be reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("misaligned address"), std::string::npos) << e.what();
  }
}

TEST(SimtEmulator, GivesEveryThreadOfA3dGridItsOwnCoordinates) {
  const dim3 grid(2, 3, 2), block(4, 2, 3);
  EmulatedArray<int> hits(size_t(12 * 24), 0);
  simt::launch(record_coordinates, grid, block, 0, nullptr, hits.get());
  for (int count : hits.values()) EXPECT_EQ(count, 1);
}

TEST(SimtEmulator, WarpShufflesFollowCudaSemantics) {
  EmulatedArray<float> in(32), xor_sum(32), down(32), up(32), broadcast(32);
  for (int i = 0; i < 32; ++i) in.get()[i] = float(i * i);
  simt::launch(shuffles, dim3(1), dim3(32), 0, nullptr, in.get(), xor_sum.get(), down.get(), up.get(), broadcast.get());
  float total = 0;
  for (int i = 0; i < 32; ++i) total += float(i * i);
  for (int lane = 0; lane < 32; ++lane) {
    EXPECT_EQ(xor_sum.get()[lane], total) << lane;
    // Out-of-range sources return the lane's own value, as on the GPU.
    EXPECT_EQ(down.get()[lane], float(lane + 3 < 32 ? (lane + 3) * (lane + 3) : lane * lane)) << lane;
    EXPECT_EQ(up.get()[lane], float(lane >= 5 ? (lane - 5) * (lane - 5) : lane * lane)) << lane;
    EXPECT_EQ(broadcast.get()[lane], 49.0f) << lane;
  }
}

TEST(SimtEmulator, RejectsAShuffleThatExitedLanesCannotJoin) {
  EmulatedArray<float> out(32);
  EXPECT_THROW(simt::launch(shuffle_after_some_lanes_exit, dim3(1), dim3(32), 0, nullptr, out.get()), Error);
}

TEST(SimtEmulator, AtomicsCountEveryThreadOfEveryBlock) {
  EmulatedArray<int> counter(1, 0);
  EmulatedArray<float> float_counter(1, 0.0f);
  simt::launch(count_with_atomics, dim3(37), dim3(64), 0, nullptr, counter.get(), float_counter.get());
  EXPECT_EQ(counter.get()[0], 37 * 64);
  EXPECT_EQ(float_counter.get()[0], 37 * 64 * 0.5f);
}

TEST(SimtEmulator, DynamicSharedMemoryIsPerBlockAndStartsAsGarbageNotZero) {
  constexpr int kBlocks = 6, kThreads = 128;
  EmulatedArray<float> in(kBlocks * kThreads), sums(kBlocks), first_seen(kBlocks);
  for (int i = 0; i < kBlocks * kThreads; ++i) in.get()[i] = float(i % 7);
  simt::launch(block_sum_dynamic, dim3(kBlocks), dim3(kThreads), kThreads * sizeof(float), nullptr, in.get(),
               sums.get(), first_seen.get());
  for (int b = 0; b < kBlocks; ++b) {
    float expected = 0;
    for (int t = 0; t < kThreads; ++t) expected += float((b * kThreads + t) % 7);
    EXPECT_EQ(sums.get()[b], expected) << b;
    EXPECT_TRUE(std::isnan(first_seen.get()[b])) << "uninitialised shared memory read as " << first_seen.get()[b];
  }
}

TEST(SimtEmulator, RejectsLaunchesOutsideCudaLimits) {
  EmulatedArray<int> out(1);
  EXPECT_THROW(simt::launch(barrier_in_divergent_code, dim3(1), dim3(1025), 0, nullptr, out.get()), Error);
  EXPECT_THROW(simt::launch(barrier_in_divergent_code, dim3(1, 70000), dim3(32), 0, nullptr, out.get()), Error);
  EXPECT_THROW(simt::launch(barrier_in_divergent_code, dim3(1), dim3(32), 300 * 1024, nullptr, out.get()), Error);
}
