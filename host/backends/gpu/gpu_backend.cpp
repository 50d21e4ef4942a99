// The gpu backend: the training step as a sequence of DeviceOps calls; see gpu_backend.h.
#include "gpu_backend.h"

#include <algorithm>
#include <utility>

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
// GpuBackend
// ---------------------------------------------------------------------------------------------

GpuBackend::GpuBackend(const DeviceOps& ops, GemmEngine engine, bool choose_per_layer, bool cuda_graphs,
                       Communicator* communicator, std::unique_ptr<DeviceAllReduce> all_reduce)
    : Backend(communicator), ops_(ops), all_reduce_(std::move(all_reduce)), engine_(engine),
      choose_per_layer_(choose_per_layer), cuda_graphs_(cuda_graphs && ops.graph_capture != nullptr) {
  if (communicator != nullptr && communicator->size() > 1) {
    if (all_reduce_ == nullptr) throw Error("gpu backend: training with several ranks needs a device all-reduce");
    cuda_graphs_ = false;
  }
  if (ops_.stream_create != nullptr) stream_ = ops_.stream_create();
}

GpuBackend::~GpuBackend() {
  drop_graphs();
  if (stream_ != nullptr) ops_.stream_destroy(stream_);
}

void GpuBackend::drop_graphs() {
  for (auto& [key, graph] : graphs_)
    if (graph != nullptr) ops_.graph_destroy(graph);
  graphs_.clear();
}

std::string GpuBackend::name() const {
  std::string engine = engine_ == GemmEngine::kCustom ? "custom" : engine_ == GemmEngine::kCublas ? "cublas" : "cublas-tf32";
  if (choose_per_layer_) engine = "auto: custom below " + std::to_string(kCublasFromWeights) + " weights, else " + engine;
  return std::string(ops_.name == std::string("cuda") ? "gpu" : "gpu-emulated") + " (" + engine + " GEMM)";
}

void GpuBackend::set_model(const Mlp& model) {
  drop_graphs();  // they point at the old buffers
  layers_.clear();
  sizes_ = model.sizes();
  gradient_count_ = model.parameter_count();
  gradients_ = upload(ops_, std::vector<float>(size_t(gradient_count_), 0.0f));
  float* next_gradient = gradients_.as<float>();
  for (const DenseLayer& layer : model.layers) {
    const std::vector<float> zero_weight(layer.weight.size(), 0.0f), zero_bias(layer.bias.size(), 0.0f);
    Layer device;
    device.in = layer.in;
    device.out = layer.out;
    device.engine = choose_per_layer_ && int64_t(layer.in) * layer.out < kCublasFromWeights ? GemmEngine::kCustom : engine_;
    device.weight = upload(ops_, layer.weight);
    device.bias = upload(ops_, layer.bias);
    device.weight_grad = next_gradient;
    device.bias_grad = next_gradient + layer.weight.size();
    next_gradient += layer.weight.size() + layer.bias.size();
    device.weight_velocity = upload(ops_, zero_weight);
    device.bias_velocity = upload(ops_, zero_bias);
    layers_.push_back(std::move(device));
  }
  capacity_ = 0;  // activation widths changed
  activations_.clear();
  deltas_.clear();
}

Mlp GpuBackend::download(Buffers which) const {
  Mlp model;
  for (const Layer& layer : layers_) {
    const float* weight = which == Buffers::kWeights     ? layer.weight.as<float>()
                          : which == Buffers::kGradients ? layer.weight_grad
                                                         : layer.weight_velocity.as<float>();
    const float* bias = which == Buffers::kWeights     ? layer.bias.as<float>()
                        : which == Buffers::kGradients ? layer.bias_grad
                                                       : layer.bias_velocity.as<float>();
    model.layers.push_back({layer.in, layer.out, cudamlp::download<float>(ops_, weight, size_t(layer.out) * layer.in),
                            cudamlp::download<float>(ops_, bias, size_t(layer.out))});
  }
  return model;
}

Mlp GpuBackend::model() const { return download(Buffers::kWeights); }
Mlp GpuBackend::gradients() const { return download(Buffers::kGradients); }
Mlp GpuBackend::optimizer_state() const { return download(Buffers::kVelocity); }

void GpuBackend::set_optimizer_state(const Mlp& velocity) {
  if (velocity.layers.size() != layers_.size())
    throw Error("gpu backend: optimizer state has " + std::to_string(velocity.layers.size()) + " layers, the model " +
                std::to_string(layers_.size()));
  for (size_t l = 0; l < layers_.size(); ++l) {
    const DenseLayer& v = velocity.layers[l];
    Layer& layer = layers_[l];
    if (v.in != layer.in || v.out != layer.out || v.weight.size() != size_t(layer.in) * size_t(layer.out) ||
        v.bias.size() != size_t(layer.out))
      throw Error("gpu backend: optimizer state of layer " + std::to_string(l) + " does not match the model's shape");
    ops_.to_device(layer.weight_velocity.as<void>(), v.weight.data(), v.weight.size() * sizeof(float));
    ops_.to_device(layer.bias_velocity.as<void>(), v.bias.data(), v.bias.size() * sizeof(float));
  }
}

void GpuBackend::set_training_data(const Dataset& data) {
  if (!data.has_labels()) throw Error("gpu backend: the training set has no labels");
  drop_graphs();
  samples_ = data.count;
  dim_ = int(data.dim());
  pixels_ = upload(ops_, data.pixels);  // uint8 on the device: 47 MB for MNIST
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
  const int L = int(layers_.size());
  activations_.clear();
  deltas_.clear();
  capacity_ = 0;
  try {
    allocate_batch_buffers(batch, L);
  } catch (const Error& e) {
    size_t floats = 0;  // what the buffers of this batch size take, for the message
    for (int l = 0; l <= L; ++l) floats += 2 * size_t(batch) * size_t(sizes_[size_t(l)]);
    floats += 2 * size_t(batch) * size_t(sizes_.back());
    throw Error("gpu backend: not enough device memory for batch size " + std::to_string(batch) + " (its buffers need " +
                std::to_string(floats * sizeof(float) >> 20) + " MiB; try a smaller --batch): " + e.what());
  }
  capacity_ = batch;
}

void GpuBackend::allocate_batch_buffers(int64_t batch, int L) {
  for (int l = 0; l <= L; ++l) activations_.emplace_back(ops_, size_t(batch) * size_t(sizes_[size_t(l)]) * sizeof(float));
  for (int l = 0; l < L; ++l) deltas_.emplace_back(ops_, size_t(batch) * size_t(sizes_[size_t(l)]) * sizeof(float));
  const size_t logits = size_t(batch) * size_t(sizes_.back());
  batch_labels_ = DeviceBuffer(ops_, size_t(batch));
  probs_ = DeviceBuffer(ops_, logits * sizeof(float));
  dlogits_ = DeviceBuffer(ops_, logits * sizeof(float));
  step_loss_ = DeviceBuffer(ops_, sizeof(float));
  step_correct_ = DeviceBuffer(ops_, sizeof(int));
  indices_ = DeviceBuffer(ops_, size_t(batch) * sizeof(int64_t));
}

void GpuBackend::run_forward(const int64_t* device_indices, const long long* cursor, int64_t batch) {
  if (dim_ != sizes_.front())
    throw Error("gpu backend: training data has " + std::to_string(dim_) + " values per sample, the model expects " +
                std::to_string(sizes_.front()));
  batch_ = batch;
  const int B = int(batch);
  ops_.gather_batch(pixels_.as<uint8_t>(), labels_.as<uint8_t>(), device_indices, cursor, B, dim_,
                    activations_[0].as<float>(), batch_labels_.as<uint8_t>(), stream_);
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    ops_.dense_forward(activations_[l].as<float>(), layer.weight.as<float>(), layer.bias.as<float>(),
                       activations_[l + 1].as<float>(), B, layer.in, layer.out, l + 1 < layers_.size(), layer.engine, stream_);
  }
}

void GpuBackend::run_loss(int64_t batch) {
  ops_.softmax_xent(activations_.back().as<float>(), batch_labels_.as<uint8_t>(), probs_.as<float>(),
                    dlogits_.as<float>(), step_loss_.as<float>(), step_correct_.as<int>(), int(batch), sizes_.back(),
                    stream_);
}

void GpuBackend::run_backward(int64_t batch) {
  const int B = int(batch);
  const float* delta = dlogits_.as<float>();  // dLoss/d(output of layer l)
  for (size_t l = layers_.size(); l-- > 0;) {
    Layer& layer = layers_[l];
    ops_.dense_backward_weights(delta, activations_[l].as<float>(), layer.weight_grad, layer.bias_grad, B, layer.in,
                                layer.out, layer.engine, stream_);
    if (l == 0) break;  // the input needs no gradient
    // activations_[l] is the previous hidden layer's ReLU output: its mask is fused in.
    ops_.dense_backward_input(delta, layer.weight.as<float>(), activations_[l].as<float>(), deltas_[l].as<float>(), B,
                              layer.in, layer.out, true, layer.engine, stream_);
    delta = deltas_[l].as<float>();
  }
}

void GpuBackend::run_update(const SgdOptions& sgd) {
  for (Layer& layer : layers_) {
    ops_.sgd_update(layer.weight.as<float>(), layer.weight_grad, layer.weight_velocity.as<float>(),
                    int64_t(layer.out) * layer.in, sgd.lr, sgd.momentum, stream_);
    ops_.sgd_update(layer.bias.as<float>(), layer.bias_grad, layer.bias_velocity.as<float>(), layer.out, sgd.lr,
                    sgd.momentum, stream_);
  }
}

// --- the phase API (tests compare each phase with the reference) ---

void GpuBackend::forward(std::span<const int64_t> indices) {
  for (int64_t index : indices)
    if (index < 0 || index >= samples_) throw Error("gpu backend: sample index " + std::to_string(index) + " out of range");
  reserve_batch(int64_t(indices.size()));
  ops_.to_device(indices_.as<void>(), indices.data(), indices.size() * sizeof(int64_t));
  run_forward(indices_.as<int64_t>(), nullptr, int64_t(indices.size()));
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

void GpuBackend::sum_gradients(float scale) {
  if (all_reduce_ == nullptr) throw Error("gpu backend: sum_gradients without a communicator of several ranks");
  if (scale == 0.0f) {  // an empty shard: no backward ran, the buffer may hold anything
    const std::vector<float> zeros(size_t(gradient_count_), 0.0f);
    ops_.synchronize();
    ops_.to_device(gradients_.as<void>(), zeros.data(), zeros.size() * sizeof(float));
  }
  all_reduce_->sum(gradients_.as<float>(), gradient_count_, scale, stream_);
}
void GpuBackend::update(const SgdOptions& sgd) { run_update(sgd); }

// --- whole epochs: no host-device traffic per step ---

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

void GpuBackend::record_step(int64_t batch, const SgdOptions& sgd) {
  run_forward(order_.as<int64_t>(), &totals_.as<EpochTotals>()->cursor, batch);
  run_loss(batch);
  // Also advances totals.cursor, where the next step's gather starts.
  ops_.accumulate_metrics(step_loss_.as<float>(), step_correct_.as<int>(), int(batch), int(batch),
                          totals_.as<EpochTotals>(), stream_);
  run_backward(batch);
  run_update(sgd);
}

void GpuBackend::train_shard(int64_t count, const SgdOptions& sgd) {
  const Shard shard = shard_of(count, communicator()->rank(), communicator()->size());
  const int64_t n = shard.size();
  reserve_batch(std::max<int64_t>(n, 1));
  if (n > 0) {
    // The batch starts at order[cursor]; this rank's part of it at order[cursor + shard.begin].
    run_forward(order_.as<int64_t>() + shard.begin, &totals_.as<EpochTotals>()->cursor, n);
    run_loss(n);
  }
  ops_.accumulate_metrics(step_loss_.as<float>(), step_correct_.as<int>(), int(n), int(count),
                          totals_.as<EpochTotals>(), stream_);
  if (n > 0) run_backward(n);
  // The shard's gradients are its mean; weighted by its share they sum to the whole batch's mean.
  sum_gradients(float(double(n) / double(count)));
  run_update(sgd);
}

void GpuBackend::train_batch(int64_t first, int64_t count, const SgdOptions& sgd) {
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
  if (all_reduce_ != nullptr) return train_shard(count, sgd);
  reserve_batch(count);
  if (!cuda_graphs_) return record_step(count, sgd);
  const auto key = std::make_tuple(count, sgd.lr, sgd.momentum);
  auto graph = graphs_.find(key);
  if (graph == graphs_.end()) {
    // The first step of a kind runs eagerly: cuBLAS and the kernels do their lazy set-up (handles,
    // workspaces, module loading) outside the capture, where allocations are allowed.
    graphs_.emplace(key, nullptr);
    return record_step(count, sgd);
  }
  if (graph->second == nullptr) {
    struct Step {
      GpuBackend* backend;
      int64_t batch;
      SgdOptions sgd;
    } step{this, count, sgd};
    DeviceGraph* captured = ops_.graph_capture(
        stream_, [](void* context) {
          auto* s = static_cast<Step*>(context);
          s->backend->record_step(s->batch, s->sgd);
        },
        &step);
    graph->second = captured;
  }
  ops_.graph_launch(graph->second, stream_);
}

BatchStats GpuBackend::epoch_stats() {
  const EpochTotals totals = cudamlp::download<EpochTotals>(ops_, totals_, 1)[0];
  return {totals.count ? totals.loss_sum / double(totals.count) : 0.0, totals.correct, totals.count};
}

void GpuBackend::predict(const float* x, int64_t n, float* probs) {
  constexpr int64_t kChunk = 4096;
  const int D = sizes_.front(), C = sizes_.back();
  for (int64_t first = 0; first < n; first += kChunk) {
    const int64_t batch = std::min(kChunk, n - first);
    reserve_batch(batch);
    ops_.to_device(activations_[0].as<void>(), x + first * D, size_t(batch) * size_t(D) * sizeof(float));
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& layer = layers_[l];
      ops_.dense_forward(activations_[l].as<float>(), layer.weight.as<float>(), layer.bias.as<float>(),
                         activations_[l + 1].as<float>(), int(batch), layer.in, layer.out, l + 1 < layers_.size(),
                         layer.engine, stream_);
    }
    ops_.softmax_xent(activations_.back().as<float>(), nullptr, probs_.as<float>(), nullptr, nullptr, nullptr,
                      int(batch), C, stream_);
    const std::vector<float> chunk = cudamlp::download<float>(ops_, probs_, size_t(batch) * size_t(C));
    std::copy(chunk.begin(), chunk.end(), probs + first * C);
  }
}

}  // namespace cudamlp
