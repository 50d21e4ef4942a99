// A build without MPI: no distributed training.
#include "cudamlp/communicator.h"
#include "cudamlp/errors.h"

namespace cudamlp {

bool distributed_available() { return false; }

std::unique_ptr<Communicator> start_distributed(double /*timeout_seconds*/,
                                                std::function<void(const std::string&)> /*on_timeout*/) {
  throw UsageError("--distributed: this build has no MPI (install libopenmpi-dev, e.g. with scripts/setup.sh, "
                   "and build again)");
}

}  // namespace cudamlp
