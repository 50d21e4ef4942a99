#!/usr/bin/env bash
# Builds, on this machine, what a session with a GPU runs on the device machine (docs/gpu-validation.md).
# That machine has CUDA 13, CMake and PyTorch, but none of the Debian packages this project builds with,
# and no network; the device tool carries at most 64 MiB. So the programs are built here, for Hopper
# (sm_90: H100, H200), and travel with the shared libraries they need beyond the C library, libstdc++
# and CUDA's own, and with MNIST gzipped:
#   build-device/bin/     cudamlp, cudamlp_tests, cudamlp_gpu_op_benchmarks, cudamlp_gemm_lab_benchmark
#   build-device/lib/     e.g. libpng16, libz
#   build-device/mnist/   the four IDX files, gzipped (the readers take .gz)
# The bundle leaves out the cpu backend (OpenBLAS alone is 35 MB), MPI and NCCL (one GPU: nothing to
# sum over). Then, with the device tool: carry ["build-device"] and run scripts/gpu-validate.sh STAGE.
#
#   scripts/device-bundle.sh            # after scripts/setup.sh; fetches MNIST when it is missing
set -euo pipefail
cd "$(dirname "$0")/.."

tree=build-device-tree  # the build tree stays here; only build-device/ travels
out=build-device
programs=(cudamlp tests/cudamlp_tests benchmarks/cudamlp_gpu_op_benchmarks benchmarks/cudamlp_gemm_lab_benchmark)
mnist=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

cmake -S . -B "$tree" -DCMAKE_BUILD_TYPE=Release -DCUDAMLP_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCUDAMLP_CPU=OFF -DCUDAMLP_MPI=OFF -DCUDAMLP_NCCL=OFF -DCUDAMLP_WERROR=ON >/dev/null
cmake --build "$tree" -j"$(nproc)" --target "${programs[@]##*/}"

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/mnist"
for program in "${programs[@]}"; do cp "$tree/$program" "$out/bin/"; done
# Every library ldd resolves, except the base system's and CUDA's (the device machine has its own,
# matching its driver).
for lib in $(ldd "$out"/bin/* | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
  case "$(basename "$lib")" in
    libc.so.* | libm.so.* | libdl.so.* | libpthread.so.* | librt.so.* | ld-linux* | libstdc++.so.* | libgcc_s.so.*) ;;
    libcudart.so.* | libcublas.so.* | libcublasLt.so.*) ;;
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done

for name in "${mnist[@]}"; do
  [[ -f data/mnist/$name || -f data/mnist/$name.gz ]] || { data/fetch-mnist.sh; break; }
done
for name in "${mnist[@]}"; do
  if [[ -f data/mnist/$name.gz ]]; then cp "data/mnist/$name.gz" "$out/mnist/"; else gzip -9c "data/mnist/$name" >"$out/mnist/$name.gz"; fi
done

bytes=$(du -sb "$out" | cut -f1)
echo "device-bundle: $out/ is $((bytes / 1048576)) MiB: $(ls "$out/bin" | tr '\n' ' ')+ $(ls "$out/lib" | tr '\n' ' ')"
if ((bytes > 56 * 1048576)); then
  echo "device-bundle: error: over 56 MiB; the device tool carries 64 MiB with the working tree" >&2
  exit 1
fi
# The newest C and C++ library symbols the programs need: the device machine's must be at least these.
symbols=$(objdump -T "$out"/bin/* "$out"/lib/* 2>/dev/null)
echo "device-bundle: needs $(grep -o 'GLIBC_[0-9.]*' <<<"$symbols" | sort -Vu | tail -1)" \
  "and $(grep -o 'GLIBCXX_[0-9.]*' <<<"$symbols" | sort -Vu | tail -1) (libstdc++ of GCC 12 or newer)"
