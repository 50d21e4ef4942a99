// Minibatch gradient descent over a Backend, and evaluation. No printing: progress goes to a callback.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/errors.h"
#include "cudamlp/lr_schedule.h"
#include "cudamlp/model.h"
#include "cudamlp/optimizer.h"
#include "cudamlp/regularization.h"
#include "cudamlp/run_limits.h"

namespace cudamlp {

// The divergence guard's default interval where reading the loss costs a device synchronisation or a
// collective: on a GPU a read per step would drain the queue of steps every step. A diverged run is
// still stopped within 50 steps: on a GPU, well under a second for the networks this tool trains.
inline constexpr int64_t kGuardEveryStepsWhenCostly = 50;

struct TrainOptions {
  int epochs = 1;
  int64_t batch = 64;
  float lr = 0.1f;            // the base learning rate; each step's is schedule's (step_values)
  LrSchedule schedule;        // constant unless set
  OptimizerConfig optimizer;  // SGD without momentum unless set
  // Dropout and augmentation while training (train() hands them to the backend); its seed is `seed`.
  Regularization regularization;
  uint64_t seed = 1;     // weights (when not --init) and the per-epoch shuffles
  bool shuffle = true;   // false: every epoch visits the samples in file order
  // Snapshots (what checkpoints are made of, see TrainHooks) every this many optimizer steps and every
  // this many completed epochs; 0: never. A step snapshot due on an epoch's last step is taken after
  // that epoch's report, at the start of the next epoch.
  int64_t snapshot_every_steps = 0;
  int64_t snapshot_every_epochs = 0;
  // The divergence guard reads the loss every this many steps (and always before a snapshot and at the
  // end of an epoch). 1 names the exact step that diverged; a larger value spares a backend whose
  // metrics live on a device one synchronisation per step, and a data-parallel run one collective.
  // 0: kGuardEveryStepsWhenCostly where either applies, else 1.
  int64_t finite_check_every = 0;
  // TrainHooks::on_step is called at most this often, in seconds (0: after every step). Each call reads
  // the running loss, a synchronisation for a backend whose metrics live on a device.
  double progress_every_seconds = 0.1;
  // A validation set (held out of the training set, `--val-split`), evaluated after every epoch into
  // EpochReport::validation; nullptr: none. Early stopping and keep_best need one (UsageError otherwise).
  const Dataset* validation = nullptr;
  // Early stopping (`--early-stop N`): the run ends once N epochs in a row have not raised the validation
  // accuracy above its best so far; 0: never.
  int64_t early_stop = 0;
  // `--keep best`: keep a copy of the weights of the best validation epoch (ties: the earlier epoch), for
  // TrainResult::best_parameters and the snapshots.
  bool keep_best = false;
};

// The values of step `step` (0-based, all epochs) of a run over `samples` training samples: its learning
// rate, step number and epoch. A pure function of the step, so that a resumed or data-parallel run takes
// exactly the same ones.
StepValues step_values(const TrainOptions& options, int64_t step, int64_t samples);

// Where a run stands between two steps. With the model and the optimizer state, this is all it takes to
// go on later exactly as if never stopped: an epoch's sample order is a pure function of (seed, epoch).
struct TrainPosition {
  int64_t epoch = 0;   // 0-based epoch in progress, which is also the number of epochs completed
  int64_t sample = 0;  // samples of that epoch trained so far: the next batch starts at order[sample]
  int64_t step = 0;    // optimizer steps so far, all epochs
  // Metrics of the epoch's first `sample` samples, as trained, so that its report covers all of it.
  double epoch_loss_sum = 0.0;  // sum of per-sample losses
  int64_t epoch_correct = 0;
  // The best validation epoch so far (with TrainOptions::validation): early stopping counts the epochs
  // since it, at.epoch - best_epoch.
  int64_t best_epoch = 0;               // 1-based; 0: no epoch validated yet
  int64_t best_validation_correct = 0;  // its validation samples classified right
};

// A position with the state that goes with it: what a checkpoint holds.
struct TrainSnapshot {
  TrainPosition position;
  Model model;
  OptimizerState optimizer;  // every slot of the run's optimizer
  // With TrainOptions::keep_best: the parameters of epoch position.best_epoch (empty before the first).
  std::vector<float> best_parameters;
};

struct EpochReport;

// Where an epoch in progress stands: what a progress bar shows.
struct StepProgress {
  int64_t epoch = 0;    // 0-based epoch in progress
  int64_t sample = 0;   // samples of that epoch trained so far
  int64_t samples = 0;  // samples per epoch (N)
  int64_t step = 0;     // optimizer steps so far, all epochs
  double loss = 0.0;    // mean loss of the epoch's samples so far, as trained
  double samples_per_second = 0.0;  // over this epoch's steps so far (evaluation not included)
};

// How a caller follows and steers a run. Every member may be empty.
struct TrainHooks {
  std::function<void(const EpochReport&)> on_epoch;  // after each epoch and its evaluation
  // A snapshot is due (TrainOptions::snapshot_every_*, or a stop). Its loss and every value in it are
  // finite: a diverged state is never handed out.
  std::function<void(const TrainSnapshot&)> on_snapshot;
  // Polled between steps; true stops training there, after a snapshot (Ctrl-C).
  std::function<bool()> stop_requested;
  // After a step, at most every TrainOptions::progress_every_seconds.
  std::function<void(const StepProgress&)> on_step;
};

struct TrainResult {
  TrainPosition position;  // where training ended: {epochs, 0, all steps} when it ran to the end
  bool stopped = false;    // stop_requested() ended it early
  // Early stopping ended it after epoch position.epoch, TrainOptions::early_stop epochs after the best
  // one, position.best_epoch.
  bool stopped_early = false;
  // With TrainOptions::keep_best: the parameters of epoch position.best_epoch (the model's layout).
  std::vector<float> best_parameters;
};

// The loss or a weight became NaN or infinite. Thrown by train() as soon as the guard sees it, before
// any snapshot of the diverged state; the message names the step and suggests a lower learning rate.
class TrainingDiverged : public Error {
 public:
  TrainingDiverged(const std::string& message, int64_t step) : Error(message), step_(step) {}
  int64_t step() const { return step_; }  // the step at which the guard saw it

 private:
  int64_t step_;
};

struct EvalResult {
  double loss = 0.0;               // mean cross-entropy
  int64_t correct = 0;
  int64_t count = 0;
  int num_classes = 0;
  std::vector<int64_t> confusion;  // [C, C]: row = true class, column = predicted class

  double accuracy() const { return count ? double(correct) / double(count) : 0.0; }
  double class_accuracy(int c) const;  // recall of class c; 0 when the class has no samples
};

struct EpochReport {
  int epoch = 0;                    // 1-based
  int64_t steps = 0;                // optimizer steps so far, all epochs
  double train_loss = 0.0;          // mean over the epoch's samples, as trained (running)
  double train_accuracy = 0.0;      // fraction right while training, as trained (running)
  std::optional<EvalResult> test;   // when a test set was given
  std::optional<EvalResult> validation;  // when TrainOptions::validation was given
  int64_t best_epoch = 0;           // the best validation epoch so far, this one included (0: no validation)
  double seconds = 0.0;             // wall time of the epoch's training (evaluation not included)
  double samples_per_second = 0.0;
};

// Trains `train` with backend (set_model(model, options.optimizer) first: Error when its optimizer is not
// options.optimizer), one callback per epoch. Each epoch visits every sample once in batches of
// options.batch; the last partial batch is trained too, its loss averaged over its own size.
void train(Backend& backend, const Dataset& train, const Dataset* test, const TrainOptions& options,
           const std::function<void(const EpochReport&)>& on_epoch);

// The same, steered by hooks, starting from `start` (a checkpoint's position; by default the beginning).
// backend must hold the model and optimizer state that go with `start`, and with keep_best
// `best_parameters` are those of start.best_epoch (a snapshot's). Throws TrainingDiverged.
// Data-parallel: when backend trains with a communicator of several ranks, every rank calls this with the
// same arguments (checked: Error otherwise). Epoch metrics, the divergence guard and snapshots are over
// all ranks; a stop requested on any rank stops all of them at the same step; on_step sees this rank's
// running loss, so that progress never waits for the other ranks.
TrainResult train(Backend& backend, const Dataset& train, const Dataset* test, const TrainOptions& options,
                  const TrainHooks& hooks, const TrainPosition& start = {},
                  const std::vector<float>& best_parameters = {});

// Throws UsageError, naming both, unless data holds what network takes (input_scale.h): uint8 pixels
// for a network of InputScale::kPixel255, float32 features for kNone. train, evaluate and the predictions
// below check it.
void check_input_scale(const Network& network, const Dataset& data);

// Loss, accuracy and confusion matrix of backend's model on a labelled dataset.
EvalResult evaluate(Backend& backend, const Dataset& data);

// Softmax probabilities [n, C] for samples [begin, begin + n) of data.
std::vector<float> predict_probabilities(Backend& backend, const Dataset& data, int64_t begin, int64_t n);

// The same, a chunk of at most kPredictChunk samples at a time: use(first, size, probs) gets the
// probabilities [size, C] of samples [first, first + size). Only one chunk's probabilities exist at once,
// so a model of many outputs (65536: 256 KiB a sample) predicts any number of samples in bounded memory.
using PredictionChunkUse = std::function<void(int64_t first, int64_t size, const float* probs)>;
void for_each_prediction_chunk(Backend& backend, const Dataset& data, int64_t begin, int64_t n,
                               const PredictionChunkUse& use);

}  // namespace cudamlp
