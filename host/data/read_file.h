// Reading a user's input file whole, for the readers that parse from memory (CSV, pictures).
#pragma once

#include <ios>
#include <string>

namespace cudamlp {

// The bytes of the file at path. FileError naming path when it is a folder ("is a folder, not <what>"),
// cannot be opened, is larger than max_bytes ("N bytes, more than <limit>"; max_bytes < 0: no limit),
// or cannot be read to the end. A pipe or FIFO (no size to tell) is read to its end, once.
std::string read_whole_file(const std::string& path, const std::string& what, std::streamoff max_bytes = -1,
                            const std::string& limit = "");

}  // namespace cudamlp
