// Writing a file so that a crash, a kill or a full disk at any moment leaves either the old file or the
// new one, never a half-written mix: what every cudamlp output (models, checkpoints, logs, reports) uses.
#pragma once

#include <string>
#include <string_view>

namespace cudamlp {

// Writes bytes to path.tmp-<pid>, fsyncs it, renames it over path and fsyncs the folder. On any failure
// the temporary file is removed, the old file at path is untouched, and FileError names path.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace cudamlp
