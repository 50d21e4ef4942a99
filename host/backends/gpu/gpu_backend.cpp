// The gpu backend: the training step as a sequence of DeviceOps calls; see gpu_backend.h.
#include "gpu_backend.h"

#include <algorithm>
#include <utility>

#include "cudamlp/dropout_mask.h"
#include "cudamlp/errors.h"
#include "cudamlp/rng.h"

namespace cudamlp {

namespace {

DeviceBuffer upload(const DeviceOps& ops, const void* data, size_t bytes) {
  DeviceBuffer buffer(ops, bytes);
  if (bytes > 0) ops.to_device(buffer.as<void>(), data, bytes);
  return buffer;
}

template <typename T>
DeviceBuffer upload(const DeviceOps& ops, const std::vector<T>& values) {
  return upload(ops, values.data(), values.size() * sizeof(T));
}

template <typename T>
std::vector<T> download(const DeviceOps& ops, const T* device, size_t count) {
  std::vector<T> values(count);
  ops.synchronize();
  if (count > 0) ops.to_host(values.data(), device, count * sizeof(T));
  return values;
}

template <typename T>
std::vector<T> download(const DeviceOps& ops, const DeviceBuffer& buffer, size_t count) {
  return download(ops, buffer.as<const T>(), count);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Set-up: the model, the optimizer, the training set
// ---------------------------------------------------------------------------------------------

GpuBackend::GpuBackend(const DeviceOps& ops, GemmEngine engine, bool choose_per_layer, bool cuda_graphs,
                       Communicator* communicator, std::unique_ptr<DeviceAllReduce> all_reduce)
    : Backend(communicator), ops_(ops), all_reduce_(std::move(all_reduce)), engine_(engine),
      choose_per_layer_(choose_per_layer), cuda_graphs_(cuda_graphs && ops.graph_capture != nullptr) {
  if (communicator != nullptr && communicator->size() > 1) {
    if (all_reduce_ == nullptr) throw Error("gpu backend: training with several ranks needs a device all-reduce");
    cuda_graphs_ = false;
  }
  step_values_ = DeviceBuffer(ops_, sizeof(StepValues));  // before the stream: nothing to leak if it throws
  const StepValues first{};  // forward() before any step reads the epoch from it
  ops_.to_device(step_values_.as<void>(), &first, sizeof first);
  if (ops_.stream_create != nullptr) stream_ = ops_.stream_create();
}

GpuBackend::~GpuBackend() {
  drop_graphs();
  if (stream_ != nullptr) ops_.stream_destroy(stream_);
}

void GpuBackend::drop_graphs() {
  for (auto& [batch, graph] : graphs_)
    if (graph != nullptr) ops_.graph_destroy(graph);
  graphs_.clear();
}

std::string GpuBackend::name() const {
  std::string engine = engine_ == GemmEngine::kCustom ? "custom" : engine_ == GemmEngine::kCublas ? "cublas" : "cublas-tf32";
  if (choose_per_layer_) engine = "auto: custom below " + std::to_string(kCublasFromWeights) + " weights, else " + engine;
  return std::string(ops_.name == std::string("cuda") ? "gpu" : "gpu-emulated") + " (" + engine + " GEMM)";
}

void GpuBackend::set_model(const Model& model, const OptimizerConfig& optimizer) {
  if (model.network.layers.empty()) throw Error("gpu backend: the model has no layers");
  if (int64_t(model.parameters.size()) != model.parameter_count())
    throw Error("gpu backend: the model has " + std::to_string(model.parameters.size()) +
                " parameter values, its network " + std::to_string(model.parameter_count()));
  // Everything allocated and uploaded first, then committed without a throw: a failed set_model (out of
  // device memory) leaves the old model, whose layers point into the old buffers.
  const std::vector<float> zeros(size_t(model.parameter_count()), 0.0f);
  DeviceBuffer parameters = upload(ops_, model.parameters);
  DeviceBuffer gradients = upload(ops_, zeros);
  std::vector<DeviceBuffer> slots;
  for (size_t s = 0; s < optimizer_slots(optimizer).size(); ++s) slots.push_back(upload(ops_, zeros));
  std::vector<Layer> layers;
  for (size_t l = 0; l < model.network.layers.size(); ++l) {
    const LayerSpec& spec = model.network.layers[l];
    Layer layer;
    layer.in = spec.in;
    layer.out = spec.out;
    layer.relu = spec.activation == Activation::kRelu;
    layer.engine = choose_per_layer_ && int64_t(spec.in) * spec.out < kCublasFromWeights ? GemmEngine::kCustom : engine_;
    layer.weight = parameters.as<float>() + model.network.weight_offset(l);
    layer.bias = parameters.as<float>() + model.network.bias_offset(l);
    layer.weight_grad = gradients.as<float>() + model.network.weight_offset(l);
    layer.bias_grad = gradients.as<float>() + model.network.bias_offset(l);
    layers.push_back(layer);
  }
  drop_graphs();  // they point at the old buffers
  network_ = model.network;
  optimizer_ = optimizer;
  parameter_count_ = model.parameter_count();
  parameters_ = std::move(parameters);
  gradients_ = std::move(gradients);
  slots_ = std::move(slots);
  layers_ = std::move(layers);
  capacity_ = 0;  // activation widths changed
  activations_.clear();
  deltas_.clear();
  for (DeviceBuffer& buffer : predict_buffers_) buffer = DeviceBuffer();  // sized again for the new widths
  predict_probs_ = DeviceBuffer();
  predict_capacity_ = 0;
  // A regularization was checked against the old network's inputs: a new model starts without one.
  regularization_ = {};
  augment_scratch_ = DeviceBuffer();
}

std::vector<float> GpuBackend::download(const DeviceBuffer& buffer) const {
  return cudamlp::download<float>(ops_, buffer, size_t(parameter_count_));
}

Model GpuBackend::model() const { return {network_, download(parameters_)}; }
std::vector<float> GpuBackend::gradients() const { return download(gradients_); }

OptimizerState GpuBackend::optimizer_state() const {
  OptimizerState state;
  const std::vector<std::string> names = optimizer_slots(optimizer_);
  for (size_t s = 0; s < names.size(); ++s) state.slots[names[s]] = download(slots_[s]);
  return state;
}

void GpuBackend::set_optimizer_state(const OptimizerState& state) {
  check_state(state, optimizer_, parameter_count_, "gpu backend");
  const std::vector<std::string> names = optimizer_slots(optimizer_);
  for (size_t s = 0; s < names.size(); ++s)
    ops_.to_device(slots_[s].as<void>(), state.slots.at(names[s]).data(), size_t(parameter_count_) * sizeof(float));
}

void GpuBackend::set_regularization(const Regularization& regularization) {
  if (layers_.empty()) throw Error("gpu backend: set_regularization before set_model");
  check_regularization(regularization, network_.input_size(), "gpu backend");
  const bool more_scratch = regularization.augmentation.elastic_alpha > 0 && augment_scratch_.as<void>() == nullptr;
  if (!(regularization == regularization_)) drop_graphs();  // captured with the old gather's launches
  regularization_ = regularization;
  if (more_scratch && capacity_ > 0)  // the step buffers exist without the elastic fields: size them anew
    augment_scratch_ = DeviceBuffer(ops_, 2 * size_t(capacity_) * size_t(network_.input_size()) * sizeof(float));
}

void GpuBackend::set_training_data(const Dataset& data) {
  if (!data.has_labels()) throw Error("gpu backend: the training set has no labels");
  drop_graphs();
  samples_ = data.count;
  dim_ = int(data.dim());
  input_scale_ = data.input_scale;
  // Uploaded once as stored: uint8 pixels (47 MB for MNIST) or float32 features.
  samples_buffer_ = data.has_float_features() ? upload(ops_, data.features) : upload(ops_, data.pixels);
  labels_ = upload(ops_, data.labels);
  order_ = DeviceBuffer(ops_, size_t(samples_) * sizeof(int64_t));
  keys_ = DeviceBuffer(ops_, size_t(samples_) * sizeof(uint64_t));
  totals_ = DeviceBuffer(ops_, sizeof(EpochTotals));
  epoch_started_ = false;
}

void GpuBackend::reserve_batch(int64_t batch) {
  if (layers_.empty()) throw Error("gpu backend: no model (set_model first)");
  if (batch <= capacity_) return;
  drop_graphs();
  activations_.clear();
  deltas_.clear();
  capacity_ = 0;
  try {
    allocate_batch_buffers(batch);
  } catch (const Error& e) {
    const std::vector<int> sizes = network_.sizes();
    size_t floats = 0;  // what the buffers of this batch size take, for the message
    for (const int size : sizes) floats += 2 * size_t(batch) * size_t(size);
    floats += 2 * size_t(batch) * size_t(sizes.back());
    throw Error("gpu backend: not enough device memory for batch size " + std::to_string(batch) + " (its buffers need " +
                std::to_string(floats * sizeof(float) >> 20) + " MiB; try a smaller --batch): " + e.what());
  }
  capacity_ = batch;
}

void GpuBackend::allocate_batch_buffers(int64_t batch) {
  const std::vector<int> sizes = network_.sizes();
  for (const int size : sizes) activations_.emplace_back(ops_, size_t(batch) * size_t(size) * sizeof(float));
  for (size_t l = 0; l + 1 < sizes.size(); ++l) deltas_.emplace_back(ops_, size_t(batch) * size_t(sizes[l]) * sizeof(float));
  const size_t logits = size_t(batch) * size_t(sizes.back());
  batch_labels_ = DeviceBuffer(ops_, size_t(batch));
  probs_ = DeviceBuffer(ops_, logits * sizeof(float));
  dlogits_ = DeviceBuffer(ops_, logits * sizeof(float));
  step_loss_ = DeviceBuffer(ops_, sizeof(float));
  step_correct_ = DeviceBuffer(ops_, sizeof(int));
  indices_ = DeviceBuffer(ops_, size_t(batch) * sizeof(int64_t));
  // augment_batch's elastic fields [batch, 2, D], allocated with the step buffers, never per step; without
  // elastic none, so that no smaller buffer outlives a growth (set_regularization allocates it then).
  augment_scratch_ = regularization_.augmentation.elastic_alpha > 0
                         ? DeviceBuffer(ops_, 2 * size_t(batch) * size_t(sizes.front()) * sizeof(float))
                         : DeviceBuffer();
}

// ---------------------------------------------------------------------------------------------
// The step's pieces, queued on stream_
// ---------------------------------------------------------------------------------------------

void GpuBackend::run_forward(const int64_t* device_indices, const long long* cursor, int64_t batch,
                             int64_t position_offset) {
  if (dim_ != network_.input_size())
    throw Error("gpu backend: training data has " + std::to_string(dim_) + " values per sample, the model expects " +
                std::to_string(network_.input_size()));
  batch_ = batch;
  const int B = int(batch);
  if (regularization_.augmentation.any()) {  // drawn for the epoch in step_values_
    if (input_scale_ != InputScale::kPixel255)
      throw UsageError("augmentation needs images of uint8 pixels, not float32 features");
    ops_.augment_batch(samples_buffer_.as<uint8_t>(), labels_.as<uint8_t>(), device_indices, cursor, B,
                       regularization_.augmentation, regularization_.seed, step_values_.as<StepValues>(),
                       augment_scratch_.as<float>(), activations_[0].as<float>(), batch_labels_.as<uint8_t>(), stream_);
  } else {
    ops_.gather_batch(samples_buffer_.as<void>(), input_scale_, labels_.as<uint8_t>(), device_indices, cursor, B, dim_,
                      activations_[0].as<float>(), batch_labels_.as<uint8_t>(), stream_);
  }
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    ops_.dense_forward(activations_[l].as<float>(), layer.weight, layer.bias, activations_[l + 1].as<float>(), B,
                       layer.in, layer.out, layer.relu, layer.engine, stream_);
    const bool hidden = l + 1 < layers_.size();
    if (regularization_.dropout != 0.0f && hidden && layer.relu)
      ops_.dropout_forward(activations_[l + 1].as<float>(), B, layer.out, regularization_.dropout,
                           regularization_.seed, int(l), step_values_.as<StepValues>(), cursor, position_offset,
                           stream_);
  }
}

void GpuBackend::run_loss(int64_t batch) {
  ops_.softmax_xent(activations_.back().as<float>(), batch_labels_.as<uint8_t>(), probs_.as<float>(),
                    dlogits_.as<float>(), step_loss_.as<float>(), step_correct_.as<int>(), int(batch),
                    network_.output_size(), stream_);
}

void GpuBackend::run_backward(int64_t batch) {
  const int B = int(batch);
  const float* delta = dlogits_.as<float>();  // dLoss/d(output of layer l)
  for (size_t l = layers_.size(); l-- > 0;) {
    const Layer& layer = layers_[l];
    ops_.dense_backward_weights(delta, activations_[l].as<float>(), layer.weight_grad, layer.bias_grad, B, layer.in,
                                layer.out, layer.engine, stream_);
    if (l == 0) break;  // the input needs no gradient
    // activations_[l] is layer l - 1's output: the gradient passes back through its ReLU (fused in).
    ops_.dense_backward_input(delta, layer.weight, activations_[l].as<float>(), deltas_[l].as<float>(), B, layer.in,
                              layer.out, layers_[l - 1].relu, dropout_scale(regularization_.dropout), layer.engine,
                              stream_);
    delta = deltas_[l].as<float>();
  }
}

// ---------------------------------------------------------------------------------------------
// The training step (run_training_step's phases) and whole epochs: no host-device traffic per step
// ---------------------------------------------------------------------------------------------

void GpuBackend::train_shard(int64_t /*first: the device's cursor knows*/, const Shard& shard, int64_t count,
                             const StepValues& /*step: on the device*/) {
  const int64_t n = shard.size();
  reserve_batch(std::max<int64_t>(n, 1));
  if (n > 0) {
    // The batch starts at order[cursor]; this rank's part of it at order[cursor + shard.begin].
    // Dropout's positions too: the cursor plus shard.begin.
    run_forward(order_.as<int64_t>() + shard.begin, &totals_.as<EpochTotals>()->cursor, n, shard.begin);
    run_loss(n);
  }
  // Also advances totals.cursor by the whole batch, where the next step's gather starts.
  ops_.accumulate_metrics(step_loss_.as<float>(), step_correct_.as<int>(), int(n), int(count), totals_.as<EpochTotals>(),
                          stream_);
  if (n > 0) run_backward(n);
}

void GpuBackend::sum_gradients(float scale) {
  if (all_reduce_ == nullptr) throw Error("gpu backend: sum_gradients without a communicator of several ranks");
  if (scale == 0.0f) {  // an empty shard: no backward ran, the buffer may hold anything
    const std::vector<float> zeros(size_t(parameter_count_), 0.0f);
    ops_.synchronize();
    ops_.to_device(gradients_.as<void>(), zeros.data(), zeros.size() * sizeof(float));
  }
  all_reduce_->sum(gradients_.as<float>(), parameter_count_, scale, stream_);
}

// Reads the step's values from step_values_, which train_batch and update() write first: a replayed
// graph then takes each step's learning rate.
void GpuBackend::apply_update(const StepValues& /*step: on the device*/) {
  OptimizerSlots slots;
  for (size_t s = 0; s < slots_.size(); ++s) slots.slot[s] = slots_[s].as<float>();
  // Tensor by tensor: weights take the weight decay, biases do not (a launch each, inside the graph).
  for (const ParameterTensor& tensor : network_.tensors())
    ops_.optimizer_update(optimizer_, parameters_.as<float>() + tensor.offset, gradients_.as<float>() + tensor.offset,
                          offset_slots(slots, tensor.offset), tensor.size, step_values_.as<StepValues>(),
                          tensor.is_weight(), stream_);
}

void GpuBackend::begin_epoch(const EpochPlan& plan) {
  if (plan.samples != samples_) throw Error("gpu backend: epoch of " + std::to_string(plan.samples) +
                                            " samples, training set of " + std::to_string(samples_));
  ops_.synchronize();  // the previous epoch's steps read the order that is about to change
  ops_.epoch_order(order_.as<int64_t>(), keys_.as<uint64_t>(), samples_, derive_seed(plan.seed, 1 + uint64_t(plan.epoch)),
                   plan.shuffle, stream_);
  const EpochTotals zero{0.0, 0, 0, 0};
  ops_.to_device(totals_.as<void>(), &zero, sizeof zero);
  epoch_started_ = true;
  host_cursor_ = 0;
}

void GpuBackend::train_batch(int64_t first, int64_t count, const StepValues& step) {
  if (!epoch_started_) throw Error("gpu backend: train_batch before begin_epoch");
  if (first < 0 || count < 1 || first + count > samples_)
    throw Error("gpu backend: batch [" + std::to_string(first) + ", " + std::to_string(first + count) +
                ") outside the epoch of " + std::to_string(samples_) + " samples");
  // The device's cursor advances by itself, step after step. Only a jump (a resumed run starting
  // mid-epoch, a benchmark wrapping around) has to move it: one tiny launch in stream order, no wait.
  if (first != host_cursor_) {
    ops_.set_cursor(totals_.as<EpochTotals>(), first, stream_);
    host_cursor_ = first;
  }
  host_cursor_ += count;
  ops_.set_step_values(step_values_.as<StepValues>(), step, stream_);
  if (!cuda_graphs_) return run_training_step(*this, communicator(), first, count, step);
  reserve_batch(count);  // before the graphs are looked up: growing the buffers drops them
  auto graph = graphs_.find(count);
  if (graph == graphs_.end()) {
    // The first step of a size runs eagerly: cuBLAS and the kernels do their lazy set-up (handles,
    // workspaces, module loading) outside the capture, where allocations are allowed.
    graphs_.emplace(count, nullptr);
    return run_training_step(*this, nullptr, first, count, step);
  }
  if (graph->second == nullptr) {
    // first and step only pass through run_training_step: the parts read both from the device.
    struct Capture {
      GpuBackend* backend;
      int64_t first, count;
      StepValues step;
    } capture{this, first, count, step};
    graph->second = ops_.graph_capture(
        stream_,
        [](void* context) {
          auto* c = static_cast<Capture*>(context);
          run_training_step(*c->backend, nullptr, c->first, c->count, c->step);
        },
        &capture);
  }
  ops_.graph_launch(graph->second, stream_);
}

BatchStats GpuBackend::epoch_stats() {
  const EpochTotals totals = cudamlp::download<EpochTotals>(ops_, totals_, 1)[0];
  return {totals.count ? totals.loss_sum / double(totals.count) : 0.0, totals.correct, totals.count};
}

// ---------------------------------------------------------------------------------------------
// The phases one by one (tests compare each with the reference)
// ---------------------------------------------------------------------------------------------

void GpuBackend::forward(std::span<const int64_t> indices, const StepValues& step, int64_t first) {
  for (int64_t index : indices)
    if (index < 0 || index >= samples_) throw Error("gpu backend: sample index " + std::to_string(index) + " out of range");
  reserve_batch(int64_t(indices.size()));
  ops_.to_device(indices_.as<void>(), indices.data(), indices.size() * sizeof(int64_t));
  ops_.set_step_values(step_values_.as<StepValues>(), step, stream_);  // dropout reads the step number there
  run_forward(indices_.as<int64_t>(), nullptr, int64_t(indices.size()), first);
}

BatchStats GpuBackend::loss() {
  run_loss(batch_);
  BatchStats stats;
  stats.loss = cudamlp::download<float>(ops_, step_loss_, 1)[0];
  stats.correct = cudamlp::download<int>(ops_, step_correct_, 1)[0];
  stats.count = batch_;
  return stats;
}

void GpuBackend::backward() { run_backward(batch_); }

void GpuBackend::update(const StepValues& step) {
  ops_.set_step_values(step_values_.as<StepValues>(), step, stream_);
  apply_update(step);
}

// ---------------------------------------------------------------------------------------------
// Inference, on buffers of its own
// ---------------------------------------------------------------------------------------------

void GpuBackend::predict(const float* x, int64_t n, float* probs) {
  if (layers_.empty()) throw Error("gpu backend: predict before set_model");
  const std::vector<int> sizes = network_.sizes();
  const int D = sizes.front(), C = sizes.back();
  // Buffers for the largest chunk asked for so far, at most kPredictChunk samples.
  const int64_t rows = std::min(n, kPredictChunk);
  if (rows > predict_capacity_) {
    const size_t widest = size_t(*std::max_element(sizes.begin(), sizes.end()));
    for (DeviceBuffer& buffer : predict_buffers_) buffer = DeviceBuffer(ops_, size_t(rows) * widest * sizeof(float));
    predict_probs_ = DeviceBuffer(ops_, size_t(rows) * size_t(C) * sizeof(float));
    predict_capacity_ = rows;
  }
  for (int64_t first = 0; first < n; first += kPredictChunk) {
    const int64_t batch = std::min(kPredictChunk, n - first);
    // Layer l reads predict_buffers_[l % 2] (x for l = 0) and writes the other one.
    ops_.to_device(predict_buffers_[0].as<void>(), x + first * D, size_t(batch) * size_t(D) * sizeof(float));
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& layer = layers_[l];
      ops_.dense_forward(predict_buffers_[l % 2].as<float>(), layer.weight, layer.bias,
                         predict_buffers_[(l + 1) % 2].as<float>(), int(batch), layer.in, layer.out, layer.relu,
                         layer.engine, stream_);
    }
    ops_.softmax_xent(predict_buffers_[layers_.size() % 2].as<float>(), nullptr, predict_probs_.as<float>(), nullptr,
                      nullptr, nullptr, int(batch), C, stream_);
    const std::vector<float> chunk = cudamlp::download<float>(ops_, predict_probs_, size_t(batch) * size_t(C));
    std::copy(chunk.begin(), chunk.end(), probs + first * C);
  }
}

}  // namespace cudamlp
