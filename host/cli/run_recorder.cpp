// The run log and report files of `cudamlp train`; see run_recorder.h.
#include "run_recorder.h"

#include "cudamlp/atomic_file.h"
#include "cudamlp/report.h"

namespace cudamlp::cli {

RunRecorder::RunRecorder(std::string log_path, std::string report_path, nlohmann::ordered_json settings)
    : log_path_(std::move(log_path)), report_path_(std::move(report_path)) {
  log_.settings = std::move(settings);
}

void RunRecorder::add_epoch(const EpochReport& report) {
  log_.epochs.push_back(epoch_record(report));
  write();
}

void RunRecorder::continue_from(const std::string& history, const std::string& checkpoint, int64_t epochs) {
  if (history.empty()) {
    // Format 1 checkpoints have none: the log starts at the interruption, and the checkpoints of this
    // run keep no history either (a partial one would not match their epoch count).
    has_every_epoch_ = epochs == 0;
    return;
  }
  const std::string name = checkpoint + " (its cudamlp.history)";
  nlohmann::ordered_json json;
  try {
    json = nlohmann::ordered_json::parse(history);
  } catch (const nlohmann::ordered_json::exception&) {
    throw FileError(name, "is not JSON");
  }
  RunLog earlier = run_log_from_json(json, name);
  if (int64_t(earlier.epochs.size()) != epochs)
    throw FileError(name, "holds " + std::to_string(earlier.epochs.size()) + " epochs; the checkpoint has trained " +
                              std::to_string(epochs));
  for (size_t e = 0; e < earlier.epochs.size(); ++e)
    if (earlier.epochs[e].epoch != int(e + 1))
      throw FileError(name, "epoch " + std::to_string(e + 1) + " is numbered " + std::to_string(earlier.epochs[e].epoch));
  log_.epochs = std::move(earlier.epochs);
}

std::string RunRecorder::history() const {
  if (!has_every_epoch_) return "";
  RunLog epochs;
  epochs.epochs = log_.epochs;
  return run_log_json(epochs).dump();
}

void RunRecorder::finish(Backend& backend, const Dataset* test, const Dataset* validation) {
  if (log_path_.empty() && report_path_.empty()) return;
  if (test != nullptr) {
    log_.test = summarize_test_set(backend, *test);
  } else if (validation != nullptr) {
    log_.test = summarize_test_set(backend, *validation);
    log_.test->set = "validation";
  }
  log_.finished = true;
  write();
}

void RunRecorder::write() const {
  if (!log_path_.empty()) write_run_log(log_path_, log_);
  if (!report_path_.empty()) write_file_atomically(report_path_, report_html(log_, "cudamlp train"));
}

}  // namespace cudamlp::cli
