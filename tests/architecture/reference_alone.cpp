// The reference backend linked with nothing but its own closure (core and the backend contract), for
// tests/architecture: it must link, and train a step, without the cpu backend, the GPU backend, the
// kernels or the emulator. A call from the reference into any of them would leave a symbol unresolved.
#include <cstdio>
#include <vector>

#include "cudamlp/model.h"
#include "reference_backend.h"

int main() {
  using namespace cudamlp;
  Dataset data;
  data.count = 4;
  data.rows = 1;
  data.cols = 3;
  data.num_classes = 2;
  data.pixels = {0, 50, 100, 150, 200, 250, 10, 20, 30, 40, 50, 60};
  data.labels = {0, 1, 0, 1};
  ReferenceBackend backend;
  backend.set_model(make_mlp(std::vector<int>{3, 4, 2}, 1), {OptimizerKind::kSgd, 0.9f});
  backend.set_training_data(data);
  backend.begin_epoch({data.count, 1, 0, true});
  backend.train_batch(0, 4, {0.1f, 0});
  const BatchStats stats = backend.epoch_stats();
  std::printf("reference alone: trained %lld samples, loss %g\n", static_cast<long long>(stats.count), stats.loss);
  return stats.count == 4 ? 0 : 1;
}
