// The memory budget of estimates made before allocating; see memory_budget.h.
#include "cudamlp/memory_budget.h"

#include <sys/resource.h>
#include <unistd.h>

#include "format.h"

namespace cudamlp {

namespace {

std::string gib_text(uint64_t bytes) { return format("%.1f GiB", double(bytes) / double(uint64_t{1} << 30)); }

// The soft limit of one resource, or UINT64_MAX when there is none.
uint64_t resource_limit(int resource) {
  rlimit limit{};
  if (getrlimit(resource, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return uint64_t(limit.rlim_cur);
}

}  // namespace

MemoryBudget memory_budget() {
  MemoryBudget budget{kMaxMemoryBytes, "the " + gib_text(kMaxMemoryBytes) + " cudamlp allows itself"};
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0 && uint64_t(pages) * uint64_t(page_size) < budget.bytes) {
    budget.bytes = uint64_t(pages) * uint64_t(page_size);
    budget.limit = "this machine's " + gib_text(budget.bytes) + " of memory";
  }
  for (const auto& [resource, name] : {std::pair{RLIMIT_AS, "ulimit -v"}, std::pair{RLIMIT_DATA, "ulimit -d"}}) {
    const uint64_t limit = resource_limit(resource);
    if (limit < budget.bytes) budget = {limit, "the " + gib_text(limit) + " " + name + " allows this process"};
  }
  return budget;
}

std::string memory_problem(uint64_t bytes) {
  const MemoryBudget budget = memory_budget();
  if (bytes <= budget.bytes) return "";
  return "needs " + bytes_text(bytes) + ", more than " + budget.limit;
}

std::string bytes_text(uint64_t bytes) {
  return format("%llu bytes (%s)", (unsigned long long)bytes, gib_text(bytes).c_str());
}

}  // namespace cudamlp
