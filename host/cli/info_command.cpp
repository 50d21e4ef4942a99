// `cudamlp info`: architecture, parameter count and tensors of a model file.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "cudamlp/model_file.h"
#include "cudamlp/safetensors.h"

namespace cudamlp::cli {

namespace {

struct InfoArgs {
  std::string model;
  bool json = false;
};

int run_info(const InfoArgs& args) {
  const Model model = load_model(args.model);  // validates the file as a model
  const SafetensorsFile file = read_safetensors(args.model);
  if (args.json) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const Tensor& tensor : file.tensors) tensors.push_back({{"name", tensor.name}, {"shape", tensor.shape}});
    std::cout << nlohmann::json{{"model", args.model},
                                {"sizes", model.sizes()},
                                {"parameters", model.parameter_count()},
                                {"tensors", tensors},
                                {"metadata", file.metadata}}
                     .dump()
              << std::endl;
    return 0;
  }
  std::cout << args.model << "\n";
  std::cout << "  layers      " << join_sizes(model.sizes())
            << " (ReLU after each hidden layer, softmax output)\n";
  std::cout << "  parameters  " << model.parameter_count() << "\n";
  std::cout << "  input       " << model.input_size()
            << (model.network.input_scale == InputScale::kPixel255 ? " values, x = pixel / 255\n"
                                                                    : " float32 features, used as given\n");
  for (const Tensor& tensor : file.tensors) {
    std::vector<int> shape(tensor.shape.begin(), tensor.shape.end());
    std::cout << "  tensor      " << tensor.name << " [" << join_sizes(shape, ", ") << "]\n";
  }
  for (const auto& [key, value] : file.metadata) std::cout << "  metadata    " << key << " = " << value << "\n";
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& parent) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* app = parent.add_subcommand("info", "Show a model's architecture and parameter count");
  app->add_option("model", args->model, "Model file (safetensors)")->required()->check(CLI::ExistingFile);
  app->add_flag("--json", args->json, "Print one JSON object instead of text");
  return {app, [args] { return run_info(*args); }};
}

}  // namespace cudamlp::cli
