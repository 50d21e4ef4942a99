// Compiled with one part's include folders to see whether a header of another part is reachable from it
// (tests/architecture/CMakeLists.txt names the header in CUDAMLP_PROBE_HEADER).
#include CUDAMLP_PROBE_HEADER
