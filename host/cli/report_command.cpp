// `cudamlp report`: the HTML training report (see cudamlp/report.h) from a run log that
// `cudamlp train --log FILE` wrote.
#include <iostream>

#include "cli_common.h"
#include "cudamlp/atomic_file.h"
#include "cudamlp/report.h"
#include "cudamlp/run_log.h"

namespace cudamlp::cli {

namespace {

struct ReportArgs {
  std::string log;
  std::string out;  // empty: the log's name with .html for .json
};

std::string default_report_path(const std::string& log) {
  const std::string suffix = ".json";
  const std::string stem = log.ends_with(suffix) ? log.substr(0, log.size() - suffix.size()) : log;
  return stem + ".html";
}

int run_report(const ReportArgs& args) {
  const std::string out = args.out.empty() ? default_report_path(args.log) : args.out;
  const std::string flag = args.out.empty() ? "the report next to the log" : "--out";
  check_output_path(flag, out);
  check_outputs_apart({{flag, out}}, {{"the run log", args.log}});
  const RunLog log = read_run_log(args.log);
  write_file_atomically(out, report_html(log, args.log));
  std::cerr << "wrote " << out << "\n";
  return 0;
}

}  // namespace

Command add_report_command(CLI::App& parent) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* app = parent.add_subcommand(
      "report",
      "Write the HTML training report (loss/accuracy curves, confusion matrix, misclassified digits, "
      "settings) of a run log from `train --log`");
  app->add_option("log", args->log, "Run log (JSON) written by `cudamlp train --log FILE`")
      ->required()
      ->check(kReadableFile);
  app->add_option("-o,--out", args->out, "The HTML file to write [default: the log's name, .html for .json]");
  return {app, [args] { return run_report(*args); }};
}

}  // namespace cudamlp::cli
