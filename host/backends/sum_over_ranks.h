// Data-parallel gradient sums for the host backends (reference, cpu), whose gradients are an Mlp.
#pragma once

#include <vector>

#include "cudamlp/communicator.h"
#include "cudamlp/model.h"

namespace cudamlp {

// values = sum over comm's ranks of scale * values, as one collective. A rank with scale 0 contributes
// zeros whatever its values hold (an empty shard: no backward ran). packed: the caller's buffer for the
// collective, kept between steps so that a step allocates nothing.
void sum_over_ranks(Communicator& comm, Mlp& values, float scale, std::vector<float>& packed);

}  // namespace cudamlp
