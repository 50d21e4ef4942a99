#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: install what is missing, fetch MNIST, build cudamlp,
# train the 784-128-64-10 network and evaluate it. Extra arguments go to `cudamlp train`
# (e.g. scripts/train-mnist.sh --epochs 10 --momentum 0.9).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
data/fetch-mnist.sh

cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"

model=mnist-128-64.safetensors
build/cudamlp train --data data/mnist --hidden 128,64 --epochs 3 --batch 64 --lr 0.1 --out "$model" "$@"
build/cudamlp eval --model "$model" --data data/mnist
