// The training loop: epochs of shuffled minibatches, each step done whole by the backend. Around it:
// snapshots for checkpoints, a stop between two steps (Ctrl-C), and the divergence guard.
#include "cudamlp/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "cudamlp/errors.h"

namespace cudamlp {

namespace {

std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// "layer 1's bias[3] is nan": the first value of a flat buffer in network's layout that is NaN or
// infinite (after `what`, which names the buffer), or "" when all are finite.
std::string first_non_finite(const Network& network, const std::vector<float>& values, const std::string& what) {
  for (size_t l = 0; l < network.layers.size(); ++l) {
    const LayerSpec& layer = network.layers[l];
    const int64_t weights = int64_t(layer.out) * layer.in;
    for (const auto& [name, offset, size] : {std::tuple{"weight", network.weight_offset(l), weights},
                                             std::tuple{"bias", network.bias_offset(l), int64_t(layer.out)}})
      for (int64_t i = 0; i < size; ++i)
        if (const float value = values[size_t(offset + i)]; !std::isfinite(value))
          return what + "layer " + std::to_string(l) + "'s " + name + "[" + std::to_string(i) + "] is " +
                 (std::isnan(value) ? "nan" : "inf");
  }
  return {};
}

// FNV-1a over the bytes of values, continuing from hash.
uint64_t fnv1a(uint64_t hash, const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash;
}

template <typename T>
uint64_t fnv1a(uint64_t hash, const T& value) {
  return fnv1a(hash, &value, sizeof value);
}

// A fingerprint of what must be the same on every rank of a data-parallel run: the options, the
// starting position and the model.
uint64_t run_fingerprint(const Model& model, const TrainOptions& options, const TrainPosition& start, int64_t samples) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (const auto value : {int64_t(options.epochs), options.batch, int64_t(options.seed), int64_t(options.shuffle),
                           options.snapshot_every_steps, options.snapshot_every_epochs, options.finite_check_every,
                           start.epoch, start.sample, start.step, samples})
    hash = fnv1a(hash, value);
  hash = fnv1a(hash, options.lr);
  hash = fnv1a(hash, options.optimizer.kind);
  for (const HyperParameter& hyper : hyper_parameters(options.optimizer.kind))
    hash = fnv1a(hash, options.optimizer.*hyper.value);
  hash = fnv1a(hash, options.optimizer.nesterov);
  for (const auto value : {int64_t(options.schedule.kind), options.schedule.warmup_steps, options.schedule.step_epochs})
    hash = fnv1a(hash, value);
  for (const float value : {options.schedule.lr_min, options.schedule.step_gamma, options.regularization.dropout})
    hash = fnv1a(hash, value);
  hash = fnv1a(hash, options.regularization.augmentation);
  for (const LayerSpec& layer : model.network.layers) hash = fnv1a(hash, layer);
  // Validation and early stopping: every rank must stop after the same epoch.
  for (const auto value : {options.early_stop, int64_t(options.keep_best),
                           options.validation != nullptr ? options.validation->count : int64_t{-1}, start.best_epoch,
                           start.best_validation_correct})
    hash = fnv1a(hash, value);
  return fnv1a(hash, model.parameters.data(), model.parameters.size() * sizeof(float));
}

// Runs one training run: the state the steps share, and the guard and snapshot logic around them.
class TrainLoop {
 public:
  TrainLoop(Backend& backend, const Dataset& train, const Dataset* test, const TrainOptions& options,
            const TrainHooks& hooks, const TrainPosition& start, const std::vector<float>& best_parameters)
      : backend_(backend), train_(train), test_(test), options_(options), hooks_(hooks), at_(start),
        carried_(start), checked_step_(start.step), best_parameters_(best_parameters) {
    Communicator* comm = backend_.communicator();
    if (comm != nullptr && comm->size() > 1) comm_ = comm;
    check_every_ = options_.finite_check_every;
    if (check_every_ == 0)
      check_every_ = backend_.traits().metrics_on_device || comm_ != nullptr ? kGuardEveryStepsWhenCostly : 1;
  }

  TrainResult run() {
    const int64_t N = train_.count;
    while (at_.epoch < options_.epochs) {
      if (early_stop_due()) return {at_, false, true, best_parameters_};
      backend_.begin_epoch({N, options_.seed, at_.epoch, options_.shuffle});
      const int64_t first_sample = at_.sample;
      const auto start = std::chrono::steady_clock::now();
      bool snapshot_after_epoch = false;
      while (at_.sample < N) {
        if (stop_requested()) {
          take_snapshot();
          return {at_, true, false, best_parameters_};
        }
        const int64_t count = std::min(options_.batch, N - at_.sample);
        backend_.train_batch(at_.sample, count, step_values(options_, at_.step, N));
        at_.sample += count;
        ++at_.step;
        if (hooks_.on_step) report_progress(first_sample, start);
        if (at_.step % check_every_ == 0) check_loss(epoch_loss_sum(global_stats()));
        if (options_.snapshot_every_steps > 0 && at_.step % options_.snapshot_every_steps == 0) {
          if (at_.sample < N) {
            take_snapshot();
          } else {
            snapshot_after_epoch = true;  // taken at the start of the next epoch, after the report
          }
        }
      }
      finish_epoch(first_sample, std::chrono::steady_clock::now() - start);
      if (options_.snapshot_every_epochs > 0 && at_.epoch % options_.snapshot_every_epochs == 0)
        snapshot_after_epoch = true;
      if (snapshot_after_epoch) take_snapshot();
    }
    return {at_, false, false, best_parameters_};
  }

 private:
  // Early stopping: at an epoch's start, options_.early_stop epochs have gone by without a new best
  // validation accuracy. Also true at the start of a run resumed from the checkpoint of such a place.
  bool early_stop_due() const {
    return options_.early_stop > 0 && at_.sample == 0 && at_.best_epoch > 0 &&
           at_.epoch - at_.best_epoch >= options_.early_stop;
  }

  // The validation set's evaluation of the epoch just trained; records a new best (strictly more samples
  // right: a tie keeps the earlier epoch) and, with keep_best, its weights.
  void validate(EpochReport& report, const Model& model) {
    report.validation = evaluate(backend_, *options_.validation);
    if (at_.best_epoch == 0 || report.validation->correct > at_.best_validation_correct) {
      at_.best_epoch = report.epoch;
      at_.best_validation_correct = report.validation->correct;
      if (options_.keep_best) best_parameters_ = model.parameters;
    }
    report.best_epoch = at_.best_epoch;
  }

  // The sum of per-sample losses of the epoch in progress, the part before a resume included.
  double epoch_loss_sum(const BatchStats& stats) const {
    return carried_.epoch_loss_sum + stats.loss * double(stats.count);
  }

  // The epoch's metrics so far, over all ranks. Asks the backend, which for a GPU is a synchronisation;
  // in a data-parallel run a collective, so every rank calls it at the same steps.
  BatchStats global_stats() {
    const BatchStats local = backend_.epoch_stats();
    if (comm_ == nullptr) return local;
    std::vector<double> sums = {local.loss * double(local.count), double(local.correct), double(local.count)};
    comm_->sum(sums);
    return {sums[2] > 0 ? sums[0] / sums[2] : 0.0, int64_t(sums[1]), int64_t(sums[2])};
  }

  // A stop asked for on any rank stops every rank at the same step.
  bool stop_requested() {
    const bool here = hooks_.stop_requested && hooks_.stop_requested();
    return comm_ != nullptr ? comm_->any(here) : here;
  }

  // Epoch's metrics, the guard, the report and its evaluation; then moves to the next epoch's start.
  void finish_epoch(int64_t first_sample, std::chrono::steady_clock::duration elapsed) {
    const BatchStats stats = global_stats();  // also waits for a GPU to finish the epoch
    const double seconds = std::chrono::duration<double>(elapsed).count();
    const double loss_sum = carried_.epoch_loss_sum + stats.loss * double(stats.count);
    const int64_t correct = carried_.epoch_correct + stats.correct;
    check_loss(loss_sum);
    const Model model = backend_.model();
    check_values(model.network, model.parameters, "");

    const double N = double(train_.count);
    EpochReport report;
    report.epoch = int(at_.epoch + 1);
    report.steps = at_.step;
    report.train_loss = loss_sum / N;
    report.train_accuracy = double(correct) / N;
    report.seconds = seconds;
    // Only the samples this run trained: after a resume mid-epoch, not the whole epoch.
    report.samples_per_second = seconds > 0 ? double(train_.count - first_sample) / seconds : 0.0;
    if (test_ != nullptr) report.test = evaluate(backend_, *test_);
    if (options_.validation != nullptr) validate(report, model);
    if (hooks_.on_epoch) hooks_.on_epoch(report);

    at_ = {at_.epoch + 1, 0, at_.step, 0.0, 0, at_.best_epoch, at_.best_validation_correct};
    carried_ = at_;  // nothing carried into the next epoch
  }

  // Hands the current state to on_snapshot, after making sure every part of it is finite. Takes at most
  // one snapshot per position (an epoch checkpoint and a stop can fall on the same one).
  void take_snapshot() {
    // In a data-parallel run every rank takes part (the metrics are summed over the ranks), whether or
    // not it has a hook: typically only rank 0 writes checkpoints.
    if ((!hooks_.on_snapshot && comm_ == nullptr) || (snapshot_taken_ && same_place(last_snapshot_, at_))) return;
    TrainSnapshot snapshot;
    snapshot.position = at_;
    // At an epoch's start nothing of it is trained yet (and the backend's metrics are still the last
    // epoch's, finish_epoch having checked them).
    if (at_.sample > 0) {
      const BatchStats stats = global_stats();
      snapshot.position.epoch_loss_sum = carried_.epoch_loss_sum + stats.loss * double(stats.count);
      snapshot.position.epoch_correct = carried_.epoch_correct + stats.correct;
      check_loss(snapshot.position.epoch_loss_sum);
    }
    snapshot.model = backend_.model();
    check_values(snapshot.model.network, snapshot.model.parameters, "");
    snapshot.optimizer = backend_.optimizer_state();
    snapshot.best_parameters = best_parameters_;
    for (const auto& [slot, values] : snapshot.optimizer.slots)
      check_values(snapshot.model.network, values, "the optimizer's " + slot + " of ");
    if (hooks_.on_snapshot) hooks_.on_snapshot(snapshot);
    last_snapshot_ = at_;
    snapshot_taken_ = true;
  }

  // Hands on_step where the epoch stands, at most every progress_every_seconds: it reads the loss.
  void report_progress(int64_t first_sample, std::chrono::steady_clock::time_point epoch_start) {
    const auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last_progress_).count() < options_.progress_every_seconds) return;
    last_progress_ = now;
    const double seconds = std::chrono::duration<double>(now - epoch_start).count();
    StepProgress progress;
    progress.epoch = at_.epoch;
    progress.sample = at_.sample;
    progress.samples = train_.count;
    progress.step = at_.step;
    // This rank's samples only in a data-parallel run: progress must not wait for the other ranks.
    const BatchStats local = backend_.epoch_stats();
    progress.loss = comm_ != nullptr ? local.loss : epoch_loss_sum(local) / double(at_.sample);
    progress.samples_per_second = seconds > 0 ? double(at_.sample - first_sample) / seconds : 0.0;
    hooks_.on_step(progress);
  }

  static bool same_place(const TrainPosition& a, const TrainPosition& b) {
    return a.epoch == b.epoch && a.sample == b.sample && a.step == b.step;
  }

  // The divergence guard on the epoch's running loss sum: one NaN or infinite step loss makes it so.
  void check_loss(double loss_sum) {
    if (std::isfinite(loss_sum)) {
      checked_step_ = at_.step;
      return;
    }
    // Between two checks the guard knows only that some step went wrong since the last one.
    const std::string when = at_.step - checked_step_ <= 1
                                 ? "at step " + std::to_string(at_.step)
                                 : "between steps " + std::to_string(checked_step_ + 1) + " and " +
                                       std::to_string(at_.step);
    diverged("the loss became " + std::string(std::isnan(loss_sum) ? "nan" : "inf") + " " + when);
  }

  void check_values(const Network& network, const std::vector<float>& values, const std::string& what) {
    const std::string bad = first_non_finite(network, values, what);
    if (!bad.empty()) diverged(bad + " after step " + std::to_string(at_.step));
  }

  [[noreturn]] void diverged(const std::string& what) {
    const std::string lr = number_text(options_.lr);
    throw TrainingDiverged("training diverged: " + what + " (epoch " + std::to_string(at_.epoch + 1) +
                               "); the learning rate " + lr + " is probably too high: try a lower one, e.g. --lr " +
                               number_text(options_.lr / 10),
                           at_.step);
  }

  Backend& backend_;
  const Dataset& train_;
  const Dataset* test_;
  const TrainOptions& options_;
  const TrainHooks& hooks_;
  int64_t check_every_ = 1;  // the divergence guard's interval in steps
  Communicator* comm_ = nullptr;  // the backend's, when it trains with other ranks
  TrainPosition at_;       // advances with every step
  TrainPosition carried_;  // metrics of the current epoch from before this run (a resume mid-epoch)
  int64_t checked_step_;   // the guard saw a finite loss up to this step
  TrainPosition last_snapshot_;
  std::chrono::steady_clock::time_point last_progress_ = std::chrono::steady_clock::now();
  bool snapshot_taken_ = false;
  std::vector<float> best_parameters_;  // keep_best: the weights of at_.best_epoch
};

// The validation set, early stopping and keep_best fit together, and with the start of the run.
void check_validation(Backend& backend, const Dataset& train, const TrainOptions& options, const TrainPosition& start,
                      const std::vector<float>& best_parameters) {
  if (options.early_stop < 0) throw UsageError("--early-stop must not be negative");
  const Dataset* validation = options.validation;
  if (options.early_stop > 0 && validation == nullptr)
    throw UsageError("--early-stop " + std::to_string(options.early_stop) +
                     " needs a validation set: hold one out of the training set with --val-split F");
  if (options.keep_best && validation == nullptr)
    throw UsageError("--keep best needs a validation set: hold one out of the training set with --val-split F");
  if (validation != nullptr) {
    if (validation->count < 1 || !validation->has_labels())
      throw UsageError("the validation set is empty or has no labels");
    if (validation->dim() != train.dim() || validation->num_classes != train.num_classes ||
        validation->input_scale != train.input_scale)
      throw UsageError("the validation set's samples are not shaped like the training set's");
  }
  if (start.best_epoch < 0 || start.best_epoch > start.epoch || start.best_validation_correct < 0 ||
      (start.best_epoch == 0 && start.best_validation_correct != 0))
    throw Error("train: cannot start with best validation epoch " + std::to_string(start.best_epoch) + " at epoch " +
                std::to_string(start.epoch + 1));
  if (options.keep_best && start.best_epoch > 0 &&
      int64_t(best_parameters.size()) != backend.model().parameter_count())
    throw Error("train: keep_best resumed after best epoch " + std::to_string(start.best_epoch) +
                " needs that epoch's parameters");
}

}  // namespace

StepValues step_values(const TrainOptions& options, int64_t step, int64_t samples) {
  const int64_t steps_per_epoch = (samples + options.batch - 1) / options.batch;
  const float lr = scheduled_lr(options.schedule, options.lr, step, steps_per_epoch, options.epochs * steps_per_epoch);
  return {lr, step, step / steps_per_epoch};
}

TrainResult train(Backend& backend, const Dataset& train, const Dataset* test, const TrainOptions& options,
                  const TrainHooks& hooks, const TrainPosition& start, const std::vector<float>& best_parameters) {
  if (options.batch < 1) throw UsageError("--batch must be at least 1");
  if (options.epochs < 0) throw UsageError("--epochs must not be negative");
  if (options.snapshot_every_steps < 0 || options.snapshot_every_epochs < 0)
    throw UsageError("snapshot intervals must not be negative");
  if (options.finite_check_every < 0)
    throw UsageError("the divergence check interval must be 0 (automatic) or at least 1 step");
  if (train.count < 1) throw UsageError("the training set is empty");
  if (!train.has_labels()) throw UsageError("the training set has no labels");
  check_input_scale(backend.network(), train);
  if (options.regularization.augmentation.any() && train.has_float_features())
    throw UsageError("augmentation (--rotate, --scale, --shear, --shift, --elastic) needs images of uint8 pixels; "
                     "the training data is float32 features");
  check_optimizer(options.optimizer);
  check_lr_schedule(options.schedule, options.lr, options.epochs * ((train.count + options.batch - 1) / options.batch));
  // A start inside an epoch lies on a batch boundary; a checkpoint cannot name any other place.
  const int64_t N = train.count;
  if (start.epoch < 0 || start.step < 0 || start.sample < 0 || start.sample > N ||
      (start.sample % options.batch != 0 && start.sample != N))
    throw Error("train: cannot start at epoch " + std::to_string(start.epoch + 1) + ", sample " +
                std::to_string(start.sample) + " of " + std::to_string(N) + " in batches of " +
                std::to_string(options.batch));

  check_validation(backend, train, options, start, best_parameters);
  if (!(backend.optimizer() == options.optimizer))
    throw Error("train: the backend was given another optimizer than the options name: set_model(model, "
                "options.optimizer)");
  if (Communicator* comm = backend.communicator(); comm != nullptr && comm->size() > 1) {
    if (!backend.traits().can_train_distributed)
      throw UsageError("the " + backend.name() + " backend cannot train data-parallel");
    comm->check_same(run_fingerprint(backend.model(), options, start, N),
                     "the training run (options, starting point or initial weights)");
  }
  Regularization regularization = options.regularization;
  regularization.seed = options.seed;
  backend.set_regularization(regularization);
  backend.set_training_data(train);
  return TrainLoop(backend, train, test, options, hooks, start, best_parameters).run();
}

void train(Backend& backend, const Dataset& train, const Dataset* test, const TrainOptions& options,
           const std::function<void(const EpochReport&)>& on_epoch) {
  TrainHooks hooks;
  hooks.on_epoch = on_epoch;
  cudamlp::train(backend, train, test, options, hooks);
}

}  // namespace cudamlp
