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

void RunRecorder::finish(Backend& backend, const Dataset* test) {
  if (log_path_.empty() && report_path_.empty()) return;
  if (test != nullptr) log_.test = summarize_test_set(backend, *test);
  log_.finished = true;
  write();
}

void RunRecorder::write() const {
  if (!log_path_.empty()) write_run_log(log_path_, log_);
  if (!report_path_.empty()) write_file_atomically(report_path_, report_html(log_, "cudamlp train"));
}

}  // namespace cudamlp::cli
