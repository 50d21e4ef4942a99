#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: install what is missing, fetch MNIST, build cudamlp,
# train the recipe that reaches >= 98.5% without augmentation (scripts/recipes.sh mnist: 784-800-800-10,
# AdamW, warm-up + cosine, dropout 0.2, 12 epochs; docs/accuracy.md) and evaluate it. Extra arguments go
# to `cudamlp train` (e.g. scripts/train-mnist.sh --epochs 20 --device cpu).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
data/fetch-mnist.sh

cmake --preset default >/dev/null
cmake --build --preset default -j "$(nproc)"

model=mnist-800-800.safetensors
scripts/recipes.sh mnist 1 --out "$model" "$@"
build/cudamlp eval --model "$model" --data data/mnist
