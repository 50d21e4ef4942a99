// What every Communicator offers on top of its collectives.
#include "cudamlp/communicator.h"

#include <array>
#include <vector>

#include "cudamlp/errors.h"

namespace cudamlp {

bool Communicator::any(bool value) {
  std::array<double, 1> count = {value ? 1.0 : 0.0};
  sum(count);
  return count[0] > 0.0;
}

void Communicator::check_same(uint64_t value, const std::string& what) {
  uint64_t root_value = value;
  broadcast(std::as_writable_bytes(std::span(&root_value, 1)), 0);
  // One slot per rank, so that every rank learns which ranks differ and all throw the same message.
  std::vector<double> differs(size_t(size()), 0.0);
  differs[size_t(rank())] = root_value != value ? 1.0 : 0.0;
  sum(differs);
  for (int r = 0; r < size(); ++r)
    if (differs[size_t(r)] > 0.0)
      throw Error(what + " differs between ranks: rank " + std::to_string(r) + "'s is not rank 0's (do all ranks "
                  "run the same command on the same files?)");
}

}  // namespace cudamlp
