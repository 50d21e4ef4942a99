// Checkpoints: a training run's whole state in one file, so that a run killed at any moment and resumed
// from its last checkpoint ends with bitwise the same weights as a run never stopped (on a backend whose
// steps are deterministic: reference, cpu).
//
// A checkpoint is a model file (model_file.h: PyTorch's state_dict names "0.weight", "0.bias", ...; so
// `cudamlp info/eval/predict`, `train --init` and PyTorch read its weights) that also holds
//   - the optimizer state, every slot of the run's optimizer (optimizer.h) by its PyTorch name, one tensor
//     per parameter tensor: "momentum_buffer.0.weight", "momentum_buffer.0.bias", ... (SGD), "exp_avg.*"
//     and "exp_avg_sq.*" (Adam, AdamW), F32, the shapes of the tensors they belong to; Adam's step count
//     is cudamlp.position.step;
//   - in __metadata__ (strings; numbers in decimal, floats in their shortest exact form):
//       cudamlp.checkpoint          "3"  (this format's version; marks the file as a checkpoint)
//       cudamlp.optimizer           "sgd", "adam" or "adamw"
//       cudamlp.position.epoch      epochs completed; the run goes on in epoch + 1
//       cudamlp.position.sample     samples of that epoch already trained (a multiple of the batch)
//       cudamlp.position.step       optimizer steps so far
//       cudamlp.position.epoch_loss_sum, cudamlp.position.epoch_correct   that epoch's metrics so far
//       cudamlp.run.epochs, .batch, .lr, .seed, .shuffle ("true"/"false"), .limit (0: none)
//       cudamlp.run.<hyper-parameter>  the optimizer's (optimizer.h): SGD .momentum, .weight_decay,
//                                   .nesterov ("true"/"false"); Adam(W) .beta1, .beta2, .eps, .weight_decay
//       cudamlp.run.lr_schedule     "constant", "step", "cosine" or "linear" (lr_schedule.h), with
//                                   .warmup_steps, .lr_min, .lr_step_epochs, .lr_step_gamma
//       cudamlp.run.dropout         P of --dropout (absent in files from before it: 0)
//       cudamlp.data.samples, .dim, .classes, .checksum (FNV-1a 64 of the pixels then the labels, hex)
//       cudamlp.device              the backend that wrote it (informational)
//       cudamlp.run.val_split, .early_stop, .keep ("best"/"last")   the validation flags (absent in older
//                                   files, of any version: no validation set, no early stop, "last")
//       cudamlp.position.best_epoch, .best_validation_correct   the best validation epoch so far (absent:
//                                   0, none), which early stopping counts from
//       cudamlp.history             (optional) the run's epochs so far, for a resumed run's log: a run
//                                   log (run_log.h) as JSON text, written and read by the command line
//   - with keep "best", once an epoch was validated, that best epoch's weights: "best.0.weight",
//     "best.0.bias", ... F32, shaped like the model's tensors (model readers skip them).
// The random state is (seed, epoch): the shuffle of epoch e is a pure function of them (rng.h).
// Versions 1 and 2 still load. Version 2 (2026-12-01) had SGD alone, without weight decay, Nesterov or a
// schedule; version 1 (before) also named its momentum buffers "velocity.0.weight", ..., and had no
// cudamlp.optimizer.
#pragma once

#include <cstdint>
#include <string>

#include "cudamlp/dataset.h"
#include "cudamlp/trainer.h"

namespace cudamlp {

// Which training set a run saw: enough to refuse resuming on other data.
struct DataIdentity {
  int64_t samples = 0;
  int64_t dim = 0;
  int num_classes = 0;
  uint64_t checksum = 0;  // FNV-1a 64 over the pixels [N, D], then the labels [N]

  bool operator==(const DataIdentity&) const = default;
};

DataIdentity identify_data(const Dataset& data);

struct Checkpoint {
  TrainSnapshot state;   // position, model, optimizer state
  TrainOptions options;  // epochs, batch, lr, optimizer, seed, shuffle, regularization.dropout (not the
                         // snapshot and guard intervals)
  int64_t limit = 0;     // --limit of the run (0: the whole training set); data says what it amounted to
  DataIdentity data;
  std::string device;    // the backend that wrote it; a resume may use another one
  std::string history;   // cudamlp.history, unread here: whoever uses it checks it (empty: none)
  double val_split = 0;  // --val-split of the run (0: none); options.early_stop and keep_best go with it
};

// Writes atomically (write_file_atomically): a kill at any moment leaves the old checkpoint or the new.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads and checks everything: the model as load_model does, every optimizer slot shaped like it, every
// metadata key present and well-formed, a position that the run's options can reach, finite values.
// Throws FileError naming the file and the problem.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace cudamlp
