// Writing a file so that a crash, a kill or a full disk at any moment leaves either the old file or the
// new one, never a half-written mix: what every cudamlp output (models, checkpoints, logs, reports) uses.
#pragma once

#include <string>
#include <string_view>

namespace cudamlp {

// Writes bytes to a temporary file in path's folder, fsyncs it, renames it over path and fsyncs the
// folder. On any failure the temporary file is removed, the old file at path is untouched, and FileError
// names path. A path that exists and is not a regular file (a device, a FIFO, a folder) is refused.
//
// The temporary is named ".cudamlp-<hash of path's file name>-<pid>.tmp": short, so it fits wherever
// path's own name fits, and recognisable, so that the next write of the same file removes those left by
// processes that no longer run (killed with SIGKILL mid-write, say).
void write_file_atomically(const std::string& path, std::string_view bytes);

// Where write_file_atomically(path, ...) in this process puts its temporary file.
std::string temporary_path(const std::string& path);

// The temporary file that a write_file_atomically in progress is writing, or nullptr. For a signal
// handler that ends the process: it may unlink() it (async-signal-safe), so nothing outlives the process.
const char* atomic_write_temporary() noexcept;

}  // namespace cudamlp
