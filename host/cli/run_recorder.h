// What `train --log FILE` and `train --report FILE` write, kept up to date while the run goes: both files
// are rewritten atomically after every epoch (so a long run can be watched, and a stopped one keeps its
// epochs), and once more at the end with the final model's confusion matrix and mistakes.
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
  // The run ended: summarises backend's model on test (when there is one) and marks the log finished.
  void finish(Backend& backend, const Dataset* test);

 private:
  void write() const;

  std::string log_path_;
  std::string report_path_;
  RunLog log_;
};

}  // namespace cudamlp::cli
