"""The two example notebooks (examples/*.ipynb) run headless from top to bottom without a cell error.

Each runs in a fresh Jupyter kernel (nbclient) in examples/, with CUDAMLP_NOTEBOOK_QUICK=1 (part of
MNIST, few epochs: seconds) and its models written to a temporary folder. training_grounds runs first,
so that playground loads the model it saved, as a person would run them. Skipped, with the reason, when
Jupyter (nbclient, nbformat, ipykernel), matplotlib or MNIST is missing."""

import os

import pytest

from conftest import SOURCE_DIR, mnist_dir

nbformat = pytest.importorskip("nbformat", reason="nbformat is missing (Debian: python3-nbformat)")
nbclient = pytest.importorskip("nbclient", reason="nbclient is missing (Debian: python3-nbclient)")
pytest.importorskip("ipykernel", reason="no Jupyter kernel (Debian: python3-ipykernel)")
pytest.importorskip("matplotlib", reason="matplotlib is missing (Debian: python3-matplotlib)")

EXAMPLES = SOURCE_DIR / "examples"
# A cell of these notebooks trains for seconds in quick mode; a minute means something hangs.
CELL_TIMEOUT_SECONDS = 300


@pytest.fixture(scope="module")
def notebook_env(tmp_path_factory):
    if not (mnist_dir() / "train-images-idx3-ubyte").exists() and not (mnist_dir() / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST is not in {mnist_dir()} (data/fetch-mnist.sh fetches it)")
    saved = dict(os.environ)
    os.environ.update(CUDAMLP_NOTEBOOK_QUICK="1", CUDAMLP_NOTEBOOK_OUT=str(tmp_path_factory.mktemp("models")),
                      CUDAMLP_MNIST=str(mnist_dir()),
                      MPLBACKEND="module://matplotlib_inline.backend_inline")  # plots as outputs
    yield os.environ["CUDAMLP_NOTEBOOK_OUT"]
    os.environ.clear()
    os.environ.update(saved)


def run_notebook(name):
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        f"{name} is stored with outputs: clear them before committing"
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                                     resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    return notebook


def test_training_grounds_trains_plots_and_saves(notebook_env):
    notebook = run_notebook("training_grounds.ipynb")
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert any("image/png" in output.get("data", {}) for output in outputs), "no plot was drawn"
    assert os.path.exists(os.path.join(notebook_env, "seed-784-10-10-10.safetensors"))


def test_playground_loads_the_model_and_shows_digits(notebook_env):
    notebook = run_notebook("playground.ipynb")
    images = sum("image/png" in output.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
                 for output in cell.outputs)
    assert images >= 4  # the digit and its bars, the worst mistakes, the confusion matrix, the drawn digit
