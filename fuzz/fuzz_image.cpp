// libFuzzer target: the picture readers (PNG through libpng, PGM P2/P5) on arbitrary bytes, and for a
// picture they accept, the MNIST-style preprocessing that `predict` applies to it.
// Run: fuzz/run.sh (or build-fuzz/fuzz/fuzz_image fuzz/corpus/image).
#include "cudamlp/image.h"
#include "cudamlp/mnist_digit.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return cudamlp::fuzz::read_input(data, size, [](const std::string& path) {
    const cudamlp::GrayImage image = cudamlp::load_image(path);
    if (image.width < 1 || image.height < 1 ||
        image.pixels.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height))
      std::abort();
    cudamlp::mnist_digit_from_image(image);
  });
}
