// printf into a std::string, for the messages, tables and markup the library and the command write; and
// the one way a message quotes bytes that came from a file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cudamlp {

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ------------------------------------------------------------------------------------------------
// Quoting a file's bytes in a message. A file can hold anything: a NUL (which would end the message
// where the CLI prints it as a C string), a newline or a terminal escape (a second line, a changed
// terminal), bytes of another encoding (a UTF-16 CSV), or a 7,000-character line. Every reader quotes
// file content through these, so every message stays one short, printable line.

// The most characters of a file's text that a message quotes: enough to recognise a value, a CSV
// header or a JSON token, few enough that the whole message fits a terminal line or two.
inline constexpr size_t kMaxQuotedChars = 48;

// bytes, all of them, as a message may show them: control bytes (NUL, newline, ESC, DEL and the C1
// controls U+0080..U+009F) and bytes that are not part of valid UTF-8 as \xNN; valid UTF-8 stays as it
// is (accents, CJK, emoji). The backslash itself is not escaped.
std::string escape_bytes(std::string_view bytes);

// The first kMaxQuotedChars characters of escape_bytes(bytes) (an escape counts its four characters;
// a UTF-8 sequence is never split), followed by "..." when something was left out.
std::string excerpt(std::string_view bytes);

// excerpt(bytes) in single quotes: 'label;pixel0;pixel1;...'.
std::string quoted_excerpt(std::string_view bytes);

// A JSON library (nlohmann) error as a message's problem: without its "[json.exception.parse_error.101] "
// prefix, and with the input it quotes ("last read: '...'", "parsing '...'") cut to an excerpt.
std::string json_error_text(std::string_view what);

}  // namespace cudamlp
