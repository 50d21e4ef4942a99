// See format.h.
#include "format.h"

#include <cstdarg>
#include <cstdio>

namespace cudamlp {

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list again;
  va_copy(again, args);
  const int length = std::vsnprintf(nullptr, 0, fmt, args);  // how long, then the text itself
  va_end(args);
  std::string text;
  if (length > 0) {
    text.resize(size_t(length));
    std::vsnprintf(text.data(), size_t(length) + 1, fmt, again);
  }
  va_end(again);
  return text;
}

}  // namespace cudamlp
