// What `train --log FILE` and `train --report FILE` write, kept up to date while the run goes: both files
// are rewritten atomically after every epoch (so a long run can be watched, and a stopped one keeps its
// epochs), and once more at the end with the final model's confusion matrix and mistakes. A resumed run's
// files hold the epochs before the interruption too, from the checkpoint.
#pragma once

#include <string>

#include "cudamlp/backend.h"
#include "cudamlp/dataset.h"
#include "cudamlp/run_log.h"
#include "cudamlp/trainer.h"

namespace cudamlp::cli {

class RunRecorder {
 public:
  // Empty paths write nothing; settings: the run's flags and sizes, shown in the report in this order.
  RunRecorder(std::string log_path, std::string report_path, nlohmann::ordered_json settings);

  void add_epoch(const EpochReport& report);
  // A resumed run: its log starts with the epochs the checkpoint's run completed (the checkpoint's
  // history, checked here: FileError naming `checkpoint` unless it holds exactly `epochs` of them).
  void continue_from(const std::string& history, const std::string& checkpoint, int64_t epochs);
  // The epochs so far, as a checkpoint keeps them (Checkpoint::history); empty when the log lacks the
  // first ones (resumed from a checkpoint without history).
  std::string history() const;
  // The run ended: summarises backend's model on test, or without one on validation (when there is one),
  // and marks the log finished.
  void finish(Backend& backend, const Dataset* test, const Dataset* validation = nullptr);

 private:
  void write() const;

  std::string log_path_;
  std::string report_path_;
  RunLog log_;
  bool has_every_epoch_ = true;
};

}  // namespace cudamlp::cli
