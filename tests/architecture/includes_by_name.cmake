# cmake -DSOURCE_DIR=... -P includes_by_name.cmake: every source of cudamlp (host/, kernels/, tests/,
# benchmarks/, fuzz/) includes the headers of other parts by name only ("cpu_backend.h"), never by a path
# ("cpu/cpu_backend.h", "../cpu/cpu_backend.h") that would reach around the include folders its part
# links; "cudamlp/..." is the public API. Fails listing every include that does.
file(GLOB_RECURSE sources LIST_DIRECTORIES false
     ${SOURCE_DIR}/host/* ${SOURCE_DIR}/kernels/* ${SOURCE_DIR}/tests/* ${SOURCE_DIR}/benchmarks/* ${SOURCE_DIR}/fuzz/*)
list(FILTER sources INCLUDE REGEX "\\.(h|cpp|cu|cuh)$")
set(found "")
foreach(source IN LISTS sources)
  file(STRINGS ${source} includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line IN LISTS includes)
    string(REGEX MATCH "\"([^\"]*)\"" _ "${line}")
    set(header "${CMAKE_MATCH_1}")
    if((header MATCHES "/" AND NOT header MATCHES "^cudamlp/[^/]+$") OR header MATCHES "\\.\\.")
      file(RELATIVE_PATH where ${SOURCE_DIR} ${source})
      string(APPEND found "\n  ${where}: ${line}")
    endif()
  endforeach()
endforeach()
if(found)
  message(FATAL_ERROR "includes by path, not by name:${found}")
endif()
list(LENGTH sources count)
message("every include names its header (${count} files checked)")
