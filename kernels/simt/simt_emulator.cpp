// The SIMT emulator behind simt.h when compiled without nvcc: runs kernel launches on the CPU with
// CUDA's execution semantics (see simt.h for what it promises and why it uses fibers).
//
// Structure:
//   run_grid      splits a launch's blocks over workers (CUDAMLP_SIMT_WORKERS, default: cores); each
//                 block runs on a fresh OS thread, so its static __shared__ memory starts zeroed
//   BlockRunner   one per worker: runs one block at a time, its threads as ucontext fibers, and a
//                 scheduler that releases barriers and warp operations when everyone has arrived
//   device memory host allocations with guard zones, checked after every launch
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/rng.h"
#include "format.h"
#include "simt.h"

// Sanitizer detection: GCC defines __SANITIZE_*__, clang answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define SIMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIMT_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SIMT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SIMT_TSAN 1
#endif
#endif
#if SIMT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if SIMT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace cudamlp::simt {

namespace {

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

struct Settings {
  uint64_t seed = 1;     // CUDAMLP_SIMT_SEED: the thread orders of every phase
  unsigned workers = 1;  // CUDAMLP_SIMT_WORKERS: blocks run at once
};

// More workers than any machine has cores is a typo, not a setting.
constexpr uint64_t kMaxWorkers = 256;

// The environment variable `name` as a whole number in [min, max], or `otherwise` when it is unset. A
// value that is not one (empty, "notanumber", "12abc", out of range) is a UsageError naming the variable:
// silently using a default would make a run that asked for seed 12abc look reproducible when it is not.
uint64_t setting_from_environment(const char* name, uint64_t min, uint64_t max, uint64_t otherwise) {
  const char* text = std::getenv(name);
  if (!text) return otherwise;
  const std::string_view value(text);
  uint64_t n = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || error != std::errc{} || end != value.data() + value.size() || n < min || n > max)
    throw UsageError(std::string(name) + "=" + quoted_excerpt(value) + " is not a whole number in " +
                     std::to_string(min) + ".." + std::to_string(max));
  return n;
}

const Settings& settings() {
  static const Settings value = [] {
    Settings s;
    s.seed = setting_from_environment("CUDAMLP_SIMT_SEED", 0, UINT64_MAX, s.seed);
    s.workers = unsigned(setting_from_environment("CUDAMLP_SIMT_WORKERS", 1, kMaxWorkers,
                                                  std::clamp<uint64_t>(std::thread::hardware_concurrency(), 1,
                                                                       kMaxWorkers)));
    return s;
  }();
  return value;
}

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr size_t kMaxSharedBytes = 227 * 1024;  // sm_90's largest opt-in dynamic shared memory
constexpr size_t kFiberStackBytes = 64 * 1024;  // kernels keep small locals; ASan needs headroom

std::string dim_text(dim3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}

[[noreturn]] void fail(const std::string& message) { throw Error("simt emulator: " + message); }

// ---------------------------------------------------------------------------------------------
// Fibers and the per-block scheduler
// ---------------------------------------------------------------------------------------------

enum class FiberState { kRunnable, kAtBarrier, kAtWarpOp, kFinished };

struct WarpOp {
  int kind = 0;
  unsigned mask = 0;
  int arg = 0;
  int width = 32;
  uint64_t value = 0;   // this lane's contribution
  uint64_t result = 0;  // what the lane receives
};

// A stack with a PROT_NONE guard page below it, so a runaway kernel stack faults instead of
// overwriting a neighbour.
class FiberStack {
 public:
  FiberStack() {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    bytes_ = kFiberStackBytes + page;
    base_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base_ == MAP_FAILED) throw std::bad_alloc();
    mprotect(base_, page, PROT_NONE);
    bottom_ = static_cast<char*>(base_) + page;
  }
  ~FiberStack() { munmap(base_, bytes_); }
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  char* bottom() const { return bottom_; }
  size_t size() const { return kFiberStackBytes; }

 private:
  void* base_ = nullptr;
  char* bottom_ = nullptr;
  size_t bytes_ = 0;
};

struct Fiber {
  ucontext_t context{};
  FiberStack stack;
  ThreadPlace place;
  FiberState state = FiberState::kRunnable;
  WarpOp op;
#if SIMT_ASAN
  void* fake_stack = nullptr;
#endif
#if SIMT_TSAN
  void* tsan_fiber = __tsan_create_fiber(0);
  ~Fiber() { __tsan_destroy_fiber(tsan_fiber); }
#endif
};

class BlockRunner;
thread_local BlockRunner* tls_runner = nullptr;   // the runner this OS thread is executing
thread_local const ThreadPlace* tls_place = nullptr;  // the fiber it is running, for here()

class BlockRunner {
 public:
  // Runs every thread of block `block_idx` to completion; throws on a kernel error.
  void run(dim3 block_idx, dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body);

  // Called from inside a fiber: park it in `state` and return to the scheduler.
  void park(FiberState state);
  Fiber& current() { return *fibers_[current_]; }

 private:
  static void fiber_main();
  void switch_to(size_t index);
  void release_warps(size_t n, dim3 block_idx);
  [[noreturn]] void fail_block(dim3 block_idx, const std::string& problem);

  std::vector<std::unique_ptr<Fiber>> fibers_;
  std::vector<unsigned char> dynamic_shared_;
  std::vector<size_t> order_;
  ucontext_t scheduler_{};
  size_t current_ = 0;
  const std::function<void()>* body_ = nullptr;
  std::exception_ptr error_;
#if SIMT_ASAN
  const void* scheduler_stack_bottom_ = nullptr;
  size_t scheduler_stack_size_ = 0;
#endif
#if SIMT_TSAN
  void* scheduler_tsan_fiber_ = nullptr;
#endif
};

void BlockRunner::fiber_main() {
  BlockRunner* runner = tls_runner;
#if SIMT_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &runner->scheduler_stack_bottom_, &runner->scheduler_stack_size_);
#endif
  try {
    (*runner->body_)();
  } catch (...) {
    if (!runner->error_) runner->error_ = std::current_exception();
  }
  runner->park(FiberState::kFinished);  // never resumed
}

void BlockRunner::park(FiberState state) {
  Fiber& fiber = current();
  fiber.state = state;
#if SIMT_ASAN
  __sanitizer_start_switch_fiber(state == FiberState::kFinished ? nullptr : &fiber.fake_stack,
                                 scheduler_stack_bottom_, scheduler_stack_size_);
#endif
#if SIMT_TSAN
  __tsan_switch_to_fiber(scheduler_tsan_fiber_, 0);
#endif
  swapcontext(&fiber.context, &scheduler_);
#if SIMT_ASAN
  __sanitizer_finish_switch_fiber(fiber.fake_stack, &scheduler_stack_bottom_, &scheduler_stack_size_);
#endif
}

void BlockRunner::switch_to(size_t index) {
  current_ = index;
  Fiber& fiber = *fibers_[index];
  tls_place = &fiber.place;
#if SIMT_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, fiber.stack.bottom(), fiber.stack.size());
#endif
#if SIMT_TSAN
  __tsan_switch_to_fiber(fiber.tsan_fiber, 0);
#endif
  swapcontext(&scheduler_, &fiber.context);
#if SIMT_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  tls_place = nullptr;
}

void BlockRunner::fail_block(dim3 block_idx, const std::string& problem) {
  fail("block " + dim_text(block_idx) + ": " + problem);
}

// Completes the warp operations whose lanes have all arrived; fails on a warp that cannot complete.
void BlockRunner::release_warps(size_t n, dim3 block_idx) {
  for (size_t first = 0; first < n; first += kWarpSize) {
    const size_t lanes = std::min<size_t>(kWarpSize, n - first);
    size_t waiting = 0, finished = 0;
    for (size_t lane = 0; lane < lanes; ++lane) {
      const FiberState state = fibers_[first + lane]->state;
      waiting += state == FiberState::kAtWarpOp;
      finished += state == FiberState::kFinished;
    }
    if (waiting == 0) continue;
    const std::string warp = "warp " + std::to_string(first / kWarpSize);
    if (waiting + finished == lanes && finished > 0)
      fail_block(block_idx, warp + ": a shuffle or __syncwarp waits for lanes that have exited");
    if (waiting < lanes) continue;  // others still running toward it, or parked at a barrier (checked later)

    const WarpOp& lead = fibers_[first]->op;
    const unsigned full_mask = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
    for (size_t lane = 0; lane < lanes; ++lane) {
      const WarpOp& op = fibers_[first + lane]->op;
      if (op.kind != lead.kind)
        fail_block(block_idx, warp + ": lanes are at different warp operations (divergent shuffle)");
      if (op.mask != full_mask)
        fail_block(block_idx, warp + ": mask " + std::to_string(op.mask) +
                                  " does not name exactly the warp's lanes; the emulator supports full-warp masks only");
      if (op.width != kWarpSize) fail_block(block_idx, warp + ": shuffle width other than 32 is not supported");
    }
    for (size_t lane = 0; lane < lanes; ++lane) {
      WarpOp& op = fibers_[first + lane]->op;
      long source = long(lane);
      switch (op.kind) {
        case kShuffleIndex: source = op.arg % kWarpSize; break;
        case kShuffleDown: source = long(lane) + op.arg < kWarpSize ? long(lane) + op.arg : long(lane); break;
        case kShuffleUp: source = long(lane) - op.arg >= 0 ? long(lane) - op.arg : long(lane); break;
        case kShuffleXor: source = long(lane) ^ (op.arg & (kWarpSize - 1)); break;
        default: break;  // __syncwarp: no data
      }
      if (source >= long(lanes)) fail_block(block_idx, warp + ": shuffle reads lane " + std::to_string(source) + ", which does not exist");
      op.result = fibers_[first + size_t(source)]->op.value;
    }
    for (size_t lane = 0; lane < lanes; ++lane) fibers_[first + lane]->state = FiberState::kRunnable;
  }
}

void BlockRunner::run(dim3 block_idx, dim3 grid, dim3 block, size_t shared_bytes,
                      const std::function<void()>& body) {
  tls_runner = this;
#if SIMT_TSAN
  scheduler_tsan_fiber_ = __tsan_get_current_fiber();
#endif
  const size_t n = size_t(block.x) * block.y * block.z;
  while (fibers_.size() < n) fibers_.push_back(std::make_unique<Fiber>());
  // Uninitialised shared memory on a GPU holds garbage: start each block with NaN bytes, not zeros.
  dynamic_shared_.assign(shared_bytes, 0xFF);
  body_ = &body;
  error_ = nullptr;
  for (size_t i = 0; i < n; ++i) {
    Fiber& fiber = *fibers_[i];
    fiber.place = {dim3(unsigned(i % block.x), unsigned(i / block.x % block.y), unsigned(i / (size_t(block.x) * block.y))),
                   block_idx, block, grid, dynamic_shared_.data()};
    fiber.state = FiberState::kRunnable;
    getcontext(&fiber.context);
    fiber.context.uc_stack.ss_sp = fiber.stack.bottom();
    fiber.context.uc_stack.ss_size = fiber.stack.size();
    fiber.context.uc_link = nullptr;
    makecontext(&fiber.context, &BlockRunner::fiber_main, 0);
  }

  const uint64_t block_id = (uint64_t(block_idx.z) * grid.y + block_idx.y) * grid.x + block_idx.x;
  Rng rng(derive_seed(settings().seed, block_id));
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), size_t{0});
  while (true) {
    // One phase: every runnable thread runs, alone, until it parks; in a fresh random order.
    for (size_t i = n - 1; i > 0; --i) std::swap(order_[i], order_[size_t(rng.below(i + 1))]);
    for (size_t index : order_) {
      if (fibers_[index]->state != FiberState::kRunnable) continue;
      switch_to(index);
      if (error_) {
        try {
          std::rethrow_exception(error_);
        } catch (const std::exception& e) {
          const ThreadPlace& place = fibers_[index]->place;
          fail_block(block_idx, "thread " + dim_text(place.thread_idx) + ": " + e.what());
        }
      }
    }
    release_warps(n, block_idx);
    size_t finished = 0, at_barrier = 0, runnable = 0;
    for (size_t i = 0; i < n; ++i) {
      finished += fibers_[i]->state == FiberState::kFinished;
      at_barrier += fibers_[i]->state == FiberState::kAtBarrier;
      runnable += fibers_[i]->state == FiberState::kRunnable;
    }
    if (finished == n) return;
    if (runnable > 0) continue;  // warp operations completed: run those lanes on
    if (at_barrier == n) {
      for (size_t i = 0; i < n; ++i) fibers_[i]->state = FiberState::kRunnable;
      continue;
    }
    if (at_barrier > 0 && at_barrier + finished == n)
      fail_block(block_idx, "__syncthreads() reached by " + std::to_string(at_barrier) + " of " +
                                std::to_string(n) + " threads; the others exited (barrier in divergent code)");
    fail_block(block_idx, "deadlock: some threads wait at __syncthreads() while lanes of their warps wait at a "
                          "warp operation (divergent barrier or shuffle)");
  }
}

// ---------------------------------------------------------------------------------------------
// Device memory with guard zones
// ---------------------------------------------------------------------------------------------

constexpr size_t kGuardBytes = 256;  // also the alignment of every allocation, like cudaMalloc's
constexpr unsigned char kGuardByte = 0xA5;

struct Allocation {
  unsigned char* base = nullptr;  // guard | data | guard (rounded up to kGuardBytes)
  size_t bytes = 0;               // data
  size_t total = 0;               // everything
};

std::mutex& allocations_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::map<const void*, Allocation>& allocations() {
  static std::map<const void*, Allocation> map;
  return map;
}

// Describes a damaged guard zone, or returns "" when both are intact.
std::string check_guards(const Allocation& allocation) {
#if SIMT_ASAN
  (void)allocation;
  return "";  // poisoned: AddressSanitizer reports the access itself
#else
  const unsigned char* front = allocation.base;
  const unsigned char* back = allocation.base + kGuardBytes + allocation.bytes;
  for (size_t i = kGuardBytes; i-- > 0;)
    if (front[i] != kGuardByte)
      return "out-of-bounds write " + std::to_string(kGuardBytes - i) + " bytes before a device allocation of " +
             std::to_string(allocation.bytes) + " bytes";
  for (size_t i = 0; i < kGuardBytes; ++i)
    if (back[i] != kGuardByte)
      return "out-of-bounds write at byte " + std::to_string(allocation.bytes + i) + " of a device allocation of " +
             std::to_string(allocation.bytes) + " bytes";
  return "";
#endif
}

// After a launch: restore and report every damaged guard zone.
void check_all_guards() {
  std::lock_guard lock(allocations_mutex());
  std::string problems;
  for (auto& [pointer, allocation] : allocations()) {
    const std::string problem = check_guards(allocation);
    if (problem.empty()) continue;
    problems += (problems.empty() ? "" : "; ") + problem;
    std::memset(allocation.base, kGuardByte, kGuardBytes);
    std::memset(allocation.base + kGuardBytes + allocation.bytes, kGuardByte, kGuardBytes);
  }
  if (!problems.empty()) fail(problems);
}

std::mutex& launch_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<std::unique_ptr<BlockRunner>>& runners() {
  static std::vector<std::unique_ptr<BlockRunner>> pool;
  return pool;
}

}  // namespace

const ThreadPlace& here() {
  if (tls_place == nullptr) fail("threadIdx/blockIdx used outside a kernel launch");
  return *tls_place;
}

void check_vector_alignment(const void* pointer) {
  const auto address = reinterpret_cast<uintptr_t>(pointer);
  if (address % 16 != 0)
    throw Error("misaligned address: a 16-byte vector access at " + std::to_string(address) +
                ", which is not a multiple of 16");
}

void syncthreads() {
  if (tls_runner == nullptr || tls_place == nullptr) fail("__syncthreads() outside a kernel launch");
  tls_runner->park(FiberState::kAtBarrier);
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int arg, int kind, int width) {
  if (tls_runner == nullptr || tls_place == nullptr) fail("warp operation outside a kernel launch");
  Fiber& fiber = tls_runner->current();
  fiber.op = {kind, mask, arg, width, value, 0};
  tls_runner->park(FiberState::kAtWarpOp);
  return fiber.op.result;
}

void run_grid(dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body) {
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (threads == 0 || threads > kMaxThreadsPerBlock || block.z > 64)
    fail("block " + dim_text(block) + " is not a valid CUDA block (1 to 1024 threads, z <= 64)");
  if (grid.y > 65535 || grid.z > 65535 || grid.x > 0x7FFFFFFFu)
    fail("grid " + dim_text(grid) + " exceeds CUDA's grid limits");
  if (shared_bytes > kMaxSharedBytes)
    fail("launch asks for " + std::to_string(shared_bytes) + " bytes of dynamic shared memory; the limit is " +
         std::to_string(kMaxSharedBytes));

  std::lock_guard lock(launch_mutex());  // launches are synchronous and run one at a time
  const uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
  const size_t workers = size_t(std::min<uint64_t>(settings().workers, blocks));
  while (runners().size() < workers) runners().push_back(std::make_unique<BlockRunner>());

  std::atomic<uint64_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  // Each block runs on an OS thread of its own, started for it: its `static thread_local` __shared__
  // arrays then start zeroed, whatever earlier blocks or launches left (a GPU leaves garbage; zero at
  // least makes every block's start the same, so results never depend on block history).
  auto run_block = [&](BlockRunner& runner, uint64_t b) {
    const dim3 block_idx(unsigned(b % grid.x), unsigned(b / grid.x % grid.y), unsigned(b / (uint64_t(grid.x) * grid.y)));
    try {
      runner.run(block_idx, grid, block, shared_bytes, body);
    } catch (...) {
      std::lock_guard error_lock(error_mutex);
      if (!error) error = std::current_exception();
      next = blocks;  // stop handing out blocks
    }
  };
  auto work = [&](BlockRunner& runner) {
    for (uint64_t b = next++; b < blocks; b = next++) std::thread(run_block, std::ref(runner), b).join();
  };
  std::vector<std::thread> threads_;
  for (size_t w = 1; w < workers; ++w) threads_.emplace_back(work, std::ref(*runners()[w]));
  work(*runners()[0]);
  for (std::thread& thread : threads_) thread.join();
  if (error) std::rethrow_exception(error);
  check_all_guards();
}

namespace {
thread_local std::vector<std::function<void()>>* tls_capture = nullptr;  // the graph being captured
}

bool capturing() { return tls_capture != nullptr; }

void record(std::function<void()> op) { tls_capture->push_back(std::move(op)); }

void* graph_capture(void (*record_ops)(void* context), void* context) {
  if (tls_capture != nullptr) fail("graph capture inside a graph capture");
  auto graph = std::make_unique<std::vector<std::function<void()>>>();
  tls_capture = graph.get();
  try {
    record_ops(context);
  } catch (...) {
    tls_capture = nullptr;
    throw;
  }
  tls_capture = nullptr;
  return graph.release();
}

void graph_launch(void* graph) {
  for (const std::function<void()>& op : *static_cast<std::vector<std::function<void()>>*>(graph)) op();
}

void graph_destroy(void* graph) { delete static_cast<std::vector<std::function<void()>>*>(graph); }

void* device_alloc(size_t bytes) {
  if (capturing()) fail("device allocation during a graph capture (CUDA does not allow cudaMalloc in one)");
  const size_t total = (kGuardBytes + bytes + kGuardBytes + kGuardBytes - 1) / kGuardBytes * kGuardBytes;
  auto* base = static_cast<unsigned char*>(std::aligned_alloc(kGuardBytes, total));
  if (base == nullptr) throw std::bad_alloc();
  std::memset(base, kGuardByte, kGuardBytes);
  std::memset(base + kGuardBytes + bytes, kGuardByte, total - kGuardBytes - bytes);
  std::memset(base + kGuardBytes, 0xFF, bytes);  // like cudaMalloc: contents undefined, here NaN bytes
#if SIMT_ASAN
  ASAN_POISON_MEMORY_REGION(base, kGuardBytes);
  ASAN_POISON_MEMORY_REGION(base + kGuardBytes + bytes, total - kGuardBytes - bytes);
#endif
  std::lock_guard lock(allocations_mutex());
  allocations()[base + kGuardBytes] = {base, bytes, total};
  return base + kGuardBytes;
}

void device_free(void* pointer) {
  if (pointer == nullptr) return;
  Allocation allocation;
  {
    std::lock_guard lock(allocations_mutex());
    auto it = allocations().find(pointer);
    if (it == allocations().end()) fail("device_free of a pointer that device_alloc did not return");
    allocation = it->second;
    allocations().erase(it);
  }
  const std::string problem = check_guards(allocation);
#if SIMT_ASAN
  ASAN_UNPOISON_MEMORY_REGION(allocation.base, allocation.total);
#endif
  std::free(allocation.base);
  if (!problem.empty()) fail(problem);
}

}  // namespace cudamlp::simt
