// SIMT_EXECUTOR: the inline namespace of everything compiled for one executor, `cuda` under nvcc and
// `emulated` under g++. The same kernel source is compiled once for each; the namespaces keep the two
// builds from being merged by the linker into one.
#pragma once

#if defined(__CUDACC__)
#define SIMT_EXECUTOR cuda
#else
#define SIMT_EXECUTOR emulated
#endif
