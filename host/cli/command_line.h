// The command line cudamlp was started with, so that a message can say exactly how to run it again
// (an interrupted `train` prints the command that resumes it).
#pragma once

#include <string>
#include <vector>

namespace cudamlp::cli {

// Called once by main() with its arguments.
void remember_command_line(int argc, const char* const* argv);
const std::vector<std::string>& command_line();

// The arguments as one line a POSIX shell reads back as the same arguments: plain words as they are,
// anything else in single quotes.
std::string shell_quote(const std::vector<std::string>& args);

}  // namespace cudamlp::cli
