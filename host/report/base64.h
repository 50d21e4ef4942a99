// Base64 (RFC 4648, with padding): digit pixels in run logs, PNG data URIs in reports.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cudamlp {

std::string base64_encode(std::string_view bytes);
// nullopt unless text is well-formed base64 (padding included, no whitespace).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace cudamlp
