// printf into a std::string, for the messages, tables and markup the library and the command write.
#pragma once

#include <string>

namespace cudamlp {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace cudamlp
