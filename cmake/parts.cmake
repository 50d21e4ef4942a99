# cudamlp_add_part(TARGET SOURCES...): the static library of one part of cudamlp. Its folder is its include
# root, PUBLIC: a part that links it includes its headers by name ("cpu_backend.h"), and a part that does
# not link it cannot find them, so a forbidden include fails to compile. Only in the build tree: an installed
# part hands on include/ alone (cmake/install.cmake), the public API. Our warnings apply to its C++ and,
# through nvcc, to its CUDA.
function(cudamlp_add_part target)
  add_library(${target} STATIC ${ARGN})
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}>)
  target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:CXX>:${CUDAMLP_WARNINGS}>"
    "$<$<AND:$<COMPILE_LANGUAGE:CUDA>,$<BOOL:${CUDAMLP_WERROR}>>:--Werror=all-warnings>")
endfunction()
