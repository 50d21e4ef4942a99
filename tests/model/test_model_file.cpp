// Tests for model files (host/model/model_file.cpp): a Model saved as PyTorch nn.Sequential state_dict
// tensors in safetensors, loaded back bitwise with its layer list, files of older cudamlp versions, and
// every way a file can disagree with that layout.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "cudamlp/errors.h"
#include "cudamlp/model.h"
#include "cudamlp/model_file.h"
#include "cudamlp/safetensors.h"
#include "test_helpers.h"

namespace cudamlp {
namespace {

using testing::TempDir;
using testing::throws_file_error;

// An MLP of the given sizes whose values are arbitrary finite 32-bit patterns (subnormals and -0
// included), so a round trip that is not bit-exact cannot pass by luck. Not NaN or infinity: a model
// file holding one is refused (RejectsNanOrInfiniteValuesNamingTheTensorAndIndex).
Model patterned_mlp(const std::vector<int>& sizes, uint32_t seed) {
  uint32_t state = seed;
  auto next_bits = [&] {  // xorshift32: any full-period generator would do
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
  };
  Model model;
  model.network = mlp_network(sizes);
  model.parameters.resize(size_t(model.parameter_count()));
  for (float& value : model.parameters) {
    value = std::bit_cast<float>(next_bits());
    if (!std::isfinite(value)) value = std::bit_cast<float>(std::bit_cast<uint32_t>(value) ^ 0x00800000u);  // exponent 254
  }
  return model;
}

std::vector<uint32_t> bits_of(std::span<const float> values) {
  std::vector<uint32_t> bits;
  for (float v : values) bits.push_back(std::bit_cast<uint32_t>(v));
  return bits;
}

// A state_dict as PyTorch would save it for nn.Sequential(Linear(3, 4), ReLU(), Linear(4, 2)):
// no metadata, tensors listed biases first to show that order does not matter.
SafetensorsFile pytorch_state_dict() {
  SafetensorsFile file;
  file.tensors = {{"0.bias", {4}, {0.1f, 0.2f, 0.3f, 0.4f}},
                  {"2.bias", {2}, {-1.0f, 1.0f}},
                  {"0.weight", {4, 3}, std::vector<float>(12, 0.5f)},
                  {"2.weight", {2, 4}, std::vector<float>(8, -0.25f)}};
  return file;
}

void erase_tensor(SafetensorsFile& file, const std::string& name) {
  std::erase_if(file.tensors, [&](const Tensor& t) { return t.name == name; });
}

// Success when load_model throws a FileError whose message names the file and contains problem.
::testing::AssertionResult load_rejects(const SafetensorsFile& file, const std::string& problem) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_safetensors(path, file);
  return throws_file_error([&] { load_model(path); }, path, problem);
}

// ------------------------------------------------------------------------------------------------
// Saving and loading

TEST(ModelFile, SaveThenLoadIsBitwiseForSeveralArchitectures) {
  const std::vector<std::vector<int>> architectures = {{784, 10, 10, 10}, {3, 1}, {5, 7, 2}};
  for (const auto& sizes : architectures) {
    TempDir dir;
    const Model model = patterned_mlp(sizes, 12345);
    save_model(dir.file("m.safetensors"), model);
    const Model back = load_model(dir.file("m.safetensors"));
    EXPECT_EQ(back.sizes(), sizes);
    EXPECT_TRUE(back.network == model.network);
    EXPECT_EQ(bits_of(back.parameters), bits_of(model.parameters));
  }
}

TEST(ModelFile, SaveThenLoadKeepsAnInitialisedNetwork) {
  TempDir dir;
  const std::vector<int> sizes = {784, 32, 10};
  const Model model = make_mlp(sizes, 7);
  save_model(dir.file("m.safetensors"), model);
  const Model back = load_model(dir.file("m.safetensors"));
  ASSERT_EQ(back.network.layers.size(), 2u);
  EXPECT_EQ(back.parameters, model.parameters);
}

TEST(ModelFile, UsesPyTorchSequentialStateDictNamesAndShapes) {
  TempDir dir;
  save_model(dir.file("m.safetensors"), patterned_mlp({5, 7, 3, 2}, 1));
  const SafetensorsFile file = read_safetensors(dir.file("m.safetensors"));
  std::vector<std::string> names;
  for (const Tensor& t : file.tensors) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}));
  EXPECT_EQ(file.find("0.weight")->shape, (std::vector<int64_t>{7, 5}));  // [out, in], like nn.Linear
  EXPECT_EQ(file.find("0.bias")->shape, (std::vector<int64_t>{7}));
  EXPECT_EQ(file.find("2.weight")->shape, (std::vector<int64_t>{3, 7}));
  EXPECT_EQ(file.find("4.weight")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(file.find("4.bias")->shape, (std::vector<int64_t>{2}));
}

TEST(ModelFile, RecordsLayersArchitectureActivationAndInputScaleInMetadata) {
  TempDir dir;
  save_model(dir.file("m.safetensors"), patterned_mlp({784, 128, 64, 10}, 1));
  const std::map<std::string, std::string> expected = {
      {"format", "pt"},
      {"cudamlp.layers", "[{\"activation\":\"relu\",\"in\":784,\"out\":128},"
                         "{\"activation\":\"relu\",\"in\":128,\"out\":64},"
                         "{\"activation\":\"none\",\"in\":64,\"out\":10}]"},
      {"cudamlp.sizes", "784,128,64,10"},
      {"cudamlp.activation", "relu"},
      {"cudamlp.output", "softmax"},
      {"cudamlp.input_scale", "pixel/255"},
      {"cudamlp.version", "1"},
  };
  EXPECT_EQ(read_safetensors(dir.file("m.safetensors")).metadata, expected);
}

TEST(ModelFile, LoadsAPyTorchStateDictWithoutMetadata) {
  TempDir dir;
  write_safetensors(dir.file("torch.safetensors"), pytorch_state_dict());
  const Model model = load_model(dir.file("torch.safetensors"));
  EXPECT_TRUE(model.network == mlp_network(std::vector<int>{3, 4, 2}));
  EXPECT_EQ(std::vector<float>(model.bias(0).begin(), model.bias(0).end()), (std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}));
  EXPECT_EQ(std::vector<float>(model.weight(1).begin(), model.weight(1).end()), std::vector<float>(8, -0.25f));
}

TEST(ModelFile, LoadsAFileWrittenBeforeTheLayerListWasRecorded) {
  // What cudamlp wrote before 2026-12: the same tensors and keys, no cudamlp.layers.
  TempDir dir;
  const Model model = patterned_mlp({5, 7, 2}, 3);
  SafetensorsFile file = model_to_safetensors(dir.file("old.safetensors"), model);
  ASSERT_EQ(file.metadata.erase("cudamlp.layers"), 1u);
  write_safetensors(dir.file("old.safetensors"), file);
  const Model back = load_model(dir.file("old.safetensors"));
  EXPECT_TRUE(back.network == model.network);
  EXPECT_EQ(bits_of(back.parameters), bits_of(model.parameters));
}

TEST(ModelFile, RejectsALayerListThatIsNotTheTensorsMlp) {
  for (const auto& [layers, problem] : std::vector<std::pair<std::string, std::string>>{
           {"not json", "cudamlp.layers is not JSON"},
           {R"([{"in":3,"out":4,"activation":"none"},{"in":4,"out":2,"activation":"none"}])", "cudamlp.layers is"},
           {R"([{"in":3,"out":4,"activation":"relu"}])", "but the tensors make"},
           {R"([{"in":3,"out":5,"activation":"relu"},{"in":5,"out":2,"activation":"none"}])", "but the tensors make"}}) {
    SafetensorsFile file = pytorch_state_dict();
    file.metadata["cudamlp.layers"] = layers;
    EXPECT_TRUE(load_rejects(file, problem)) << layers;
  }
}

TEST(ModelFile, SaveRefusesAnInconsistentModel) {
  TempDir dir;
  Model model = patterned_mlp({3, 4, 2}, 1);
  model.parameters.pop_back();
  EXPECT_THROW(save_model(dir.file("m.safetensors"), model), FileError);
  EXPECT_THROW(save_model(dir.file("m.safetensors"), Model{}), FileError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.safetensors")));
}

TEST(ModelFile, SaveRefusesANetworkThatIsNotAnMlp) {
  // Its names would be nn.Sequential's with a ReLU between every two Linears: it would load as another net.
  TempDir dir;
  Model model = patterned_mlp({3, 4, 2}, 1);
  model.network.layers[0].activation = Activation::kNone;
  EXPECT_THROW(save_model(dir.file("m.safetensors"), model), FileError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.safetensors")));
}

TEST(ModelFile, ReadsACheckpointsWeightsAndOnlyItsOptimizerTensorsBesides) {
  TempDir dir;
  SafetensorsFile file = pytorch_state_dict();
  file.metadata[kCheckpointKey] = "2";
  file.tensors.push_back({"momentum_buffer.0.bias", {4}, std::vector<float>(4, 1.0f)});
  file.tensors.push_back({"velocity.2.bias", {2}, std::vector<float>(2, 1.0f)});  // a format-1 checkpoint's
  write_safetensors(dir.file("c.safetensors"), file);
  EXPECT_EQ(load_model(dir.file("c.safetensors")).sizes(), (std::vector<int>{3, 4, 2}));
  // Anything else in a checkpoint is a damage, not something to drop.
  file.tensors.push_back({"junk", {1}, {0.0f}});
  EXPECT_TRUE(load_rejects(file, "unexpected tensor 'junk'"));
}

// ------------------------------------------------------------------------------------------------
// Files that do not describe a cudamlp network

TEST(ModelFile, RejectsAFileWithNoTensors) { EXPECT_TRUE(load_rejects(SafetensorsFile{}, "no tensors")); }

TEST(ModelFile, RejectsAMissingBias) {
  SafetensorsFile file = pytorch_state_dict();
  erase_tensor(file, "2.bias");
  EXPECT_TRUE(load_rejects(file, "has no tensor '2.bias'"));
}

TEST(ModelFile, RejectsAMissingMiddleLayer) {
  SafetensorsFile file = pytorch_state_dict();
  for (Tensor& t : file.tensors)  // 0 and 4 present, 2 absent
    if (t.name[0] == '2') t.name[0] = '4';
  EXPECT_TRUE(load_rejects(file, "has no tensor '2."));
}

TEST(ModelFile, RejectsAnUnexpectedTensor) {
  for (const std::string name : {"1.weight", "running_mean", "0.weight_orig", "00.bias", "-2.bias", "2.Weight"}) {
    SafetensorsFile file = pytorch_state_dict();
    file.tensors.push_back({name, {1}, {0.0f}});
    EXPECT_TRUE(load_rejects(file, "unexpected tensor '" + name + "'")) << name;
  }
}

TEST(ModelFile, RejectsLayersThatDoNotChain) {
  SafetensorsFile file = pytorch_state_dict();
  erase_tensor(file, "2.weight");
  file.tensors.push_back({"2.weight", {2, 5}, std::vector<float>(10, 0.0f)});  // expects 4 inputs
  EXPECT_TRUE(load_rejects(file, "'0.weight' outputs 4 values"));
}

TEST(ModelFile, RejectsABiasWhoseLengthIsNotTheWeightRows) {
  SafetensorsFile file = pytorch_state_dict();
  erase_tensor(file, "0.bias");
  file.tensors.push_back({"0.bias", {3}, {0.0f, 0.0f, 0.0f}});
  EXPECT_TRUE(load_rejects(file, "bias length = weight rows"));
}

TEST(ModelFile, RejectsWeightsAndBiasesOfTheWrongRank) {
  SafetensorsFile flat_weight = pytorch_state_dict();
  erase_tensor(flat_weight, "0.weight");
  flat_weight.tensors.push_back({"0.weight", {12}, std::vector<float>(12, 0.0f)});
  EXPECT_TRUE(load_rejects(flat_weight, "a weight is [out, in]"));

  SafetensorsFile matrix_bias = pytorch_state_dict();
  erase_tensor(matrix_bias, "2.bias");
  matrix_bias.tensors.push_back({"2.bias", {2, 1}, {0.0f, 0.0f}});
  EXPECT_TRUE(load_rejects(matrix_bias, "a bias is [out]"));
}

TEST(ModelFile, RejectsLayerSizesOutsideTheLimits) {
  SafetensorsFile wide;
  const int64_t too_wide = kMaxLayerSize + 1;
  wide.tensors = {{"0.weight", {too_wide, 1}, std::vector<float>(static_cast<size_t>(too_wide), 0.0f)},
                  {"0.bias", {too_wide}, std::vector<float>(static_cast<size_t>(too_wide), 0.0f)}};
  EXPECT_TRUE(load_rejects(wide, "layer sizes must be in [1, 65536]"));

  SafetensorsFile empty;
  empty.tensors = {{"0.weight", {0, 3}, {}}, {"0.bias", {0}, {}}};
  EXPECT_TRUE(load_rejects(empty, "layer sizes must be in [1, 65536]"));
}

// A NaN or infinite weight makes every output NaN: eval would print "loss nan", predict null
// probabilities, and --init a run that seems to diverge at its first step.
TEST(ModelFile, RejectsNanOrInfiniteValuesNamingTheTensorAndIndex) {
  SafetensorsFile nan = pytorch_state_dict();
  for (Tensor& t : nan.tensors)
    if (t.name == "2.weight") t.data[5] = std::nanf("");
  EXPECT_TRUE(load_rejects(nan, "tensor '2.weight' holds NaN at index 5"));

  SafetensorsFile inf = pytorch_state_dict();
  for (Tensor& t : inf.tensors)
    if (t.name == "0.bias") t.data[3] = -std::numeric_limits<float>::infinity();
  EXPECT_TRUE(load_rejects(inf, "tensor '0.bias' holds an infinity at index 3"));
}

// An F64 value beyond float's range is an infinity once read as float32: refused the same way.
TEST(ModelFile, RejectsAnF64ValueBeyondFloatRange) {
  TempDir dir;
  const std::string path = dir.file("f64.safetensors");
  const std::vector<double> weight = {1.0, 2.0, 1e300}, bias = {0.0};
  const std::string header = R"({"0.weight":{"dtype":"F64","shape":[1,3],"data_offsets":[0,24]},)"
                             R"("0.bias":{"dtype":"F64","shape":[1],"data_offsets":[24,32]}})";
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((header.size() >> (8 * i)) & 0xFF);
  bytes += header;
  for (const std::vector<double>* values : {&weight, &bias}) {
    std::string raw(values->size() * sizeof(double), '\0');
    std::memcpy(raw.data(), values->data(), raw.size());  // tests run on little-endian hosts only
    bytes += raw;
  }
  testing::write_file(path, bytes);
  EXPECT_TRUE(throws_file_error([&] { load_model(path); }, path, "tensor '0.weight' holds an infinity at index 2"));
}

TEST(ModelFile, RejectsMetadataSizesThatDisagreeWithTheTensors) {
  SafetensorsFile file = pytorch_state_dict();
  file.metadata = {{"cudamlp.sizes", "3,5,2"}};
  EXPECT_TRUE(load_rejects(file, "metadata cudamlp.sizes is '3,5,2' but the tensors have sizes '3,4,2'"));
}

TEST(ModelFile, RejectsMetadataDescribingAnotherNetwork) {
  SafetensorsFile tanh = pytorch_state_dict();
  tanh.metadata = {{"cudamlp.activation", "tanh"}};
  EXPECT_TRUE(load_rejects(tanh, "cudamlp.activation is 'tanh'"));

  SafetensorsFile normalised = pytorch_state_dict();
  normalised.metadata = {{"cudamlp.input_scale", "(pixel/255-0.1307)/0.3081"}};
  EXPECT_TRUE(load_rejects(normalised, "cudamlp.input_scale"));

  SafetensorsFile newer = pytorch_state_dict();
  newer.metadata = {{"cudamlp.version", "2"}};
  EXPECT_TRUE(load_rejects(newer, "cudamlp.version is '2'"));
}

// load_model's message for a file, as the command line prints it (ending at a NUL).
std::string load_message(const SafetensorsFile& file) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  write_safetensors(path, file);
  return testing::error_message([&] { load_model(path); });
}

TEST(ModelFile, QuotesTensorNamesAndMetadataEscapedWholeAndShort) {
  using namespace std::string_literals;
  const std::string control = "\0\x1b[2J"s;  // a NUL, then the escape sequence that clears a terminal
  const std::string long_text(3000, 'x');
  struct Case {
    std::string key, value, words;  // a metadata entry to add, or a tensor when key is empty
  };
  const std::vector<Case> cases = {
      {"", "0.x" + control, R"(unexpected tensor '0.x\x00\x1b[2J')"},
      {"", long_text, "unexpected tensor 'xxxx"},
      {"cudamlp.sizes", "3," + control, R"(cudamlp.sizes is '3,\x00\x1b[2J' but the tensors have sizes '3,4,2')"},
      {"cudamlp.activation", long_text, "cudamlp.activation is 'xxxx"},
      {"cudamlp.layers", "[" + control, R"(cudamlp.layers is not JSON: '[\x00\x1b[2J')"},
      {"cudamlp.layers", "[" + long_text + "]", "cudamlp.layers is not JSON"},
      {"cudamlp.layers", R"([{"in":3,"out":4,"activation":"relu"},{"in":4,"out":2,"activation":")" + long_text + "\"}]",
       "cudamlp.layers is [{"},
  };
  for (const Case& c : cases) {
    SafetensorsFile file = pytorch_state_dict();
    if (c.key.empty()) file.tensors.push_back({c.value, {1}, {0.0f}});
    else file.metadata[c.key] = c.value;
    const std::string message = load_message(file);
    EXPECT_TRUE(testing::is_short_printable_line(message));
    EXPECT_NE(message.find(c.words), std::string::npos) << message;
  }
}

TEST(ModelFile, ReportsAMalformedSafetensorsFileWithItsPath) {
  TempDir dir;
  testing::write_file(dir.file("short.safetensors"), "abc");
  try {
    load_model(dir.file("short.safetensors"));
    FAIL() << "no exception";
  } catch (const FileError& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("short.safetensors")), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace cudamlp
