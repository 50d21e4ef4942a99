// The DeviceOps table as an OpRunner: each op's inputs are uploaded, the op is launched (on the default
// stream) and its outputs read back. Per-step values and the epoch cursor reach the kernels through
// device memory, as in a training step.
#include "device_op_runner.h"

#include <span>
#include <vector>

#include "device_buffer.h"

namespace cudamlp::verify {

namespace {

class DeviceOpRunner final : public OpRunner {
 public:
  DeviceOpRunner(const DeviceOps& ops, std::string name, GemmEngine engine)
      : ops_(ops), name_(std::move(name)), engine_(engine) {}
  std::string name() const override { return name_; }

  void gather_batch(const Dataset& data, std::span<const int64_t> indices, float* x, uint8_t* labels) override {
    const int B = int(indices.size()), D = int(data.dim());
    // The samples as the backend keeps them: uint8 pixels, or float32 features.
    DeviceArray<uint8_t> pixels(ops_, data.pixels), all_labels(ops_, data.labels), batch_labels(ops_, size_t(B));
    DeviceArray<float> features(ops_, data.features);
    DeviceArray<int64_t> order(ops_, std::vector<int64_t>(indices.begin(), indices.end()));
    DeviceArray<float> d_x(ops_, size_t(B) * size_t(D));
    const bool floats = data.input_scale == InputScale::kNone;
    ops_.gather_batch(floats ? static_cast<const void*>(features.get()) : pixels.get(), data.input_scale,
                      all_labels.get(), order.get(), nullptr, B, D, d_x.get(), batch_labels.get(), nullptr);
    copy_out(d_x, x);
    copy_out(batch_labels, labels);
  }

  void augment_batch(const Dataset& data, std::span<const int64_t> indices, const Augmentation& augmentation,
                     uint64_t seed, int64_t epoch, float* x, uint8_t* labels) override {
    const int B = int(indices.size()), D = int(data.dim());
    DeviceArray<uint8_t> pixels(ops_, data.pixels), all_labels(ops_, data.labels), batch_labels(ops_, size_t(B));
    DeviceArray<int64_t> order(ops_, std::vector<int64_t>(indices.begin(), indices.end()));
    DeviceArray<StepValues> step(ops_, std::vector<StepValues>{StepValues{0.0f, 0, epoch}});
    DeviceArray<float> scratch(ops_, 2 * size_t(B) * size_t(D)), d_x(ops_, size_t(B) * size_t(D));
    ops_.augment_batch(pixels.get(), all_labels.get(), order.get(), nullptr, B, augmentation, seed, step.get(),
                       scratch.get(), d_x.get(), batch_labels.get(), nullptr);
    copy_out(d_x, x);
    copy_out(batch_labels, labels);
  }

  void dense_forward(const float* x, const float* W, const float* b, float* y, int64_t B, int in, int out,
                     bool relu) override {
    DeviceArray<float> d_x = upload(x, B * in), d_W = upload(W, int64_t(out) * in), d_b = upload(b, out);
    DeviceArray<float> d_y(ops_, size_t(B * out));
    ops_.dense_forward(d_x.get(), d_W.get(), d_b.get(), d_y.get(), int(B), in, out, relu, engine_, nullptr);
    copy_out(d_y, y);
  }

  void dense_backward_weights(const float* dy, const float* x, float* dW, float* db, int64_t B, int in,
                              int out) override {
    DeviceArray<float> d_dy = upload(dy, B * out), d_x = upload(x, B * in);
    DeviceArray<float> d_dW(ops_, size_t(out) * size_t(in)), d_db(ops_, size_t(out));
    ops_.dense_backward_weights(d_dy.get(), d_x.get(), d_dW.get(), d_db.get(), int(B), in, out, engine_, nullptr);
    copy_out(d_dW, dW);
    copy_out(d_db, db);
  }

  void dense_backward_input(const float* dy, const float* W, const float* x, float* dx, int64_t B, int in, int out,
                            bool relu_mask, float mask_scale) override {
    DeviceArray<float> d_dy = upload(dy, B * out), d_W = upload(W, int64_t(out) * in), d_x = upload(x, B * in);
    DeviceArray<float> d_dx(ops_, size_t(B * in));
    ops_.dense_backward_input(d_dy.get(), d_W.get(), d_x.get(), d_dx.get(), int(B), in, out, relu_mask, mask_scale,
                              engine_, nullptr);
    copy_out(d_dx, dx);
  }

  void dropout_forward(float* y, int64_t B, int units, float P, uint64_t seed, int64_t step, int64_t first,
                       int layer) override {
    DeviceArray<float> d_y = upload(y, B * units);
    DeviceArray<StepValues> d_step(ops_, std::vector<StepValues>{StepValues{0.0f, step, 0}});
    // The rows' positions: the device cursor (first) plus an offset of 0, as on one rank.
    DeviceArray<long long> cursor(ops_, std::vector<long long>{first});
    ops_.dropout_forward(d_y.get(), int(B), units, P, seed, layer, d_step.get(), cursor.get(), 0, nullptr);
    copy_out(d_y, y);
  }

  BatchStats softmax_xent(const float* logits, const uint8_t* labels, float* probs, float* dlogits, int64_t B,
                          int C) override {
    DeviceArray<float> d_logits = upload(logits, B * C), d_probs(ops_, size_t(B * C)), d_dlogits(ops_, size_t(B * C));
    DeviceArray<uint8_t> d_labels(ops_, std::span<const uint8_t>(labels, size_t(B)));
    DeviceArray<float> loss(ops_, 1);
    DeviceArray<int> correct(ops_, 1);
    ops_.softmax_xent(d_logits.get(), d_labels.get(), d_probs.get(), d_dlogits.get(), loss.get(), correct.get(),
                      int(B), C, nullptr);
    copy_out(d_probs, probs);
    copy_out(d_dlogits, dlogits);
    return {double(loss.values()[0]), int64_t(correct.values()[0]), B};
  }

  void optimizer_update(const OptimizerConfig& config, float* w, const float* g, OptimizerSlots slots, int64_t n,
                        const StepValues& step, bool decay) override {
    DeviceArray<float> d_w = upload(w, n), d_g = upload(g, n);
    std::vector<DeviceArray<float>> d_slots;
    const size_t count = optimizer_slots(config).size();
    for (size_t s = 0; s < count; ++s) d_slots.push_back(upload(slots.slot[s], n));
    OptimizerSlots device_slots;
    for (size_t s = 0; s < count; ++s) device_slots.slot[s] = d_slots[s].get();
    // The step's values reach the kernel through device memory, as in a replayed CUDA graph.
    DeviceArray<StepValues> values(ops_, 1);
    ops_.set_step_values(values.get(), step, nullptr);
    ops_.optimizer_update(config, d_w.get(), d_g.get(), device_slots, n, values.get(), decay, nullptr);
    copy_out(d_w, w);
    for (size_t s = 0; s < count; ++s) copy_out(d_slots[s], slots.slot[s]);
  }

 private:
  DeviceArray<float> upload(const float* host, int64_t n) const {
    return DeviceArray<float>(ops_, std::span<const float>(host, size_t(n)));
  }
  template <typename T>
  static void copy_out(const DeviceArray<T>& array, T* host) {
    const std::vector<T> values = array.values();
    std::copy(values.begin(), values.end(), host);
  }

  const DeviceOps& ops_;
  std::string name_;
  GemmEngine engine_;
};

}  // namespace

std::unique_ptr<OpRunner> make_device_op_runner(const DeviceOps& ops, const std::string& name, GemmEngine engine) {
  return std::make_unique<DeviceOpRunner>(ops, name, engine);
}

}  // namespace cudamlp::verify
