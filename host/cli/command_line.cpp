// The remembered command line and its shell quoting; see command_line.h.
#include "command_line.h"

#include <string_view>

namespace cudamlp::cli {

namespace {

std::vector<std::string>& arguments() {
  static std::vector<std::string> args;
  return args;
}

// Characters that never need quoting in a POSIX shell word.
bool is_plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-_./=:,+@%").find(c) != std::string_view::npos;
}

}  // namespace

void remember_command_line(int argc, const char* const* argv) { arguments().assign(argv, argv + argc); }

const std::vector<std::string>& command_line() { return arguments(); }

std::string shell_quote(const std::vector<std::string>& args) {
  std::string line;
  for (const std::string& arg : args) {
    if (!line.empty()) line += ' ';
    bool plain = !arg.empty();
    for (char c : arg) plain = plain && is_plain(c);
    if (plain) {
      line += arg;
      continue;
    }
    // Inside single quotes everything is literal except ' itself, written as '\''.
    line += '\'';
    for (char c : arg) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

}  // namespace cudamlp::cli
