// The `cudamlp` command: train, eval, predict, info, bench, report, serve, verify. The only place that prints errors and
// picks exit codes: 0 success, 2 usage error (bad flag, unusable option), 1 runtime error (bad file, I/O
// failure).
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <new>
#include <string>

#include "cli_common.h"
#include "command_line.h"
#include "cudamlp/errors.h"

int main(int argc, char** argv) {
  using namespace cudamlp;
  // A file size limit (ulimit -f) would kill us with SIGXFSZ mid-write, silently, with a temporary file
  // left behind: ignored, the write fails with EFBIG and is reported like any other failed write.
  std::signal(SIGXFSZ, SIG_IGN);
  cli::remember_command_line(argc, argv);  // for messages that say how to run it again
  CLI::App app{"cudamlp: train dense neural networks (MLPs) on MNIST-style data, on the CPU or a GPU.",
               "cudamlp"};
  app.set_version_flag("--version", "cudamlp 0.1.0");
  app.require_subcommand(1);
  const std::vector<cli::Command> commands = {cli::add_train_command(app), cli::add_eval_command(app),
                                              cli::add_predict_command(app), cli::add_info_command(app),
                                              cli::add_bench_command(app), cli::add_report_command(app),
                                              cli::add_serve_command(app),
                                              cli::add_verify_command(app)};
  const auto is_command = [&](const std::string& name) {
    for (const cli::Command& command : commands)
      if (command.app->get_name() == name) return true;
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    std::cerr << "cudamlp: error: unknown command '" << argv[1]
              << "' (expected train, eval, predict, info, bench, report, serve or verify; see cudamlp --help)\n";
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::string where = "cudamlp";
    for (const cli::Command& command : commands)
      if (command.app->parsed()) where += " " + command.app->get_name();
    std::cerr << where << ": error: " << cli::one_line(e.what()) << " (see " << where << " --help)\n";
    return 2;
  }
  try {
    for (const cli::Command& command : commands)
      if (command.app->parsed()) return command.run();
    return 2;
  } catch (...) {
    return cli::report_error(std::current_exception());
  }
}
