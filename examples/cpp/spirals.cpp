// spirals: trains a 2-64-64-3 MLP through cudamlp's public API on three interleaved spirals made in
// memory (2 float features, 3 classes), and prints its test accuracy. Build: examples/cpp/CMakeLists.txt.
// Run: spirals [--device D] (reference, cpu, gpu, gpu-emulated or auto [auto]).
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/model.h"
#include "cudamlp/rng.h"
#include "cudamlp/trainer.h"

constexpr int kClasses = 3;
constexpr double kPi = 3.14159265358979323846;

// n points: arm c = i % 3 at radius t in [0, 1) and angle 4t + 2*pi*c/3 (two thirds of a turn), the angle
// jittered by noise (radians), so the arms interleave and touch near the centre.
cudamlp::Dataset spirals(int64_t n, uint64_t seed, double noise) {
  cudamlp::Rng rng(seed);
  std::vector<float> xy;      // [n, 2] row-major: x, y
  std::vector<uint8_t> arms;  // [n]
  for (int64_t i = 0; i < n; ++i) {
    int arm = static_cast<int>(i % kClasses);
    double t = rng.uniform();
    double angle = 4.0 * t + 2.0 * kPi * arm / kClasses + noise * (2.0 * rng.uniform() - 1.0);
    xy.push_back(static_cast<float>(t * std::cos(angle)));
    xy.push_back(static_cast<float>(t * std::sin(angle)));
    arms.push_back(static_cast<uint8_t>(arm));
  }
  return cudamlp::float_dataset(std::move(xy), n, 2, std::move(arms), kClasses);
}

int main(int argc, char** argv) {
  std::string device = argc == 3 && std::string(argv[1]) == "--device" ? argv[2] : "auto";
  if (argc != 1 && argc != 3) return std::fprintf(stderr, "usage: spirals [--device D]\n"), 2;
  try {
    cudamlp::Dataset train = spirals(3000, 1, 0.2), test = spirals(1000, 2, 0.2);
    cudamlp::TrainOptions options;
    options.epochs = 30;
    options.batch = 64;
    options.lr = 0.01f;
    options.optimizer.kind = cudamlp::OptimizerKind::kAdam;
    std::vector<int> sizes = {2, 64, 64, kClasses};
    auto backend = cudamlp::make_backend(device);
    backend->set_model(cudamlp::make_mlp(sizes, options.seed, cudamlp::InputScale::kNone), options.optimizer);
    cudamlp::train(*backend, train, nullptr, options, [](const cudamlp::EpochReport&) {});
    cudamlp::EvalResult result = cudamlp::evaluate(*backend, test);
    std::printf("spirals on %s: test accuracy %.2f%% (%lld of %lld)\n", backend->name().c_str(),
                100.0 * result.accuracy(), static_cast<long long>(result.correct),
                static_cast<long long>(result.count));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "spirals: %s\n", e.what());
    return 1;
  }
}
