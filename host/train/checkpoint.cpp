// Checkpoint files: save_checkpoint and load_checkpoint. The format is described in checkpoint.h; this
// file maps it onto a model file (model_file.h) plus the optimizer's tensors and metadata keys, and
// trusts nothing it reads back: a checkpoint comes from a user's disk like any other input.
#include "cudamlp/checkpoint.h"

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>

#include "cudamlp/errors.h"
#include "cudamlp/model_file.h"
#include "cudamlp/regularization.h"
#include "cudamlp/safetensors.h"
#include "format.h"

namespace cudamlp {

namespace {

constexpr const char* kFormatVersion = "3";
// Version 2: SGD only, no weight decay, Nesterov or learning-rate schedule (all read as off).
constexpr const char* kVersion2 = "2";
// Version 1: SGD only, its momentum buffers named "velocity.<tensor>".
constexpr const char* kVersion1 = "1";
constexpr const char* kVersion1Prefix = "velocity.";

// ------------------------------------------------------------------------------------------------
// Numbers as metadata text: decimal integers, floats in the shortest form that reads back exactly.

template <typename T>
std::string to_text(T value) {
  char text[64];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, value);
  return text;
}

// The metadata of one checkpoint file, read key by key; a missing or malformed value is a FileError
// that names the file and the key.
class MetadataReader {
 public:
  MetadataReader(const std::string& path, const std::map<std::string, std::string>& metadata)
      : path_(path), metadata_(metadata) {}

  const std::string& text(const std::string& key) const {
    const auto it = metadata_.find(key);
    if (it == metadata_.end()) throw FileError(path_, "checkpoint metadata has no '" + key + "'");
    return it->second;
  }

  // An optional key's value, or nullptr.
  const std::string* find(const std::string& key) const {
    const auto it = metadata_.find(key);
    return it == metadata_.end() ? nullptr : &it->second;
  }

  // The whole value must be the number: no sign where T has none, no spaces, nothing after it.
  template <typename T>
  T number(const std::string& key, int base = 10) const {
    const std::string& value = text(key);
    T parsed{};
    std::from_chars_result result;
    if constexpr (std::is_floating_point_v<T>) {
      result = std::from_chars(value.data(), value.data() + value.size(), parsed);
    } else {
      result = std::from_chars(value.data(), value.data() + value.size(), parsed, base);
    }
    if (value.empty() || result.ec != std::errc() || result.ptr != value.data() + value.size())
      throw bad(key, "is not a number of the expected kind");
    return parsed;
  }

  // An optional key (absent in older files): its number, or `otherwise`.
  template <typename T>
  T number_or(const std::string& key, T otherwise) const {
    return find(key) != nullptr ? number<T>(key) : otherwise;
  }

  bool boolean(const std::string& key) const {
    const std::string& value = text(key);
    if (value != "true" && value != "false") throw bad(key, "is not true or false");
    return value == "true";
  }

  const std::string& path() const { return path_; }

  FileError bad(const std::string& key, const std::string& problem) const {
    const auto it = metadata_.find(key);
    const std::string value = it == metadata_.end() ? "''" : quoted_excerpt(it->second);
    return FileError(path_, "checkpoint metadata " + key + " = " + value + " " + problem);
  }

 private:
  const std::string& path_;
  const std::map<std::string, std::string>& metadata_;
};

// Steps that train `samples` samples of one epoch in batches of `batch` (the last one partial).
int64_t steps_for(int64_t samples, int64_t batch) { return samples / batch + (samples % batch != 0); }

}  // namespace

DataIdentity identify_data(const Dataset& data) {
  // FNV-1a 64: one multiply per byte, ~50 ms for MNIST's 47 MB; enough to tell data sets apart, not a
  // defence against someone forging one.
  // Float features hash as their bytes, after a tag byte that keeps them apart from the same bytes as
  // pixels; uint8 data hashes as it always has, so older checkpoints still resume.
  uint64_t hash = 0xcbf29ce484222325ull;
  const auto mix = [&hash](const void* bytes, size_t size) {
    for (size_t i = 0; i < size; ++i) hash = (hash ^ static_cast<const uint8_t*>(bytes)[i]) * 0x100000001b3ull;
  };
  if (data.has_float_features()) {
    const uint8_t tag = 0xF3;
    mix(&tag, 1);
    mix(data.features.data(), data.features.size() * sizeof(float));
  } else {
    mix(data.pixels.data(), data.pixels.size());
  }
  mix(data.labels.data(), data.labels.size());
  return {data.count, data.dim(), data.num_classes, hash};
}

// ------------------------------------------------------------------------------------------------
// Writer

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  const TrainSnapshot& state = checkpoint.state;
  const TrainOptions& run = checkpoint.options;
  check_state(state.optimizer, run.optimizer, state.model.parameter_count(), "cannot save checkpoint " + path);
  SafetensorsFile file = model_to_safetensors(path, state.model);
  // Each slot as the model's tensors, "<slot>.<tensor>": PyTorch's optimizer state, tensor by tensor.
  for (const std::string& slot : optimizer_slots(run.optimizer)) {
    const std::vector<float>& values = state.optimizer.slots.at(slot);
    for (const ParameterTensor& tensor : state.model.network.tensors()) {
      const auto first = values.begin() + tensor.offset;
      file.tensors.push_back({slot + "." + tensor.name, tensor.shape, std::vector<float>(first, first + tensor.size)});
    }
  }

  // The best validation epoch's weights (keep best), "best.<tensor>", shaped as the model's.
  if (!state.best_parameters.empty()) {
    if (int64_t(state.best_parameters.size()) != state.model.parameter_count())
      throw Error("cannot save checkpoint " + path + ": the best epoch's weights are not shaped like the model");
    for (const ParameterTensor& tensor : state.model.network.tensors()) {
      const auto first = state.best_parameters.begin() + tensor.offset;
      file.tensors.push_back(
          {kBestWeightsPrefix + tensor.name, tensor.shape, std::vector<float>(first, first + tensor.size)});
    }
  }

  const TrainPosition& at = state.position;
  const DataIdentity& data = checkpoint.data;
  file.metadata.insert({
      {"cudamlp.run.val_split", to_text(checkpoint.val_split)},
      {"cudamlp.run.early_stop", to_text(run.early_stop)},
      {"cudamlp.run.keep", run.keep_best ? "best" : "last"},
      {"cudamlp.position.best_epoch", to_text(at.best_epoch)},
      {"cudamlp.position.best_validation_correct", to_text(at.best_validation_correct)},
  });
  file.metadata.insert({
      {kCheckpointKey, kFormatVersion},
      {"cudamlp.optimizer", optimizer_name(run.optimizer.kind)},
      {"cudamlp.position.epoch", to_text(at.epoch)},
      {"cudamlp.position.sample", to_text(at.sample)},
      {"cudamlp.position.step", to_text(at.step)},
      {"cudamlp.position.epoch_loss_sum", to_text(at.epoch_loss_sum)},
      {"cudamlp.position.epoch_correct", to_text(at.epoch_correct)},
      {"cudamlp.run.epochs", to_text(run.epochs)},
      {"cudamlp.run.batch", to_text(run.batch)},
      {"cudamlp.run.lr", to_text(run.lr)},
      {"cudamlp.run.seed", to_text(run.seed)},
      {"cudamlp.run.shuffle", run.shuffle ? "true" : "false"},
      {"cudamlp.run.limit", to_text(checkpoint.limit)},
      {"cudamlp.data.samples", to_text(data.samples)},
      {"cudamlp.data.dim", to_text(data.dim)},
      {"cudamlp.data.classes", to_text(data.num_classes)},
      {"cudamlp.data.checksum", hex64(data.checksum)},
      {"cudamlp.device", checkpoint.device},
  });
  for (const HyperParameter& hyper : hyper_parameters(run.optimizer.kind))
    file.metadata[std::string("cudamlp.run.") + hyper.name] = to_text(run.optimizer.*hyper.value);
  if (run.optimizer.kind == OptimizerKind::kSgd) file.metadata["cudamlp.run.nesterov"] = run.optimizer.nesterov ? "true" : "false";
  file.metadata.insert({{"cudamlp.run.lr_schedule", lr_schedule_name(run.schedule.kind)},
                        {"cudamlp.run.warmup_steps", to_text(run.schedule.warmup_steps)},
                        {"cudamlp.run.lr_min", to_text(run.schedule.lr_min)},
                        {"cudamlp.run.lr_step_epochs", to_text(run.schedule.step_epochs)},
                        {"cudamlp.run.lr_step_gamma", to_text(run.schedule.step_gamma)}});
  file.metadata["cudamlp.run.dropout"] = to_text(run.regularization.dropout);
  // The augmentation (regularization.h): absent in files before it, read as none.
  const Augmentation& augmentation = run.regularization.augmentation;
  file.metadata.insert({{"cudamlp.run.rotate", to_text(augmentation.rotate_degrees)},
                        {"cudamlp.run.scale", to_text(augmentation.scale)},
                        {"cudamlp.run.shear", to_text(augmentation.shear)},
                        {"cudamlp.run.shift", to_text(augmentation.shift)},
                        {"cudamlp.run.elastic_alpha", to_text(augmentation.elastic_alpha)},
                        {"cudamlp.run.elastic_sigma", to_text(augmentation.elastic_sigma)},
                        {"cudamlp.run.image_rows", to_text(augmentation.rows)},
                        {"cudamlp.run.image_cols", to_text(augmentation.cols)}});
  if (!checkpoint.history.empty()) file.metadata["cudamlp.history"] = checkpoint.history;
  write_safetensors(path, file);
}

// ------------------------------------------------------------------------------------------------
// Reader

namespace {

// The checkpoint's format version, after making sure the file is a checkpoint this cudamlp reads.
std::string checkpoint_version(const std::string& path, const SafetensorsFile& file) {
  const auto version = file.metadata.find(kCheckpointKey);
  if (version == file.metadata.end())
    throw FileError(path, "is not a cudamlp checkpoint (no cudamlp.checkpoint metadata); to start from a "
                          "model's weights use --init");
  if (version->second != kFormatVersion && version->second != kVersion2 && version->second != kVersion1)
    throw FileError(path, "is a checkpoint of format version " + quoted_excerpt(version->second) +
                              "; this cudamlp reads versions " + kVersion1 + " to " + kFormatVersion);
  return version->second;
}

// The optimizer the run used: cudamlp.optimizer ("sgd"; version 1 files, SGD's only, have none) and its
// hyper-parameters, cudamlp.run.<name>.
OptimizerConfig read_optimizer(const std::string& version, const MetadataReader& meta) {
  OptimizerConfig config;
  if (version != kVersion1) {
    const std::optional<OptimizerKind> kind = optimizer_kind(meta.text("cudamlp.optimizer"));
    if (!kind) throw meta.bad("cudamlp.optimizer", "is not an optimizer this cudamlp knows");
    config.kind = *kind;
  }
  const bool current = version == kFormatVersion;
  for (const HyperParameter& hyper : hyper_parameters(config.kind)) {
    const std::string key = std::string("cudamlp.run.") + hyper.name;
    if (!current && key == "cudamlp.run.weight_decay") continue;  // older runs had none
    config.*hyper.value = meta.number<float>(key);
    if (!hyper.valid(config.*hyper.value)) throw meta.bad(key, std::string("is not in ") + hyper.range);
  }
  if (current && config.kind == OptimizerKind::kSgd) config.nesterov = meta.boolean("cudamlp.run.nesterov");
  if (config.nesterov && config.momentum == 0) throw meta.bad("cudamlp.run.nesterov", "is true without a momentum");
  return config;
}

// The best validation epoch's weights, "best.<tensor>": all of the model's tensors or none.
void read_best_weights(const std::string& path, std::map<std::string, Tensor>& tensors, TrainSnapshot& state) {
  if (tensors.empty()) return;
  for (const ParameterTensor& tensor : state.model.network.tensors()) {
    const auto it = tensors.find(kBestWeightsPrefix + tensor.name);
    if (it == tensors.end() || it->second.shape != tensor.shape)
      throw FileError(path, "checkpoint has no tensor '" + std::string(kBestWeightsPrefix) + tensor.name +
                                "' shaped like tensor '" + tensor.name + "' (the best epoch's weights)");
    check_finite(path, it->second);
    state.best_parameters.insert(state.best_parameters.end(), it->second.data.begin(), it->second.data.end());
    tensors.erase(it);
  }
  if (!tensors.empty())
    throw FileError(path, "checkpoint has a tensor " + quoted_excerpt(tensors.begin()->first) +
                              " that is not one of the model's");
}

// Splits the file's tensors into the model (checked by the model loader) and the optimizer's slots, each
// slot tensor shaped like the model tensor it belongs to, every slot of `optimizer` there, nothing else.
void read_state(const std::string& path, SafetensorsFile file, const std::string& version,
                const OptimizerConfig& optimizer, TrainSnapshot& state) {
  SafetensorsFile weights;
  std::map<std::string, Tensor> slot_tensors;  // by their names in this format
  std::map<std::string, Tensor> best_tensors;  // "best.<tensor>"
  weights.metadata = file.metadata;
  for (Tensor& tensor : file.tensors) {
    if (is_model_tensor_name(tensor.name)) {
      weights.tensors.push_back(std::move(tensor));
    } else if (is_best_weights_tensor_name(tensor.name)) {
      std::string name = tensor.name;
      best_tensors.emplace(std::move(name), std::move(tensor));
    } else {
      std::string name = tensor.name;
      slot_tensors.emplace(std::move(name), std::move(tensor));
    }
  }
  state.model = model_from_safetensors(path, std::move(weights));
  const int64_t count = state.model.parameter_count();
  for (const std::string& slot : optimizer_slots(optimizer)) {
    const std::string prefix = version == kVersion1 ? kVersion1Prefix : slot + ".";
    std::vector<float>& values = state.optimizer.slots[slot];
    values.reserve(size_t(count));
    for (const ParameterTensor& tensor : state.model.network.tensors()) {
      const auto it = slot_tensors.find(prefix + tensor.name);
      if (it == slot_tensors.end() || it->second.shape != tensor.shape)
        throw FileError(path, "checkpoint has no optimizer tensor '" + prefix + tensor.name + "' shaped like tensor '" +
                                  tensor.name + "' (" + optimizer_name(optimizer.kind) + " keeps " + slot + ")");
      check_finite(path, it->second);  // a NaN momentum would poison the weights at the first step
      values.insert(values.end(), it->second.data.begin(), it->second.data.end());
      slot_tensors.erase(it);
    }
  }
  if (!slot_tensors.empty())
    throw FileError(path, "checkpoint has a tensor " + quoted_excerpt(slot_tensors.begin()->first) +
                              " that is neither the model's nor one of its optimizer's");
  read_best_weights(path, best_tensors, state);
}

// The validation flags and the best epoch so far; files of before 2026-12 have none of them.
void read_validation(const MetadataReader& meta, Checkpoint& checkpoint) {
  TrainPosition& at = checkpoint.state.position;
  TrainOptions& run = checkpoint.options;
  checkpoint.val_split = meta.number_or<double>("cudamlp.run.val_split", 0.0);
  if (!(checkpoint.val_split >= 0 && checkpoint.val_split < 1))
    throw meta.bad("cudamlp.run.val_split", "is not 0 (none) or a fraction in (0, 1)");
  run.early_stop = meta.number_or<int64_t>("cudamlp.run.early_stop", 0);
  if (run.early_stop < 0) throw meta.bad("cudamlp.run.early_stop", "is negative");
  const std::string* keep = meta.find("cudamlp.run.keep");
  if (keep != nullptr && *keep != "best" && *keep != "last") throw meta.bad("cudamlp.run.keep", "is not best or last");
  run.keep_best = keep != nullptr && *keep == "best";
  at.best_epoch = meta.number_or<int64_t>("cudamlp.position.best_epoch", 0);
  at.best_validation_correct = meta.number_or<int64_t>("cudamlp.position.best_validation_correct", 0);
}

// The position, the run's options and the data's identity, each value on its own.
void read_run(const MetadataReader& meta, Checkpoint& checkpoint) {
  TrainPosition& at = checkpoint.state.position;
  TrainOptions& run = checkpoint.options;
  DataIdentity& data = checkpoint.data;
  at.epoch = meta.number<int64_t>("cudamlp.position.epoch");
  at.sample = meta.number<int64_t>("cudamlp.position.sample");
  at.step = meta.number<int64_t>("cudamlp.position.step");
  at.epoch_loss_sum = meta.number<double>("cudamlp.position.epoch_loss_sum");
  at.epoch_correct = meta.number<int64_t>("cudamlp.position.epoch_correct");
  const int64_t epochs = meta.number<int64_t>("cudamlp.run.epochs");
  run.batch = meta.number<int64_t>("cudamlp.run.batch");
  run.lr = meta.number<float>("cudamlp.run.lr");
  run.seed = meta.number<uint64_t>("cudamlp.run.seed");
  run.shuffle = meta.boolean("cudamlp.run.shuffle");
  checkpoint.limit = meta.number<int64_t>("cudamlp.run.limit");
  if (meta.find("cudamlp.run.lr_schedule") != nullptr) {  // versions 1 and 2: constant
    const std::optional<LrScheduleKind> kind = lr_schedule_kind(meta.text("cudamlp.run.lr_schedule"));
    if (!kind) throw meta.bad("cudamlp.run.lr_schedule", "is not a schedule this cudamlp knows");
    run.schedule.kind = *kind;
    run.schedule.warmup_steps = meta.number<int64_t>("cudamlp.run.warmup_steps");
    run.schedule.lr_min = meta.number<float>("cudamlp.run.lr_min");
    run.schedule.step_epochs = meta.number<int64_t>("cudamlp.run.lr_step_epochs");
    run.schedule.step_gamma = meta.number<float>("cudamlp.run.lr_step_gamma");
  }
  if (meta.find("cudamlp.run.rotate") != nullptr) {  // files before augmentation: none
    Augmentation& a = run.regularization.augmentation;
    a.rotate_degrees = meta.number<float>("cudamlp.run.rotate");
    a.scale = meta.number<float>("cudamlp.run.scale");
    a.shear = meta.number<float>("cudamlp.run.shear");
    a.shift = meta.number<float>("cudamlp.run.shift");
    a.elastic_alpha = meta.number<float>("cudamlp.run.elastic_alpha");
    a.elastic_sigma = meta.number<float>("cudamlp.run.elastic_sigma");
    a.rows = meta.number<int>("cudamlp.run.image_rows");
    a.cols = meta.number<int>("cudamlp.run.image_cols");
  }
  data.samples = meta.number<int64_t>("cudamlp.data.samples");
  data.dim = meta.number<int64_t>("cudamlp.data.dim");
  data.num_classes = meta.number<int>("cudamlp.data.classes");
  const std::string& checksum = meta.text("cudamlp.data.checksum");
  if (checksum.size() != 16) throw meta.bad("cudamlp.data.checksum", "is not 16 hex digits");
  data.checksum = meta.number<uint64_t>("cudamlp.data.checksum", 16);
  checkpoint.device = meta.text("cudamlp.device");
  if (const auto history = meta.find("cudamlp.history")) checkpoint.history = *history;
  // Files from before dropout have none: their runs trained without it.
  if (meta.find("cudamlp.run.dropout") != nullptr) {
    run.regularization.dropout = meta.number<float>("cudamlp.run.dropout");
    if (!(run.regularization.dropout >= 0.0f && run.regularization.dropout < 1.0f))
      throw meta.bad("cudamlp.run.dropout", "is not in [0, 1)");
  }
  read_validation(meta, checkpoint);

  // The limits the command line's flags have (run_limits.h): a run no flag could start is a damage.
  for (const auto& [key, problem] : {std::pair{"cudamlp.run.epochs", epochs_problem(epochs)},
                                     std::pair{"cudamlp.run.batch", batch_problem(run.batch)},
                                     std::pair{"cudamlp.run.lr", learning_rate_problem(run.lr)}})
    if (!problem.empty()) throw meta.bad(key, problem);
  run.epochs = int(epochs);
  if (checkpoint.limit < 0) throw meta.bad("cudamlp.run.limit", "is negative");
  if (data.samples >= 1 && run.batch >= 1) {
    try {
      check_lr_schedule(run.schedule, run.lr, run.epochs * steps_for(data.samples, run.batch));
    } catch (const UsageError& e) {
      throw meta.bad("cudamlp.run.lr_schedule", std::string("does not fit the run: ") + e.what());
    }
  }
  if (data.samples < 1) throw meta.bad("cudamlp.data.samples", "is not a positive sample count");
  try {
    Regularization augmentation_only;
    augmentation_only.augmentation = run.regularization.augmentation;
    check_regularization(augmentation_only, data.dim, "the augmentation");
  } catch (const UsageError& e) {
    throw meta.bad("cudamlp.run.rotate", std::string("and the other augmentation values do not fit: ") + e.what());
  }
}

// The validation flags and the best epoch: early stopping and keep best need a validation set, the best
// epoch is one already trained, and its weights are there exactly when keep best needs them.
void check_validation(const MetadataReader& meta, const Checkpoint& checkpoint) {
  const TrainPosition& at = checkpoint.state.position;
  const TrainOptions& run = checkpoint.options;
  const bool validated = checkpoint.val_split > 0;
  if (run.early_stop > 0 && !validated) throw meta.bad("cudamlp.run.early_stop", "needs cudamlp.run.val_split");
  if (run.keep_best && !validated) throw meta.bad("cudamlp.run.keep", "needs cudamlp.run.val_split");
  if (at.best_epoch < 0 || at.best_epoch > at.epoch || (at.best_epoch > 0 && !validated))
    throw meta.bad("cudamlp.position.best_epoch", "is not 0 or an epoch already validated");
  if (at.best_validation_correct < 0 || (at.best_epoch == 0 && at.best_validation_correct != 0))
    throw meta.bad("cudamlp.position.best_validation_correct", "does not fit cudamlp.position.best_epoch");
  const bool needs_best = run.keep_best && at.best_epoch > 0;
  if (needs_best != !checkpoint.state.best_parameters.empty())
    throw FileError(meta.path(), needs_best ? "checkpoint has no best epoch's weights ('best.0.weight', ...), which "
                                              "cudamlp.run.keep = best needs"
                                            : "checkpoint has best epoch's weights ('best.*') but keeps no best epoch");
}

// How the values fit together: data the model takes, a position the run's options can reach.
void check_run(const MetadataReader& meta, const Checkpoint& checkpoint) {
  const TrainPosition& at = checkpoint.state.position;
  const TrainOptions& run = checkpoint.options;
  const DataIdentity& data = checkpoint.data;
  const Model& model = checkpoint.state.model;
  if (data.dim != model.input_size())
    throw meta.bad("cudamlp.data.dim", "disagrees with the model's " + std::to_string(model.input_size()) + " inputs");
  if (data.num_classes != model.output_size())
    throw meta.bad("cudamlp.data.classes",
                   "disagrees with the model's " + std::to_string(model.output_size()) + " outputs");
  if (at.epoch < 0 || at.epoch > run.epochs)
    throw meta.bad("cudamlp.position.epoch", "is outside [0, " + std::to_string(run.epochs) + "] (cudamlp.run.epochs)");
  if (at.sample < 0 || at.sample > data.samples || (at.sample % run.batch != 0 && at.sample != data.samples))
    throw meta.bad("cudamlp.position.sample", "is not a batch boundary of an epoch of " +
                                                  std::to_string(data.samples) + " samples in batches of " +
                                                  std::to_string(run.batch));
  if (at.epoch == run.epochs && at.sample != 0)
    throw meta.bad("cudamlp.position.sample", "lies past the run's last epoch");
  // Steps are fully determined by the position; a mismatch means a damaged or hand-edited file. The
  // first test keeps the product below from overflowing.
  const int64_t per_epoch = steps_for(data.samples, run.batch);
  if (at.epoch > INT64_MAX / per_epoch - 1 || at.step != at.epoch * per_epoch + steps_for(at.sample, run.batch))
    throw meta.bad("cudamlp.position.step", "disagrees with the position (epoch " + std::to_string(at.epoch) +
                                                ", sample " + std::to_string(at.sample) + ")");
  if (at.epoch_correct < 0 || at.epoch_correct > at.sample)
    throw meta.bad("cudamlp.position.epoch_correct", "is outside [0, position.sample]");
  if (!std::isfinite(at.epoch_loss_sum) || at.epoch_loss_sum < 0)
    throw meta.bad("cudamlp.position.epoch_loss_sum", "is not a finite non-negative sum");
  check_validation(meta, checkpoint);
}

}  // namespace

Checkpoint load_checkpoint(const std::string& path) {
  SafetensorsFile file = read_safetensors(path);
  const std::string version = checkpoint_version(path, file);
  const std::map<std::string, std::string> metadata = file.metadata;
  const MetadataReader meta(path, metadata);
  Checkpoint checkpoint;
  checkpoint.options.optimizer = read_optimizer(version, meta);
  read_state(path, std::move(file), version, checkpoint.options.optimizer, checkpoint.state);
  if (version == kFormatVersion) meta.text("cudamlp.run.lr_schedule");  // format 3 always has one: else damaged
  read_run(meta, checkpoint);
  check_run(meta, checkpoint);
  return checkpoint;
}

}  // namespace cudamlp
