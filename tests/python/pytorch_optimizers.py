#!/usr/bin/env python3
"""cudamlp's optimizers and learning-rate schedules against torch.optim; tests/python/pytorch_interop.sh
runs it for the ctest test PyTorch.TrainingStepsMatchTorchOptim.

Usage: python3 tests/python/pytorch_optimizers.py path/to/build/cudamlp

From the same initial weights (written by this script) and the same sample order (--no-shuffle: file
order), K steps of `cudamlp train --device reference` must end with the weights, and the optimizer state
in its final checkpoint, that PyTorch computes in double precision with
  1. torch.optim.AdamW(weight_decay on the weights only, biases in a group of their own) and a LambdaLR
     of linear warm-up then cosine decay to lr_min;
  2. torch.optim.SGD(momentum, nesterov=True, weight decay on the weights only) and a LambdaLR of warm-up
     then a step decay.
Exit 0 on pass, 1 with a message on the first mismatch.
"""
import math
import os
import random
import sys
import tempfile

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_interop import fail, read_safetensors, run_cudamlp, sequential, write_safetensors  # noqa: E402

# cudamlp's reference stores every value in float32 (summing in double); PyTorch here computes in
# double throughout. Each step's values then differ by float32 roundings (~1e-7 relative), and Adam's
# normalised steps keep such differences from growing: after 14 steps the weights agree within 6e-8
# (measured on the three cases below). 2e-5
# leaves a margin while a wrong rule (bias correction off by one step, eps inside the root, decay on
# the biases, the warm-up's first step) moves some weight by lr * something, 1e-4 or more.
WEIGHT_TOLERANCE = 2e-5

SIZES = [784, 12, 10]
SAMPLES, BATCH, EPOCHS = 56, 8, 2  # 7 steps an epoch, 14 in all
STEPS_PER_EPOCH = SAMPLES // BATCH


def write_csv(path, seed):
    """A Kaggle-style train.csv of SAMPLES random digits: label, then 784 pixels 0..255."""
    rng = random.Random(seed)
    rows = [[rng.randrange(10)] + [rng.choice([0, 0, 0, rng.randrange(256)]) for _ in range(784)]
            for _ in range(SAMPLES)]
    with open(path, "w") as f:
        f.write("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n")
        for row in rows:
            f.write(",".join(map(str, row)) + "\n")
    labels = torch.tensor([row[0] for row in rows])
    pixels = torch.tensor([row[1:] for row in rows], dtype=torch.float32) / 255.0  # float32, as cudamlp
    return pixels.to(torch.float64), labels


def schedule_factor(kind, lr, lr_min, warmup, step, total):
    """lr_schedule.h's rate of step `step` divided by lr: what LambdaLR multiplies the base rate by."""
    if step < warmup:
        return (step + 1) / warmup
    if kind == "cosine":
        progress = (step - warmup) / (total - warmup)
        return (lr_min + (lr - lr_min) * (1 + math.cos(math.pi * progress)) / 2) / lr
    if kind == "step":  # --lr-step 1,0.5
        return 0.5 ** (step // STEPS_PER_EPOCH)
    fail(f"no schedule {kind}")


def torch_run(init, pixels, labels, make_optimizer, factor):
    model = sequential(SIZES).to(torch.float64)
    model.load_state_dict({name: tensor.to(torch.float64) for name, tensor in init.items()}, strict=True)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    optimizer = make_optimizer(weights, biases)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    for _ in range(EPOCHS):
        for first in range(0, SAMPLES, BATCH):
            x, y = pixels[first:first + BATCH], labels[first:first + BATCH]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()  # the batch's mean loss, as cudamlp
            optimizer.step()
            scheduler.step()
    return model, optimizer


def compare(what, got, want, tolerance):
    difference = (got.to(torch.float64) - want.detach()).abs().max().item()
    if not difference <= tolerance:
        fail(f"{what}: max |cudamlp - torch| = {difference:.3g} > {tolerance:g}")
    return difference


def check_case(cli, folder, name, flags, make_optimizer, factor, slots):
    init_path = os.path.join(folder, "init.safetensors")
    csv_path = os.path.join(folder, "train.csv")
    pixels, labels = write_csv(csv_path, seed=5)
    torch.manual_seed(7)
    init = {key: value.to(torch.float32) for key, value in sequential(SIZES).state_dict().items()}
    write_safetensors(init_path, init)
    out = os.path.join(folder, name + ".safetensors")
    checkpoint = os.path.join(folder, name + ".ckpt.safetensors")
    run_cudamlp(cli, ["train", "--train-csv", csv_path, "--init", init_path, "--device", "reference",
                      "--no-shuffle", "--batch", str(BATCH), "--epochs", str(EPOCHS), "--out", out,
                      "--checkpoint", checkpoint, *flags])
    model, optimizer = torch_run(init, pixels, labels, make_optimizer, factor)
    trained, _ = read_safetensors(out)
    worst = 0.0
    for key, want in model.state_dict().items():
        worst = max(worst, compare(f"{name}: {key}", trained[key], want, WEIGHT_TOLERANCE))
    # The final checkpoint's optimizer state is PyTorch's, by PyTorch's names.
    saved, metadata = read_safetensors(checkpoint)
    for key, parameter in model.named_parameters():
        state = optimizer.state[parameter]
        for slot in slots:
            compare(f"{name}: {slot}.{key}", saved[f"{slot}.{key}"], state[slot], WEIGHT_TOLERANCE)
    if int(metadata["cudamlp.position.step"]) != EPOCHS * STEPS_PER_EPOCH:
        fail(f"{name}: checkpoint step {metadata['cudamlp.position.step']}, expected {EPOCHS * STEPS_PER_EPOCH}")
    print(f"{name}: {EPOCHS * STEPS_PER_EPOCH} steps match torch.optim, max weight difference {worst:.2g}")


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} path/to/cudamlp", file=sys.stderr)
        sys.exit(2)
    cli = sys.argv[1]
    total = EPOCHS * STEPS_PER_EPOCH
    with tempfile.TemporaryDirectory(prefix="cudamlp-optim-") as folder:
        lr, lr_min, warmup, decay = 0.01, 0.001, 3, 0.1
        check_case(cli, folder, "adamw-cosine",
                   ["--optimizer", "adamw", "--lr", str(lr), "--weight-decay", str(decay), "--beta2", "0.99",
                    "--lr-schedule", "cosine", "--warmup", str(warmup), "--lr-min", str(lr_min)],
                   lambda weights, biases: torch.optim.AdamW(
                       [{"params": weights, "weight_decay": decay}, {"params": biases, "weight_decay": 0.0}],
                       lr=lr, betas=(0.9, 0.99), eps=1e-8),
                   lambda step: schedule_factor("cosine", lr, lr_min, warmup, step, total),
                   ["exp_avg", "exp_avg_sq"])
        lr, decay = 0.05, 0.01
        check_case(cli, folder, "sgd-nesterov-step",
                   ["--optimizer", "sgd", "--lr", str(lr), "--momentum", "0.9", "--nesterov", "--weight-decay",
                    str(decay), "--lr-schedule", "step", "--lr-step", "1,0.5", "--warmup", "2"],
                   lambda weights, biases: torch.optim.SGD(
                       [{"params": weights, "weight_decay": decay}, {"params": biases, "weight_decay": 0.0}],
                       lr=lr, momentum=0.9, nesterov=True),
                   lambda step: schedule_factor("step", lr, 0, 2, step, total),
                   ["momentum_buffer"])
        lr = 0.003
        check_case(cli, folder, "adam-decay-linear",
                   ["--optimizer", "adam", "--lr", str(lr), "--weight-decay", "0.05", "--lr-schedule", "linear",
                    "--lr-min", "0"],
                   lambda weights, biases: torch.optim.Adam(
                       [{"params": weights, "weight_decay": 0.05}, {"params": biases, "weight_decay": 0.0}], lr=lr),
                   lambda step: 1 - step / total,
                   ["exp_avg", "exp_avg_sq"])
    print("PASS")


if __name__ == "__main__":
    main()
