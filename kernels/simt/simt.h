// simt.h: lets the same kernel source compile with nvcc for the GPU or with g++ for the CPU, where a
// SIMT emulator executes it. Kernels include this header, write ordinary CUDA (threadIdx, __shared__,
// __syncthreads, warp shuffles, atomics) and are launched with
//
//     simt::launch(kernel, grid, block, dynamic_shared_bytes, stream, args...);
//
// instead of <<<...>>>, so no CUDA-only syntax appears in shared code. Dynamic shared memory is declared
// with SIMT_DYNAMIC_SHARED(float, name) instead of `extern __shared__ float name[]`.
//
// The emulator (simt_emulator.cpp) is a test and debugging tool: faithful beats fast.
//   - Several blocks run at once (like SMs), each on an OS thread started for it. The threads of a block
//     are fibers (ucontext) on that OS thread, so __shared__ (a `static thread_local` here) is per block
//     and starts zeroed in every block; dynamic shared memory starts as NaN bytes (a GPU: garbage).
//   - __syncthreads() ends a phase. Within a phase each thread runs alone from barrier to barrier, in an
//     order the emulator shuffles every phase (seeded: CUDAMLP_SIMT_SEED). A missing barrier therefore
//     gives wrong, reproducible results instead of passing by luck.
//   - A barrier that not every thread of the block reaches, or a warp operation that not every lane of
//     the warp reaches, is an error (CUDA calls both undefined behaviour).
//   - Warp shuffles exchange values only when every lane of the warp has arrived (warp size 32); only
//     full-warp masks are supported and anything else throws.
//   - Device allocations carry guard zones checked after every launch: a write out of bounds throws.
//     Built with AddressSanitizer, the guard zones are poisoned so reads are caught too.
//   - A 16-byte vector access (load_float4) at an address that is not a multiple of 16 throws, as it
//     faults on a GPU; so does a device allocation while a graph is being captured.
//   - What the kernels do not use is not provided, so using it fails to compile.
// Why fibers and not one OS thread per CUDA thread: on the 2-core machines this project runs on, a
// hand-off between OS threads costs ~80 us and a 256-thread std::barrier ~2 ms; the emulated test grid
// would take hours. Fibers switch in well under a microsecond and give the same semantics.
#pragma once

#include <cstddef>
#include <cstdint>

#include "executor.h"

#if defined(__CUDACC__)
// ============================================================================================
// nvcc: CUDA itself
// ============================================================================================
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "cuda_check.h"  // CUDAMLP_CUDA_CHECK

#define SIMT_EMULATED 0
#define SIMT_DYNAMIC_SHARED(T, name)                     \
  extern __shared__ unsigned char simt_dynamic_shared[]; \
  T* name = reinterpret_cast<T*>(simt_dynamic_shared)

namespace cudamlp::simt {

using Stream = cudaStream_t;

template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, Stream stream,
            Args... args) {
  if (grid.x * grid.y * grid.z == 0) return;  // empty problem: nothing to launch
  kernel<<<grid, block, shared_bytes, stream>>>(args...);
  CUDAMLP_CUDA_CHECK(cudaGetLastError());
}

// Four consecutive floats from a 16-byte-aligned address (global or shared memory) in one 128-bit
// access. A misaligned address is a fault on a GPU; the emulator checks it.
__device__ __forceinline__ void load_float4(const float* p, float out[4]) {
  const float4 v = *reinterpret_cast<const float4*>(p);
  out[0] = v.x;
  out[1] = v.y;
  out[2] = v.z;
  out[3] = v.w;
}

// Four consecutive floats to a 16-byte-aligned address in one 128-bit access.
__device__ __forceinline__ void store_float4(float* p, const float in[4]) {
  *reinterpret_cast<float4*>(p) = make_float4(in[0], in[1], in[2], in[3]);
}

}  // namespace cudamlp::simt

#else
// ============================================================================================
// g++: the emulator
// ============================================================================================
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <type_traits>

#define SIMT_EMULATED 1

namespace cudamlp::simt {

// CUDA's dim3, in our namespace so it cannot collide with the CUDA runtime's own in a mixed build.
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

using Stream = void*;  // launches are synchronous: a stream orders nothing more

inline constexpr int kWarpSize = 32;

// Where the running emulated thread is. Set by the emulator for each fiber it switches to.
struct ThreadPlace {
  dim3 thread_idx;
  dim3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
  unsigned char* dynamic_shared = nullptr;
};
const ThreadPlace& here();

void syncthreads();
// Warp operations. Every lane of the warp must arrive; the value returned is lane src's `value`.
uint64_t warp_exchange(unsigned mask, uint64_t value, int src_lane_or_delta, int kind, int width);
enum WarpOpKind { kShuffleIndex = 0, kShuffleDown = 1, kShuffleXor = 2, kShuffleUp = 3, kSyncWarp = 4 };

template <typename T>
T shuffle(unsigned mask, T value, int arg, int kind, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffle of types up to 8 bytes only");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  bits = warp_exchange(mask, bits, arg, kind, width);
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

// Runs body once per thread of grid x block (the launch helper below wraps the kernel call in it).
void run_grid(dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body);

template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, Stream /*stream*/,
            Args... args) {
  if (grid.x * grid.y * grid.z == 0) return;
  run_grid(grid, block, shared_bytes, [=] { kernel(Params(args)...); });
}

// Emulated device memory: host memory with guard zones (see the header comment).
void* device_alloc(size_t bytes);
void device_free(void* pointer);

// A vector access: fails, like a GPU's "misaligned address", unless `pointer` is 16-byte aligned.
void check_vector_alignment(const void* pointer);
inline void load_float4(const float* p, float out[4]) {
  check_vector_alignment(p);
  std::memcpy(out, p, 4 * sizeof(float));
}
inline void store_float4(float* p, const float in[4]) {
  check_vector_alignment(p);
  std::memcpy(p, in, 4 * sizeof(float));
}

// Emulated CUDA graphs: while capture(record, context) runs record(context), the ops it queues (see
// device_ops_table.h) are recorded instead of run; launch_graph runs them again in order. Like CUDA,
// a synchronous copy during a capture is an error.
bool capturing();
void record(std::function<void()> op);
void* graph_capture(void (*record)(void* context), void* context);
void graph_launch(void* graph);
void graph_destroy(void* graph);

}  // namespace cudamlp::simt

using cudamlp::simt::dim3;

#define SIMT_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(::cudamlp::simt::here().dynamic_shared)

#define __global__
#define __launch_bounds__(...)
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
// All fibers of a block run on one worker thread, so thread_local storage is per block.
#define __shared__ static thread_local
#define threadIdx (::cudamlp::simt::here().thread_idx)
#define blockIdx (::cudamlp::simt::here().block_idx)
#define blockDim (::cudamlp::simt::here().block_dim)
#define gridDim (::cudamlp::simt::here().grid_dim)
#define warpSize (::cudamlp::simt::kWarpSize)

inline void __syncthreads() { ::cudamlp::simt::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::cudamlp::simt::warp_exchange(mask, 0, 0, ::cudamlp::simt::kSyncWarp, 32);
}
template <typename T>
T __shfl_sync(unsigned mask, T value, int src_lane, int width = 32) {
  return ::cudamlp::simt::shuffle(mask, value, src_lane, ::cudamlp::simt::kShuffleIndex, width);
}
template <typename T>
T __shfl_down_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return ::cudamlp::simt::shuffle(mask, value, int(delta), ::cudamlp::simt::kShuffleDown, width);
}
template <typename T>
T __shfl_up_sync(unsigned mask, T value, unsigned delta, int width = 32) {
  return ::cudamlp::simt::shuffle(mask, value, int(delta), ::cudamlp::simt::kShuffleUp, width);
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T value, int lane_mask, int width = 32) {
  return ::cudamlp::simt::shuffle(mask, value, lane_mask, ::cudamlp::simt::kShuffleXor, width);
}

// Atomics: several blocks run at once on different worker threads, so these are real atomics.
template <typename T>
T atomicAdd(T* address, T value) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int> ||
                    std::is_same_v<T, unsigned> || std::is_same_v<T, unsigned long long>,
                "atomicAdd: CUDA supports float, double, int, unsigned, unsigned long long");
  return std::atomic_ref<T>(*address).fetch_add(value);
}
inline int atomicMax(int* address, int value) {
  std::atomic_ref<int> ref(*address);
  int old = ref.load();
  while (old < value && !ref.compare_exchange_weak(old, value)) {
  }
  return old;
}

// CUDA's global integer min/max and the few device math intrinsics the kernels use.
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a < b ? b : a; }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }

#endif  // __CUDACC__
