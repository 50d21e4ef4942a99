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

// ------------------------------------------------------------------------------------------------
// Quoting

namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// The length of the valid UTF-8 sequence at the start of bytes (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or 0 when it does not start with one.
size_t utf8_sequence_length(std::string_view bytes) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char min = 0x80, max = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min = 0xA0;  // overlong below U+0800
    if (lead == 0xED) max = 0x9F;  // surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min = 0x90;  // overlong below U+10000
    if (lead == 0xF4) max = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1 (overlong) or F5..FF
  }
  if (bytes.size() < length || byte(1) < min || byte(1) > max) return 0;
  for (size_t i = 2; i < length; ++i)
    if (!is_continuation(byte(i))) return 0;
  return length;
}

// The next piece of bytes as a message shows it: one character, or one escaped byte. Sets `used` to
// the bytes it stands for.
std::string next_shown(std::string_view bytes, size_t& used) {
  const size_t length = utf8_sequence_length(bytes);
  const auto lead = static_cast<unsigned char>(bytes[0]);
  const bool control = length == 1 ? (lead < 0x20 || lead == 0x7F)
                                   : (length == 2 && lead == 0xC2 && static_cast<unsigned char>(bytes[1]) < 0xA0);
  if (length == 0 || control) {
    used = 1;  // a C1 control is escaped byte by byte, like invalid bytes
    char escaped[5];
    std::snprintf(escaped, sizeof escaped, "\\x%02x", lead);
    return escaped;
  }
  used = length;
  return std::string(bytes.substr(0, length));
}

// Shows bytes until max_chars characters are shown (SIZE_MAX: all); "..." when some were left out.
std::string shown(std::string_view bytes, size_t max_chars) {
  std::string text;
  size_t chars = 0;
  while (!bytes.empty()) {
    size_t used = 0;
    const std::string piece = next_shown(bytes, used);
    const size_t piece_chars = piece.size() == used ? 1 : piece.size();  // a character, or an escape
    if (chars + piece_chars > max_chars) return text + "...";
    text += piece;
    chars += piece_chars;
    bytes.remove_prefix(used);
  }
  return text;
}

}  // namespace

std::string escape_bytes(std::string_view bytes) { return shown(bytes, SIZE_MAX); }

std::string excerpt(std::string_view bytes) { return shown(bytes, kMaxQuotedChars); }

std::string quoted_excerpt(std::string_view bytes) { return "'" + excerpt(bytes) + "'"; }

std::string json_error_text(std::string_view what) {
  // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
  if (what.starts_with("[json.exception.")) {
    const size_t end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  // The quoted input runs from the marker to the quote before "; expected ..." or to the last quote.
  for (const std::string_view marker : {std::string_view("last read: '"), std::string_view("parsing '")}) {
    const size_t begin = what.find(marker);
    if (begin == std::string_view::npos) continue;
    const size_t token = begin + marker.size();
    size_t end = what.rfind("'; expected ");
    if (end == std::string_view::npos || end < token) end = what.rfind('\'');
    if (end == std::string_view::npos || end < token) break;
    return escape_bytes(what.substr(0, token)) + excerpt(what.substr(token, end - token)) +
           escape_bytes(what.substr(end));
  }
  return escape_bytes(what);
}

}  // namespace cudamlp
