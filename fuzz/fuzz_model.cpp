// libFuzzer target: the model, checkpoint and golden-file loaders (safetensors plus every check on
// names, shapes and metadata) on arbitrary bytes.
// Run: fuzz/run.sh (or build-fuzz/fuzz/fuzz_model -dict=fuzz/safetensors.dict fuzz/corpus/model).
#include "cudamlp/checkpoint.h"
#include "cudamlp/model_file.h"
#include "fuzz_input.h"
#include "golden_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    const cudamlp::Model model = cudamlp::load_model(path);
    // A loaded model is usable as is: layers chain and the parameters fill the network's layout.
    const auto& layers = model.network.layers;
    for (size_t l = 1; l < layers.size(); ++l)
      if (layers[l].in != layers[l - 1].out) std::abort();
    if (int64_t(model.parameters.size()) != model.parameter_count()) std::abort();
  });
  cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    // A golden file read is one its run can be rerun from: the tensors fit the run's flags.
    const cudamlp::verify::GoldenFile golden = cudamlp::verify::read_golden(path);
    if (int64_t(golden.losses.size()) != golden.run.steps()) std::abort();
    if (int64_t(golden.probabilities.size()) != golden.run.probability_samples() * golden.run.data.classes) std::abort();
    if (golden.model.input_size() != golden.run.data.identity.dim) std::abort();
  });
  return cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    const cudamlp::Checkpoint checkpoint = cudamlp::load_checkpoint(path);
    // Every slot of the optimizer, each in the parameters' layout.
    for (const auto& [slot, values] : checkpoint.state.optimizer.slots)
      if (int64_t(values.size()) != checkpoint.state.model.parameter_count()) std::abort();
  });
}
