#!/usr/bin/env python3
"""cudamlp <-> PyTorch model file interop; tests/python/pytorch_interop.sh runs it for the ctest test
PyTorch.LoadsCudamlpModelAndPredictsTheSame.

Usage: python3 tests/python/pytorch_interop.py path/to/build/cudamlp

1. PyTorch -> cudamlp: the state_dict of a seeded nn.Sequential(784-32-16-10), written as safetensors by
   hand (the safetensors package is not in Debian), must load in `cudamlp info` and `cudamlp predict`,
   and cudamlp's probabilities must equal torch.softmax(model(pixel / 255)).
2. cudamlp -> PyTorch: a model written by `cudamlp train` must load into the matching nn.Sequential
   with load_state_dict(strict=True) and predict what `cudamlp predict` predicts.
Exit 0 on pass, 1 with a message on the first mismatch.
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

import torch
from torch import nn

# Both sides compute in float32 but sum in different orders (cudamlp's reference accumulates in double),
# so logits differ by a few float32 ulps; probabilities in [0, 1] then differ by ~1e-7. 1e-5 leaves
# two orders of magnitude of margin while any real layout mistake (a transposed weight, a missing
# bias, a different input scale) moves probabilities by far more.
PROBABILITY_TOLERANCE = 1e-5

DIM = 784  # 28 x 28 pixels
CLASSES = 10


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def run_cudamlp(cli, args, stdin_text=""):
    """Runs cudamlp with args; fails the test unless it exits 0. Returns stdout."""
    result = subprocess.run([cli, *args], input=stdin_text, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        fail(f"`cudamlp {' '.join(args)}` exited {result.returncode}\nstdout:\n{result.stdout}\n"
             f"stderr:\n{result.stderr}")
    return result.stdout


# --- safetensors by hand: 8-byte little-endian header length, JSON header, raw little-endian data ---

def write_safetensors(path, tensors, metadata=None):
    """tensors: name -> float tensor, written as F32 back to back in the given order."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, tensor in tensors.items():
        values = tensor.detach().to(torch.float32).contiguous().flatten().tolist()
        blob = struct.pack(f"<{len(values)}f", *values)  # float32 -> Python float -> float32 is exact
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)  # the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(blobs))


def read_safetensors(path):
    """Returns ({name: float32 tensor}, metadata) from an F32 safetensors file, checking its layout."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        fail(f"{path}: {len(data)} bytes, too short for safetensors")
    (header_length,) = struct.unpack("<Q", data[:8])
    if 8 + header_length > len(data):
        fail(f"{path}: header length {header_length} runs past the end of the file")
    header = json.loads(data[8:8 + header_length])
    body = data[8 + header_length:]
    metadata = header.pop("__metadata__", {})
    tensors, covered = {}, 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        if entry["dtype"] != "F32":
            fail(f"{path}: tensor {name} has dtype {entry['dtype']}, cudamlp writes F32")
        begin, end = entry["data_offsets"]
        count = 1
        for dim in entry["shape"]:
            count *= dim
        if begin != covered or end - begin != 4 * count:
            fail(f"{path}: tensor {name} has data_offsets {entry['data_offsets']} for shape {entry['shape']}; "
                 f"expected [{covered}, {covered + 4 * count}]")
        # frombuffer reads native byte order: little-endian, as on every host cudamlp runs on.
        values = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.float32) if count else torch.empty(0)
        tensors[name] = values.reshape(entry["shape"])
        covered = end
    if covered != len(body):
        fail(f"{path}: {len(body) - covered} bytes after the last tensor")
    return tensors, metadata


# --- models and predictions ---

def sequential(sizes):
    """nn.Sequential(Linear, ReLU, Linear, ..., Linear): the network cudamlp computes (softmax applied apart)."""
    layers = []
    for i in range(len(sizes) - 1):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
    return nn.Sequential(*layers)


def torch_probabilities(model, pixels):
    """pixels: [N, 784] integer tensor 0..255 -> [N, 10] probabilities, input scaled as cudamlp does."""
    with torch.no_grad():
        x = pixels.to(torch.float32) / 255.0  # float32 division, like cudamlp's scale_pixel
        return torch.softmax(model(x), dim=1)


def pixels_text(pixels):
    return "\n".join(" ".join(str(int(v)) for v in row) for row in pixels.tolist()) + "\n"


def test_pixels(seed, count):
    """count random images plus an all-black and an all-white one: [count + 2, 784] integers 0..255."""
    generator = torch.Generator().manual_seed(seed)
    random_rows = torch.randint(0, 256, (count, DIM), generator=generator)
    return torch.cat([random_rows, torch.zeros(1, DIM, dtype=torch.int64), torch.full((1, DIM), 255)])


def expect_same_predictions(cli, model_path, model, pixels, what):
    """cudamlp predict --json on pixels must match model's softmax within PROBABILITY_TOLERANCE."""
    expected = torch_probabilities(model, pixels)
    lines = run_cudamlp(cli, ["predict", "--model", model_path, "--json"], pixels_text(pixels)).splitlines()
    lines = [line for line in lines if line.strip()]
    if len(lines) != len(pixels):
        fail(f"{what}: cudamlp printed {len(lines)} JSON lines for {len(pixels)} inputs:\n" + "\n".join(lines))
    worst = 0.0
    for i, line in enumerate(lines):
        result = json.loads(line)
        probabilities = torch.tensor(result["probabilities"], dtype=torch.float64)
        if probabilities.shape != (CLASSES,):
            fail(f"{what}: input {i}: expected {CLASSES} probabilities, got {result['probabilities']}")
        difference = (probabilities - expected[i].to(torch.float64)).abs().max().item()
        worst = max(worst, difference)
        if difference > PROBABILITY_TOLERANCE:
            fail(f"{what}: input {i}: probabilities differ by {difference:.3g} > {PROBABILITY_TOLERANCE}\n"
                 f"  cudamlp: {probabilities.tolist()}\n  torch:   {expected[i].tolist()}")
        # The class must be the argmax of cudamlp's own probabilities; torch's argmax may only differ
        # on a near tie, which the probability check above already bounds.
        if result["predicted"] != int(probabilities.argmax()):
            fail(f"{what}: input {i}: predicted {result['predicted']} is not the argmax of {probabilities.tolist()}")
    print(f"{what}: {len(lines)} inputs, largest probability difference {worst:.3g}")
    return expected


def pytorch_to_cudamlp(cli, folder):
    torch.manual_seed(20240607)
    model = sequential([DIM, 32, 16, CLASSES])
    path = os.path.join(folder, "torch.safetensors")
    write_safetensors(path, model.state_dict())  # no metadata: what a plain PyTorch export holds

    info = run_cudamlp(cli, ["info", path])
    parameters = sum(p.numel() for p in model.parameters())
    if str(parameters) not in info or "784" not in info:
        fail(f"cudamlp info does not show 784 inputs and {parameters} parameters:\n{info}")

    pixels = test_pixels(seed=1, count=6)
    expected = expect_same_predictions(cli, path, model, pixels, "PyTorch model in cudamlp")

    # The plain text form: one line per input, naming the predicted class.
    lines = [line for line in run_cudamlp(cli, ["predict", "--model", path], pixels_text(pixels)).splitlines()
             if line.strip()]
    if len(lines) != len(pixels):
        fail(f"cudamlp predict printed {len(lines)} lines for {len(pixels)} inputs:\n" + "\n".join(lines))
    for i, line in enumerate(lines):
        if str(int(expected[i].argmax())) not in line:
            fail(f"cudamlp predict line {i} does not name class {int(expected[i].argmax())}: {line}")


def cudamlp_to_pytorch(cli, folder):
    # A tiny Kaggle-style train.csv: label,pixel0..pixel783 and 20 rows.
    rng = random.Random(7)
    csv_path = os.path.join(folder, "train.csv")
    with open(csv_path, "w") as f:
        f.write("label," + ",".join(f"pixel{i}" for i in range(DIM)) + "\n")
        for row in range(20):
            f.write(f"{row % CLASSES}," + ",".join(str(rng.randrange(256)) for _ in range(DIM)) + "\n")

    path = os.path.join(folder, "m.safetensors")
    run_cudamlp(cli, ["train", "--train-csv", csv_path, "--hidden", "8", "--epochs", "1", "--batch", "4",
                      "--lr", "0.1", "--device", "reference", "--out", path])
    tensors, metadata = read_safetensors(path)
    if metadata.get("format") != "pt" or metadata.get("cudamlp.sizes") != "784,8,10":
        fail(f"{path}: unexpected metadata {metadata}")

    model = sequential([DIM, 8, CLASSES])
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        fail(f"PyTorch cannot load {path} into {model}: {error}")
    expect_same_predictions(cli, path, model, test_pixels(seed=2, count=3), "cudamlp model in PyTorch")


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} path/to/cudamlp", file=sys.stderr)
        return 2
    if sys.byteorder != "little":
        fail("safetensors data is little-endian and this test reads it with torch.frombuffer")
    cli = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="cudamlp-interop-") as folder:
        pytorch_to_cudamlp(cli, folder)
        cudamlp_to_pytorch(cli, folder)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
