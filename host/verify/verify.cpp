// See verify.h.
#include "verify.h"

#include <memory>

#include "cudamlp/backend.h"
#include "cudamlp/errors.h"
#include "cudamlp/gpu_info.h"
#include "device_op_runner.h"
#include "op_checks.h"
#include "planted_bug.h"
#include "step_check.h"
#if CUDAMLP_HAVE_CPU_BACKEND
#include "cpu_op_runner.h"
#endif

namespace cudamlp::verify {

namespace {

struct Engine {
  const char* name;     // in the table: "custom", "cublas"
  const char* gemm;     // --gemm
  GemmEngine engine;
};
const Engine kEngines[] = {{"custom", "custom", GemmEngine::kCustom}, {"cublas", "cublas", GemmEngine::kCublas}};

const DeviceOps& device_ops_of(const std::string& device) {
  if (device == "gpu-emulated") return emulated_ops();
  const GpuInfo gpu = query_gpu();
  if (!gpu.usable || cuda_ops() == nullptr) throw Error("--device gpu: no GPU to verify: " + gpu.description);
  return *cuda_ops();
}

// The whole-step checks: a few networks and batches (quick), or the grid.
void check_steps(Backend& backend, bool quick, const std::function<void(const Comparison&)>& emit) {
  StepPhases* phases = dynamic_cast<StepPhases*>(&backend);
  if (phases == nullptr) throw Error(backend.name() + ": the backend has no step phases to compare");
  const auto run = [&](const Network& network, int64_t batch, float dropout,
                       InputScale input_scale = InputScale::kPixel255) {
    for (const Comparison& row : check_training_step(backend, *phases, network, batch, dropout, input_scale))
      emit(row);
  };
  if (quick) {
    run(mlp_network(std::vector<int>{7, 1}), 1, 0.0f);
    run(mlp_network(std::vector<int>{33, 7}), 3, 0.0f);
    run(mlp_network(std::vector<int>{127, 33, 129, 3}), 64, 0.3f);
    run(network_with_a_linear_hidden_layer(), 3, 0.0f);
    run(mlp_network(std::vector<int>{2, 7, 3}), 3, 0.0f, InputScale::kNone);
  } else {
    for (const std::vector<int>& sizes : kFloatFeatureNetworks)
      for (const int64_t batch : {int64_t{1}, int64_t{3}, int64_t{64}})
        run(mlp_network(sizes), batch, 0.0f, InputScale::kNone);
    for (const std::vector<int>& sizes : network_grid())
      for (const int64_t batch : {int64_t{1}, int64_t{3}, int64_t{64}}) {
        run(mlp_network(sizes), batch, 0.0f);
        run(mlp_network(sizes), batch, 0.3f);
      }
    run(network_with_a_linear_hidden_layer(), 3, 0.0f);
    run(network_with_a_linear_hidden_layer(), 64, 0.5f);
  }
  for (const Comparison& row : check_training_run(backend)) emit(row);
}

}  // namespace

std::vector<std::string> devices_to_verify() {
  std::vector<std::string> devices;
  devices.push_back(query_gpu().usable && cuda_ops() != nullptr ? "gpu" : "gpu-emulated");
#if CUDAMLP_HAVE_CPU_BACKEND
  devices.push_back("cpu");
#endif
  return devices;
}

void verify_device(const std::string& device, bool quick, const std::function<void(const Comparison&)>& row) {
  const auto emit_as = [&](const std::string& backend) {
    return [&row, backend](const Comparison& c) {
      Comparison named = c;
      named.backend = backend;
      row(named);
    };
  };
  if (device == "cpu") {
#if CUDAMLP_HAVE_CPU_BACKEND
    std::unique_ptr<OpRunner> ops = with_planted_bug(make_cpu_op_runner());
    check_every_op(*ops, quick, emit_as("cpu"));
    std::unique_ptr<Backend> backend = make_backend("cpu");
    check_steps(*backend, quick, emit_as("cpu"));
    return;
#else
    throw UsageError("--device cpu: this build has no cpu backend (configured with CUDAMLP_CPU=OFF)");
#endif
  }
  if (device == "gpu" || device == "gpu-emulated") {
    const DeviceOps& device_ops = device_ops_of(device);
    for (const Engine& engine : kEngines) {
      const std::string name = device + " " + engine.name;
      std::unique_ptr<OpRunner> ops = with_planted_bug(make_device_op_runner(device_ops, device, engine.engine));
      check_every_op(*ops, quick, emit_as(name));
      BackendOptions options;
      options.gemm = engine.gemm;
      std::unique_ptr<Backend> backend = make_backend(device, options);
      check_steps(*backend, quick, emit_as(name));
    }
    return;
  }
  throw UsageError("--device " + device + ": not a backend to verify (expected cpu, gpu, gpu-emulated or all)");
}

}  // namespace cudamlp::verify
