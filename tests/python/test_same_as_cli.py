"""Same numbers as the CLI: the same network, seed and data trained through MLPClassifier and through
`cudamlp train` give the same model file, and a checkpoint of the CLI goes on in Python exactly.

What is compared: every tensor's bytes (dtype, shape, data), every __metadata__ entry, and in the recipe
(cudamlp.recipe, the run's settings as JSON) every key but "data", which names where the samples came
from: the CLI's file (train.csv) against the estimator's arrays ("numpy uint8 [N, D]"). With that one
value equal, the two files would be byte for byte the same (same keys in the same order, same JSON)."""

import json
import struct
import subprocess

import numpy as np
import pytest

import cudamlp
from conftest import cli_path

N, D, CLASSES = 400, 16, 10  # the CLI's CSV reader makes 10 classes


@pytest.fixture(scope="module")
def csv_data(tmp_path_factory):
    """Random uint8 samples with every label present, as arrays and as a Kaggle train.csv for the CLI."""
    rng = np.random.default_rng(11)
    X = rng.integers(0, 256, (N, D), dtype=np.uint8)
    y = np.concatenate([np.arange(CLASSES), rng.integers(0, CLASSES, N - CLASSES)])
    path = tmp_path_factory.mktemp("data") / "train.csv"
    lines = ["label," + ",".join(f"pixel{i}" for i in range(D))]
    lines += [f"{label}," + ",".join(map(str, row)) for label, row in zip(y, X)]
    path.write_text("\n".join(lines) + "\n")
    return X, y, path


def cli_train(*flags):
    result = subprocess.run([str(cli_path()), "train", *map(str, flags)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def read_safetensors(path):
    """(header without offsets, {tensor name: its bytes}) of a safetensors file."""
    blob = path.read_bytes()
    size = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + size])
    data = blob[8 + size:]
    metadata = header.pop("__metadata__", {})
    tensors = {name: (info["dtype"], info["shape"], data[info["data_offsets"][0]:info["data_offsets"][1]])
               for name, info in header.items()}
    return metadata, tensors


def assert_same_model_file(python_file, cli_file):
    python_metadata, python_tensors = read_safetensors(python_file)
    cli_metadata, cli_tensors = read_safetensors(cli_file)
    assert python_tensors == cli_tensors
    python_recipe = json.loads(python_metadata.pop("cudamlp.recipe"))
    cli_recipe = json.loads(cli_metadata.pop("cudamlp.recipe"))
    assert python_metadata == cli_metadata
    assert python_recipe.pop("data").startswith("numpy uint8")
    assert cli_recipe.pop("data").endswith("train.csv")
    assert list(python_recipe.items()) == list(cli_recipe.items())  # the order too


CASES = {
    "sgd": (dict(hidden=(8,), epochs=2, batch=32, lr=0.1),
            ["--hidden", "8", "--epochs", "2", "--batch", "32", "--lr", "0.1"]),
    "adamw-cosine-dropout-validation": (
        dict(hidden=(12, 8), epochs=4, batch=50, lr=0.003, optimizer="adamw", weight_decay=0.05,
             lr_schedule="cosine", warmup="1epochs", lr_min=0.0001, dropout=0.2, val_split=0.2, early_stop=2,
             keep="best"),
        ["--hidden", "12,8", "--epochs", "4", "--batch", "50", "--lr", "0.003", "--optimizer", "adamw",
         "--weight-decay", "0.05", "--lr-schedule", "cosine", "--warmup", "1epochs", "--lr-min", "0.0001",
         "--dropout", "0.2", "--val-split", "0.2", "--early-stop", "2", "--keep", "best"]),
    "nesterov-step-schedule": (
        dict(hidden=(8,), epochs=3, batch=64, lr=0.05, momentum=0.9, nesterov=True, lr_schedule="step",
             lr_step=(1, 0.5), shuffle=False),
        ["--hidden", "8", "--epochs", "3", "--batch", "64", "--lr", "0.05", "--momentum", "0.9", "--nesterov",
         "--lr-schedule", "step", "--lr-step", "1,0.5", "--no-shuffle"]),
}


@pytest.mark.parametrize("device", ["cpu", "reference"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_estimator_writes_the_model_file_the_cli_writes(csv_data, tmp_path, case, device):
    X, y, csv = csv_data
    parameters, flags = CASES[case]
    cli_file, python_file = tmp_path / "cli.safetensors", tmp_path / "python.safetensors"
    cli_train("--train-csv", csv, *flags, "--seed", 3, "--device", device, "--out", cli_file)
    cudamlp.MLPClassifier(**parameters, random_state=3, device=device).fit(X, y).save(python_file)
    assert_same_model_file(python_file, cli_file)


def test_a_cli_checkpoint_goes_on_in_python_as_the_cli_would(csv_data, tmp_path):
    X, y, csv = csv_data
    flags = ["--train-csv", csv, "--hidden", "8", "--batch", "32", "--optimizer", "adam", "--lr", "0.01",
             "--seed", "5", "--device", "cpu"]
    cli_train(*flags, "--epochs", "4", "--out", tmp_path / "four.safetensors")
    cli_train(*flags, "--epochs", "2", "--checkpoint", tmp_path / "two.ckpt")
    model, history = cudamlp.resume(tmp_path / "two.ckpt", X, y, epochs=4, device="cpu")
    assert [epoch["epoch"] for epoch in history] == [3, 4]
    model.save(tmp_path / "resumed.safetensors")
    assert read_safetensors(tmp_path / "resumed.safetensors")[1] == read_safetensors(tmp_path / "four.safetensors")[1]
