// The processes that train one model together (data parallelism): `mpirun -np N cudamlp train
// --distributed`. Each rank trains its shard of every global minibatch; gradients and metrics are summed
// over the ranks, so every rank takes the very step a single process would. A backend or trainer given
// no communicator (nullptr) trains alone.
//
// Every call here is collective: all ranks make the same calls in the same order with the same sizes.
// No call waits forever: a rank that died or hangs makes the others end after the timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace cudamlp {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;        // 0 .. size() - 1; rank 0 alone writes files and prints
  virtual int size() const = 0;        // how many ranks train together
  virtual int local_rank() const = 0;  // rank among those on this machine: which GPU a rank takes
  virtual std::string description() const = 0;  // what carries the ranks: "Open MPI v4.1.4"
  virtual double timeout_seconds() const = 0;    // how long a collective waits for the other ranks

  // In place: every rank ends with the sum over all ranks of `values` (host memory).
  virtual void sum(std::span<float> values) = 0;
  virtual void sum(std::span<double> values) = 0;
  // In place: every rank ends with root's bytes.
  virtual void broadcast(std::span<std::byte> bytes, int root) = 0;
  // Returns when every rank has called it. Waiting ranks sleep between polls: they leave the cores to
  // those still working (the ranks a benchmark is not measuring).
  virtual void barrier() = 0;
  // The ranks [0, count) as a communicator of their own, for those ranks; nullptr for the others.
  // Collective over this communicator's ranks.
  virtual std::unique_ptr<Communicator> first_ranks(int count) = 0;
  // Ends every rank's process at once with `exit_code`, after a fatal error on this one.
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // True on every rank when `value` is true on any of them (a stop request seen by one rank).
  bool any(bool value);
  // Throws Error on every rank unless `value` is the same on all of them; `what` names it ("the
  // training data", "the initial weights") in the message, with the first rank that differs.
  void check_same(uint64_t value, const std::string& what);
};

// Whether this build can train across processes (it was built with MPI).
bool distributed_available();

// The longest a collective may wait (--dist-timeout): 11.6 days, longer than any step could take, and
// small enough that the messages' whole seconds and the watchdog's clock arithmetic stay exact.
inline constexpr double kMaxDistTimeoutSeconds = 1e6;

// Joins the ranks started by mpirun (MPI_Init). A collective that has waited timeout_seconds (in
// (0, kMaxDistTimeoutSeconds]) for the other ranks calls on_timeout (from a watchdog thread) with a
// message naming the call; on_timeout must end the process (mpirun then ends the others). Throws UsageError in a build without MPI. One per
// process: MPI cannot be started again after the communicator is destroyed (MPI_Finalize).
std::unique_ptr<Communicator> start_distributed(double timeout_seconds,
                                                std::function<void(const std::string& message)> on_timeout);

// The shard of a global batch of `count` samples that `rank` of `ranks` trains: [begin, end), as offsets
// into the batch. Shards differ in size by at most one sample; a rank's shard is empty when count < ranks.
struct Shard {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
inline Shard shard_of(int64_t count, int rank, int ranks) {
  return {count * rank / ranks, count * (rank + 1) / ranks};
}

}  // namespace cudamlp
