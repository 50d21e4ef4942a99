// Communicator on MPI (Debian's Open MPI): the ranks mpirun started. Collectives are the non-blocking
// MPI_I* calls, polled until they complete or the timeout passes, so that a rank that died or hangs
// makes the others fail with a message instead of waiting forever.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
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

class MpiCommunicator final : public Communicator {
 public:
  // owns_world: this one called MPI_Init and calls MPI_Finalize; otherwise it frees its own comm.
  MpiCommunicator(MPI_Comm comm, double timeout_seconds, bool owns_world)
      : comm_(comm), timeout_(timeout_seconds), owns_world_(owns_world) {
    check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    MPI_Comm node = MPI_COMM_NULL;
    check_mpi(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
    check_mpi(MPI_Comm_rank(node, &local_rank_), "MPI_Comm_rank");
    MPI_Comm_free(&node);
  }

  ~MpiCommunicator() override {
    if (owns_world_) {
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
  double timeout_seconds() const override { return timeout_; }
  std::string description() const override { return mpi_library_name(); }

  void sum(std::span<float> values) override { sum_in_chunks(values, MPI_FLOAT); }
  void sum(std::span<double> values) override { sum_in_chunks(values, MPI_DOUBLE); }

  void broadcast(std::span<std::byte> bytes, int root) override {
    for (size_t first = 0; first < bytes.size(); first += kMaxCount) {
      const int count = int(std::min(kMaxCount, bytes.size() - first));
      MPI_Request request = MPI_REQUEST_NULL;
      check_mpi(MPI_Ibcast(bytes.data() + first, count, MPI_BYTE, root, comm_, &request), "MPI_Ibcast");
      wait(request, "a broadcast from rank " + std::to_string(root));
    }
  }

  std::unique_ptr<Communicator> first_ranks(int count) override {
    MPI_Comm sub = MPI_COMM_NULL;
    check_mpi(MPI_Comm_split(comm_, rank_ < count ? 0 : MPI_UNDEFINED, rank_, &sub), "MPI_Comm_split");
    if (sub == MPI_COMM_NULL) return nullptr;
    return std::make_unique<MpiCommunicator>(sub, timeout_, false);
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
      MPI_Request request = MPI_REQUEST_NULL;
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, values.data() + first, count, type, MPI_SUM, comm_, &request),
                "MPI_Iallreduce");
      wait(request, "an all-reduce");
    }
  }

  // Polls until request completes: spinning first (a collective between processes of one machine takes
  // microseconds), then sleeping between polls, so that waiting ranks leave the cores to the others.
  void wait(MPI_Request& request, const std::string& what) {
    const auto start = std::chrono::steady_clock::now();
    for (int polls = 0;; ++polls) {
      int done = 0;
      check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      if (done) return;
      if (polls < 2000) continue;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      if (polls % 100 == 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > timeout_)
        throw Error("waited " + std::to_string(int(timeout_)) + " s for the other ranks in " + what +
                    ": a rank has died or hangs (--dist-timeout sets how long to wait)");
    }
  }

  MPI_Comm comm_;
  double timeout_;
  bool owns_world_;
  int rank_ = 0;
  int size_ = 1;
  int local_rank_ = 0;
};

}  // namespace

bool distributed_available() { return true; }

std::unique_ptr<Communicator> start_distributed(double timeout_seconds) {
  if (!(timeout_seconds > 0)) throw UsageError("--dist-timeout must be a positive number of seconds");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) throw Error("MPI is already started in this process");
  int provided = 0;
  // Only the main thread calls MPI (OpenMP threads and the emulator's workers never do).
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, timeout_seconds, true);
}

}  // namespace cudamlp
