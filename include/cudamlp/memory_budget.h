// How much memory an input may make cudamlp allocate. A file's header (an IDX file's image count, a
// model's output count) or a flag (--hidden, --batch) sizes buffers; before allocating them the program
// estimates their bytes and refuses, naming the file or flag and the bytes, what the budget cannot hold.
// Without that, a typo or a crafted header ends in std::bad_alloc ("out of memory", with no name or size)
// or, under Linux's overcommit, in the OOM killer's SIGKILL with no message at all.
#pragma once

#include <cstdint>
#include <string>

namespace cudamlp {

// The most one estimate may reach on any machine: 16 GiB. cudamlp trains MLPs on small images; the
// largest cell bench measures (784-4096-4096-10 at batch 8192) needs under 1 GiB and all of MNIST 55 MB,
// so 16 GiB leaves wide room for real work while `--hidden 65536,65536` (69 GB) or a 65536-class
// confusion matrix (34 GB) is a message up front rather than minutes of swapping. It is also the IDX
// reader's bound on one file's pixels.
inline constexpr uint64_t kMaxMemoryBytes = uint64_t{16} << 30;

// What one estimate may reach here: kMaxMemoryBytes, or less where this machine's physical memory or
// this process's limits (ulimit -v, ulimit -d) are lower; `limit` says which, for messages ("the 16.0 GiB
// cudamlp allows itself", "this machine's 7.6 GiB of memory", "the 2.0 GiB ulimit -v allows").
struct MemoryBudget {
  uint64_t bytes = kMaxMemoryBytes;
  std::string limit;
};
MemoryBudget memory_budget();

// "" when `bytes` fit memory_budget(), else what is wrong: "needs 68719476736 bytes (64.0 GiB), more
// than the 16.0 GiB cudamlp allows itself". The caller puts the file or flag in front.
std::string memory_problem(uint64_t bytes);

// "68719476736 bytes (64.0 GiB)": exact for a script, readable for a person.
std::string bytes_text(uint64_t bytes);

}  // namespace cudamlp
