// Communicator on MPI (Debian's Open MPI): the ranks mpirun started. Collectives are MPI's blocking
// calls (measured: MPI_Allreduce of 1.9M floats between two ranks takes 1.2 ms, MPI_Iallreduce polled
// to completion 3.4 ms), each watched by a watchdog thread: one that waits past the timeout (a rank
// died or hangs) ends the process through the on_timeout callback instead of waiting forever.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "cudamlp/communicator.h"
#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return std::string(text, size_t(length));
}

void check_mpi(int code, const char* call) {
  if (code != MPI_SUCCESS) throw Error(std::string(call) + " failed: " + mpi_error_text(code));
}

// "Open MPI v4.1.4": the first line of the library's version text.
std::string mpi_library_name() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "MPI";
  std::string name(text, size_t(length));
  name = name.substr(0, name.find_first_of(",\n"));
  return name;
}

// Watches the collective in progress (at most one: only the main thread calls MPI) from a thread of
// its own, and calls on_timeout, which must end the process, when one has waited too long.
class Watchdog {
 public:
  Watchdog(double timeout_seconds, std::function<void(const std::string&)> on_timeout)
      : timeout_(timeout_seconds), on_timeout_(std::move(on_timeout)), thread_([this] { watch(); }) {}

  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  double timeout_seconds() const { return timeout_; }

  // Runs collective() under watch; `what` names it in the message ("an all-reduce").
  template <typename Collective>
  void run(const char* what, Collective collective) {
    {
      std::lock_guard lock(mutex_);
      what_ = what;
      since_ = std::chrono::steady_clock::now();
    }
    collective();
    std::lock_guard lock(mutex_);
    what_ = nullptr;
  }

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      if (what_ == nullptr ||
          std::chrono::duration<double>(std::chrono::steady_clock::now() - since_).count() <= timeout_)
        continue;
      const std::string message = "waited " + std::to_string(int(timeout_)) + " s for the other ranks in " + what_ +
                                  ": a rank has died or hangs (--dist-timeout sets how long to wait)";
      lock.unlock();
      on_timeout_(message);
      std::_Exit(1);  // on_timeout must not return; if it does, end anyway
    }
  }

  const double timeout_;
  const std::function<void(const std::string&)> on_timeout_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  const char* what_ = nullptr;  // the collective in progress, or null
  std::chrono::steady_clock::time_point since_;
  std::thread thread_;  // last: starts once the rest is ready
};

class MpiCommunicator final : public Communicator {
 public:
  // The world's communicator (MPI_Init done; this one calls MPI_Finalize) owns the watchdog; those of
  // first_ranks() share it.
  MpiCommunicator(MPI_Comm comm, std::shared_ptr<Watchdog> watchdog, bool owns_world)
      : comm_(comm), watchdog_(std::move(watchdog)), owns_world_(owns_world) {
    check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    MPI_Comm node = MPI_COMM_NULL;
    watchdog_->run("MPI_Comm_split_type", [&] {
      check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
    });
    check_mpi(MPI_Comm_rank(node, &local_rank_), "MPI_Comm_rank");
    MPI_Comm_free(&node);
  }

  ~MpiCommunicator() override {
    if (owns_world_) {
      watchdog_.reset();  // before MPI goes: it must not fire while the process ends
      MPI_Finalize();
    } else {
      MPI_Comm_free(&comm_);
    }
  }

  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  double timeout_seconds() const override { return watchdog_->timeout_seconds(); }
  std::string description() const override { return mpi_library_name(); }

  void sum(std::span<float> values) override { sum_in_chunks(values, MPI_FLOAT); }
  void sum(std::span<double> values) override { sum_in_chunks(values, MPI_DOUBLE); }

  void broadcast(std::span<std::byte> bytes, int root) override {
    for (size_t first = 0; first < bytes.size(); first += kMaxCount) {
      const int count = int(std::min(kMaxCount, bytes.size() - first));
      watchdog_->run("a broadcast", [&] {
        check_mpi(MPI_Bcast(bytes.data() + first, count, MPI_BYTE, root, comm_), "MPI_Bcast");
      });
    }
  }

  void barrier() override {
    watchdog_->run("a barrier", [&] {
      MPI_Request request = MPI_REQUEST_NULL;
      check_mpi(MPI_Ibarrier(comm_, &request), "MPI_Ibarrier");
      for (int done = 0; !done;) {
        check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
        if (!done) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }

  std::unique_ptr<Communicator> first_ranks(int count) override {
    MPI_Comm sub = MPI_COMM_NULL;
    watchdog_->run("MPI_Comm_split", [&] {
      check_mpi(MPI_Comm_split(comm_, rank_ < count ? 0 : MPI_UNDEFINED, rank_, &sub), "MPI_Comm_split");
    });
    if (sub == MPI_COMM_NULL) return nullptr;
    return std::make_unique<MpiCommunicator>(sub, watchdog_, false);
  }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this is for the compiler
  }

 private:
  static constexpr size_t kMaxCount = INT_MAX / 2;  // MPI counts are int

  template <typename T>
  void sum_in_chunks(std::span<T> values, MPI_Datatype type) {
    for (size_t first = 0; first < values.size(); first += kMaxCount) {
      const int count = int(std::min(kMaxCount, values.size() - first));
      watchdog_->run("an all-reduce", [&] {
        check_mpi(MPI_Allreduce(MPI_IN_PLACE, values.data() + first, count, type, MPI_SUM, comm_), "MPI_Allreduce");
      });
    }
  }

  MPI_Comm comm_;
  std::shared_ptr<Watchdog> watchdog_;
  bool owns_world_;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
};

}  // namespace

bool distributed_available() { return true; }

std::unique_ptr<Communicator> start_distributed(double timeout_seconds,
                                                std::function<void(const std::string&)> on_timeout) {
  if (!(timeout_seconds > 0 && timeout_seconds <= kMaxDistTimeoutSeconds))
    throw UsageError("--dist-timeout must be a number of seconds in (0, " +
                     std::to_string(int64_t(kMaxDistTimeoutSeconds)) + "]");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw Error("MPI is already started in this process");
  int provided = 0;
  // Only the main thread calls MPI (OpenMP threads, the emulator's workers and the watchdog never do).
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  return std::make_unique<MpiCommunicator>(
      MPI_COMM_WORLD, std::make_shared<Watchdog>(timeout_seconds, std::move(on_timeout)), true);
}

}  // namespace cudamlp
