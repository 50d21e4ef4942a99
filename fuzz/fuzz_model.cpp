// libFuzzer target: the model and checkpoint loaders (safetensors plus every check on names, shapes and
// metadata) on arbitrary bytes.
// Run: fuzz/run.sh (or build-fuzz/fuzz/fuzz_model -dict=fuzz/safetensors.dict fuzz/corpus/model).
#include "cudamlp/checkpoint.h"
#include "cudamlp/model_file.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    const cudamlp::Mlp model = cudamlp::load_model(path);
    // A loaded model is usable as is: layers chain and every buffer has its stated size.
    for (size_t l = 0; l < model.layers.size(); ++l) {
      const cudamlp::DenseLayer& layer = model.layers[l];
      if (layer.weight.size() != size_t(layer.in) * size_t(layer.out) || layer.bias.size() != size_t(layer.out))
        std::abort();
      if (l > 0 && layer.in != model.layers[l - 1].out) std::abort();
    }
  });
  return cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    const cudamlp::Checkpoint checkpoint = cudamlp::load_checkpoint(path);
    if (!cudamlp::same_shape(checkpoint.state.model, checkpoint.state.velocity)) std::abort();
  });
}
