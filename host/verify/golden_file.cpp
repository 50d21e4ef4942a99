// See golden_file.h. The run is stored as JSON in the metadata, read back field by field: a missing or
// mistyped field, a value out of range or tensors that do not fit the run are one-line FileErrors.
#include "golden_file.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "cudamlp/errors.h"
#include "cudamlp/model_file.h"
#include "cudamlp/run_limits.h"
#include "cudamlp/safetensors.h"

namespace cudamlp::verify {

namespace {

constexpr const char* kVersionKey = "cudamlp.golden.version";
constexpr const char* kRunKey = "cudamlp.golden.run";
constexpr const char* kLossesTensor = "golden.losses";
constexpr const char* kProbabilitiesTensor = "golden.probabilities";
// Bounds of a golden run: a file to commit and rerun in seconds, not a training job.
constexpr int64_t kMaxSamples = 60000;
constexpr int64_t kMaxSteps = 100000;
constexpr int kMaxWidth = 4096;
constexpr size_t kMaxHiddenLayers = 8;
constexpr int kMaxImageSide = 64;

nlohmann::ordered_json run_json(const GoldenRun& run) {
  const GoldenData& d = run.data;
  nlohmann::ordered_json data = {{"kind", d.kind}, {"samples", d.samples}, {"classes", d.classes}};
  if (d.kind == "synthetic") {
    data["rows"] = d.rows;
    data["cols"] = d.cols;
    data["seed"] = std::to_string(d.seed);  // as text: JSON numbers lose 64-bit integers
  }
  data["dim"] = d.identity.dim;
  data["checksum"] = checksum_text(d.identity.checksum);
  nlohmann::ordered_json json = {{"hidden", run.hidden},
                                 {"epochs", run.epochs},
                                 {"batch", run.batch},
                                 {"lr", run.lr},
                                 {"optimizer", optimizer_name(run.optimizer.kind)}};
  for (const HyperParameter& hyper : hyper_parameters(run.optimizer.kind)) json[hyper.name] = run.optimizer.*hyper.value;
  if (run.optimizer.kind == OptimizerKind::kSgd) json["nesterov"] = run.optimizer.nesterov;
  json["dropout"] = run.dropout;
  json["seed"] = std::to_string(run.seed);
  json["data"] = data;
  return json;
}

// A JSON value for a message: a scalar as written (cut to 48 characters), a list or object by its type
// (dump() recurses, and a hostile file can nest deep).
std::string json_excerpt(const nlohmann::json& value) {
  if (value.is_structured()) return std::string("a JSON ") + value.type_name();
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(0, 48);
}

// An integer of type T: a JSON integer within T's range (nlohmann's get<int> would cast 1e300 or 32.9).
template <typename T>
T integer_value(const std::string& path, const nlohmann::json& value, const std::string& name) {
  const bool fits = value.is_number_integer() &&
                    (value.is_number_unsigned() ? value.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max())
                                                : value.get<int64_t>() >= int64_t(std::numeric_limits<T>::min()) &&
                                                      value.get<int64_t>() <= int64_t(std::numeric_limits<T>::max()));
  if (!fits) throw FileError(path, "the golden run's " + name + " is not an integer in range: " + json_excerpt(value));
  return value.get<T>();
}

// Reads field `key` of object `json` as T, or throws naming the file and the field.
template <typename T>
T field(const std::string& path, const nlohmann::json& json, const std::string& key, const std::string& where) {
  const auto it = json.find(key);
  if (it == json.end()) throw FileError(path, "the golden run has no " + where + key);
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return integer_value<T>(path, *it, where + key);
  } else if constexpr (std::is_same_v<T, std::vector<int>>) {
    if (!it->is_array()) throw FileError(path, "the golden run's " + where + key + " is not a list: " + json_excerpt(*it));
    std::vector<int> values;
    for (const nlohmann::json& value : *it) values.push_back(integer_value<int>(path, value, where + key));
    return values;
  } else if constexpr (std::is_same_v<T, float>) {
    const bool fits = it->is_number() && std::isfinite(it->get<double>()) &&
                      std::abs(it->get<double>()) <= double(std::numeric_limits<float>::max());
    if (!fits) throw FileError(path, "the golden run's " + where + key + " is not a finite float: " + json_excerpt(*it));
    return float(it->get<double>());
  } else {
    try {
      return it->get<T>();
    } catch (const nlohmann::json::exception&) {
      throw FileError(path, "the golden run's " + where + key + " is not a " +
                                (std::is_same_v<T, std::string> ? "string" : std::is_same_v<T, bool> ? "boolean" : "number") +
                                ": " + json_excerpt(*it));
    }
  }
}

uint64_t seed_field(const std::string& path, const nlohmann::json& json, const std::string& key,
                    const std::string& where) {
  const std::string text = field<std::string>(path, json, key, where);
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string::npos)
    throw FileError(path, "the golden run's " + where + key + " is not a decimal seed: " + text.substr(0, 48));
  errno = 0;
  const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
  if (errno == ERANGE) throw FileError(path, "the golden run's " + where + key + " is above 2^64 - 1");
  return value;
}

GoldenRun parse_run(const std::string& path, const std::string& text) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw FileError(path, std::string(kRunKey) + " is not valid JSON");
  }
  if (!json.is_object()) throw FileError(path, std::string(kRunKey) + " is not a JSON object");
  GoldenRun run;
  run.hidden = field<std::vector<int>>(path, json, "hidden", "");
  run.epochs = field<int>(path, json, "epochs", "");
  run.batch = field<int64_t>(path, json, "batch", "");
  run.lr = field<float>(path, json, "lr", "");
  const std::string optimizer = field<std::string>(path, json, "optimizer", "");
  const std::optional<OptimizerKind> kind = optimizer_kind(optimizer);
  if (!kind) throw FileError(path, "the golden run's optimizer '" + optimizer.substr(0, 48) + "' is not sgd, adam or adamw");
  run.optimizer = OptimizerConfig{.kind = *kind};
  for (const HyperParameter& hyper : hyper_parameters(*kind)) run.optimizer.*hyper.value = field<float>(path, json, hyper.name, "");
  if (*kind == OptimizerKind::kSgd) run.optimizer.nesterov = field<bool>(path, json, "nesterov", "");
  run.dropout = field<float>(path, json, "dropout", "");
  run.seed = seed_field(path, json, "seed", "");
  const auto data = json.find("data");
  if (data == json.end() || !data->is_object()) throw FileError(path, "the golden run has no data object");
  GoldenData& d = run.data;
  d.kind = field<std::string>(path, *data, "kind", "data.");
  if (d.kind != "synthetic" && d.kind != "mnist")
    throw FileError(path, "the golden run's data.kind '" + d.kind.substr(0, 48) + "' is not synthetic or mnist");
  d.samples = field<int64_t>(path, *data, "samples", "data.");
  d.classes = field<int>(path, *data, "classes", "data.");
  if (d.kind == "synthetic") {
    d.rows = field<int>(path, *data, "rows", "data.");
    d.cols = field<int>(path, *data, "cols", "data.");
    d.seed = seed_field(path, *data, "seed", "data.");
  }
  d.identity.samples = d.samples;
  d.identity.num_classes = d.classes;
  d.identity.dim = field<int64_t>(path, *data, "dim", "data.");
  const std::string checksum = field<std::string>(path, *data, "checksum", "data.");
  if (checksum.size() != 16 || checksum.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw FileError(path, "the golden run's data.checksum is not 16 hex digits: " + checksum.substr(0, 48));
  d.identity.checksum = std::stoull(checksum, nullptr, 16);
  try {
    check_golden_run(run);
  } catch (const UsageError& e) {
    throw FileError(path, std::string("the golden run is not one cudamlp records: ") + e.what());
  }
  return run;
}

void expect_shape(const std::string& path, const Tensor* tensor, const char* name, std::vector<int64_t> shape) {
  if (tensor == nullptr) throw FileError(path, std::string("no tensor ") + name + " (not a complete golden file)");
  if (tensor->shape != shape) {
    std::string want;
    for (size_t i = 0; i < shape.size(); ++i) want += (i ? ", " : "") + std::to_string(shape[i]);
    throw FileError(path, std::string("tensor ") + name + " does not fit the run's flags: expected shape [" + want + "]");
  }
  check_finite(path, *tensor);
}

}  // namespace

std::string checksum_text(uint64_t checksum) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(checksum));
  return text;
}

void check_golden_run(const GoldenRun& run) {
  const auto fail = [](const std::string& flag, const std::string& problem) { throw UsageError(flag + ": " + problem); };
  if (run.hidden.size() > kMaxHiddenLayers) fail("--hidden", "at most " + std::to_string(kMaxHiddenLayers) + " hidden layers");
  for (const int width : run.hidden)
    if (width < 1 || width > kMaxWidth) fail("--hidden", "each size must be in [1, " + std::to_string(kMaxWidth) + "]");
  if (const std::string p = epochs_problem(run.epochs); !p.empty()) fail("--epochs", p);
  if (const std::string p = batch_problem(run.batch); !p.empty()) fail("--batch", p);
  if (const std::string p = learning_rate_problem(run.lr); !p.empty()) fail("--lr", p);
  check_optimizer(run.optimizer);
  if (!(run.dropout >= 0.0f && run.dropout < 1.0f)) fail("--dropout", "must be in [0, 1)");
  const GoldenData& d = run.data;
  if (d.samples < 1 || d.samples > kMaxSamples) fail("--samples", "must be in [1, " + std::to_string(kMaxSamples) + "]");
  if (d.classes < 2 || d.classes > 256) fail("--classes", "must be in [2, 256]");
  if (d.kind == "synthetic") {
    if (d.rows < 1 || d.rows > kMaxImageSide || d.cols < 1 || d.cols > kMaxImageSide)
      fail("--image", "rows and cols must be in [1, " + std::to_string(kMaxImageSide) + "]");
    if (d.identity.dim != 0 && d.identity.dim != int64_t(d.rows) * d.cols)
      fail("--image", "the data's dim is not rows * cols");
  }
  if (d.identity.dim < 1 || d.identity.dim > kMaxImageSide * kMaxImageSide)
    fail("--data", "samples of " + std::to_string(d.identity.dim) + " values (at most " +
                       std::to_string(kMaxImageSide * kMaxImageSide) + ")");
  if (run.steps() > kMaxSteps) fail("--epochs", "the run would take " + std::to_string(run.steps()) +
                                              " steps; a golden run takes at most " + std::to_string(kMaxSteps));
}

void write_golden(const std::string& path, const GoldenFile& golden) {
  SafetensorsFile file = model_to_safetensors(path, golden.model);
  const int64_t n = golden.run.probability_samples();
  file.tensors.push_back({kLossesTensor, {int64_t(golden.losses.size())}, golden.losses});
  file.tensors.push_back({kProbabilitiesTensor, {n, int64_t(golden.run.data.classes)}, golden.probabilities});
  file.metadata[kVersionKey] = std::to_string(kGoldenFormatVersion);
  file.metadata[kRunKey] = run_json(golden.run).dump();
  write_safetensors(path, file);
}

GoldenFile read_golden(const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  const auto version = file.metadata.find(kVersionKey);
  if (version == file.metadata.end())
    throw FileError(path, file.metadata.count("cudamlp.version")
                              ? "is a cudamlp model or checkpoint, not a golden file (record one with cudamlp verify --record)"
                              : "is not a cudamlp golden file (no cudamlp.golden.version metadata)");
  if (version->second != std::to_string(kGoldenFormatVersion))
    throw FileError(path, "golden file format version '" + version->second.substr(0, 16) + "'; this cudamlp reads version " +
                              std::to_string(kGoldenFormatVersion) + " (record it again with this cudamlp)");
  const auto run_text = file.metadata.find(kRunKey);
  if (run_text == file.metadata.end()) throw FileError(path, std::string("no ") + kRunKey + " metadata");
  GoldenFile golden;
  golden.run = parse_run(path, run_text->second);
  const GoldenRun& run = golden.run;
  expect_shape(path, file.find(kLossesTensor), kLossesTensor, {run.steps()});
  expect_shape(path, file.find(kProbabilitiesTensor), kProbabilitiesTensor,
               {run.probability_samples(), int64_t(run.data.classes)});
  golden.losses = file.find(kLossesTensor)->data;
  golden.probabilities = file.find(kProbabilitiesTensor)->data;
  // The rest is the model, with the model file's metadata: every check of a model file applies.
  SafetensorsFile model_file;
  for (Tensor& tensor : file.tensors)
    if (tensor.name != kLossesTensor && tensor.name != kProbabilitiesTensor) model_file.tensors.push_back(std::move(tensor));
  for (const auto& [key, value] : file.metadata)
    if (key != kVersionKey && key != kRunKey) model_file.metadata[key] = value;
  golden.model = model_from_safetensors(path, std::move(model_file));
  std::vector<int> sizes = {int(run.data.identity.dim)};
  sizes.insert(sizes.end(), run.hidden.begin(), run.hidden.end());
  sizes.push_back(run.data.classes);
  if (golden.model.sizes() != sizes)
    throw FileError(path, "the stored model's sizes do not fit the run's flags (--hidden and the data)");
  return golden;
}

}  // namespace cudamlp::verify
