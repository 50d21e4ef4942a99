#!/usr/bin/env bash
# The training recipes of docs/accuracy.md, as commands: each prints `cudamlp train`'s output; the
# figures in docs/accuracy.md are their last epoch lines (test accuracy) and the sum of their epoch
# times (training only, evaluation not included).
#
# Usage: scripts/recipes.sh RECIPE [SEED] [extra cudamlp train flags...]
#   mnist          784-800-800-10, AdamW, warm-up + cosine, dropout 0.2, 12 epochs: >= 98.5% (no augmentation)
#   mnist-augment  784-1024-1024-10, the same optimizer, --augment (rotate, scale, shear, shift) and Simard's
#                  elastic 34,4, dropout 0.1, 50 epochs
#   fashion        the mnist recipe on Fashion-MNIST (data/fetch-fashion-mnist.sh), 20 epochs: >= 90%
#   large-batch    784-1024-1024-10 with batch 8192: the linear scaling rule with warm-up (Goyal et al.
#                  2017), SGD lr 0.025 x 8192/256 = 0.8, momentum 0.9, 5 warm-up epochs, cosine, 30 epochs
#   ciresan        Ciresan et al. 2010: 2500-2000-1500-1000-500-10 on deformed digits, for a GPU
#                  (--device auto); their 800 epochs of online training adapted to batches of 64 with
#                  SGD momentum and a per-epoch decay of 0.97
# Needs build/cudamlp (cmake --preset default && cmake --build --preset default) and MNIST in data/mnist
# (data/fetch-mnist.sh; Fashion-MNIST: data/fetch-fashion-mnist.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

recipe="${1:-}"
seed="${2:-1}"
shift $(($# >= 2 ? 2 : $#)) || true

adamw=(--optimizer adamw --lr 0.001 --weight-decay 0.05 --lr-schedule cosine --warmup 1epoch)
case "$recipe" in
  mnist)
    exec build/cudamlp train --data data/mnist --hidden 800,800 --epochs 12 --batch 128 "${adamw[@]}" \
      --dropout 0.2 --seed "$seed" "$@" ;;
  mnist-augment)
    exec build/cudamlp train --data data/mnist --hidden 1024,1024 --epochs 50 --batch 128 "${adamw[@]}" \
      --dropout 0.1 --augment --elastic 34,4 --seed "$seed" "$@" ;;
  fashion)
    exec build/cudamlp train --data data/fashion-mnist --hidden 800,800 --epochs 20 --batch 128 "${adamw[@]}" \
      --dropout 0.2 --seed "$seed" "$@" ;;
  large-batch)
    exec build/cudamlp train --data data/mnist --hidden 1024,1024 --epochs 30 --batch 8192 --lr 0.8 --momentum 0.9 \
      --weight-decay 0.0005 --lr-schedule cosine --warmup 5epochs --seed "$seed" "$@" ;;
  ciresan)
    exec build/cudamlp train --data data/mnist --hidden 2500,2000,1500,1000,500 --epochs 800 --batch 64 \
      --lr 0.01 --momentum 0.9 --lr-schedule step --lr-step 1,0.97 --rotate 15 --scale 0.15 --elastic 36,6 \
      --seed "$seed" "$@" ;;
  *)
    sed -n '2,/^set/p' "$0" | sed '$d' >&2
    exit 2 ;;
esac
