"""What the tests of the Python module share: small synthetic datasets, and where the CLI and MNIST are.

Run through ctest (tests/CMakeLists.txt sets PYTHONPATH to the build tree's package, CUDAMLP_CLI and
CUDAMLP_SOURCE_DIR), or by hand: PYTHONPATH=build/python python3 -m pytest tests/python
"""

import os
import pathlib

import numpy as np
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("CUDAMLP_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


def cli_path():
    """The cudamlp program: $CUDAMLP_CLI, else build/cudamlp of the source tree."""
    return pathlib.Path(os.environ.get("CUDAMLP_CLI", SOURCE_DIR / "build" / "cudamlp"))


def mnist_dir():
    """MNIST's four files: $CUDAMLP_MNIST, else data/mnist of the source tree (data/fetch-mnist.sh)."""
    return pathlib.Path(os.environ.get("CUDAMLP_MNIST", SOURCE_DIR / "data" / "mnist"))


def blobs(n=600, d=16, classes=3, seed=0):
    """uint8 samples [n, d] in `classes` well-separated clusters, labels [n] in [0, classes)."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(40, 216, (classes, d))
    y = rng.integers(0, classes, n)
    X = np.clip(centres[y] + rng.normal(0, 12, (n, d)), 0, 255).astype(np.uint8)
    return X, y


@pytest.fixture
def small_data():
    return blobs()
