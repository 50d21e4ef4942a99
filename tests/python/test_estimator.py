"""cudamlp.MLPClassifier as scikit-learn sees it: its own check_estimator, labels of any kind, pickling,
partial_fit carrying the optimizer's state, and the parameters named as the CLI's flags."""

import inspect
import pickle
import re
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is missing (Debian: python3-sklearn)")
from sklearn.exceptions import SkipTestWarning  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

import cudamlp  # noqa: E402
from conftest import SOURCE_DIR, blobs  # noqa: E402


def test_passes_scikit_learns_check_estimator():
    # Every check of a dense classifier, none skipped: the estimator declares no checks it is expected to fail.
    # check_estimator skips a check with a SkipTestWarning (pandas missing: the DataFrame checks): an error here.
    assert not cudamlp.MLPClassifier()._get_tags()["_xfail_checks"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkipTestWarning)
        check_estimator(cudamlp.MLPClassifier())


def test_parameters_are_the_cli_train_flags():
    """Every flag of `cudamlp train` that shapes the network or its training is a parameter, by its name."""
    source = (SOURCE_DIR / "host" / "cli" / "train_command.cpp").read_text()
    source += (SOURCE_DIR / "host" / "cli" / "augmentation_flags.cpp").read_text()
    source += (SOURCE_DIR / "host" / "cli" / "cli_common.cpp").read_text()
    flags = set(re.findall(r'add_(?:option|flag)\("(--[a-z0-9-]+)', source))
    # What a Python caller gives otherwise: the data as arrays (--data, --train-csv, --train-npy, --test-npy,
    # --limit: slice them), files through methods (--out: save; --init: a model; --checkpoint, --resume:
    # cudamlp.train and cudamlp.resume; --log, --report: history_), the seed as random_state, output formats
    # (--json), and mpirun's data parallelism (--distributed, --dist-timeout).
    not_parameters = {"--data", "--train-csv", "--limit", "--out", "--init", "--checkpoint", "--checkpoint-every",
                      "--resume", "--log", "--report", "--json", "--seed", "--distributed", "--dist-timeout",
                      "--no-shuffle", "--no-cuda-graph", "--model", "--index", "--show", "--csv", "--plot",
                      "--train-npy", "--test-npy"}
    parameters = set(inspect.signature(cudamlp.MLPClassifier).parameters)
    missing = {flag for flag in flags - not_parameters if flag[2:].replace("-", "_") not in parameters}
    assert not missing, f"flags without a parameter: {sorted(missing)}"
    assert {"random_state", "shuffle", "cuda_graph", "hidden"} <= parameters  # --seed, --no-shuffle, ...


def test_any_hashable_labels_become_classes():
    X, codes = blobs(n=300, d=16)
    names = np.array(["cat", "dog", "emu"])
    classifier = cudamlp.MLPClassifier(hidden=(32,), epochs=5, lr=0.5, random_state=0).fit(X, names[codes])
    assert list(classifier.classes_) == ["cat", "dog", "emu"]
    assert classifier.n_features_in_ == 16
    assert classifier.score(X, names[codes]) > 0.95
    assert set(classifier.predict(X)) <= set(names)
    probs = classifier.predict_proba(X)
    assert probs.shape == (300, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)


def test_same_random_state_same_model_other_state_another():
    X, y = blobs(n=200, d=16)
    fit = lambda state: cudamlp.MLPClassifier(hidden=(8,), random_state=state).fit(X, y).model_.parameters
    assert np.array_equal(fit(3), fit(3))
    assert not np.array_equal(fit(3), fit(4))


def test_pickled_classifier_predicts_and_trains_on_as_the_original():
    X, y = blobs(n=200, d=16)
    classifier = cudamlp.MLPClassifier(hidden=(8,), optimizer="adam", lr=0.01, random_state=1)
    classifier.partial_fit(X, y, classes=[0, 1, 2])
    copy = pickle.loads(pickle.dumps(classifier))
    assert np.array_equal(copy.predict_proba(X), classifier.predict_proba(X))
    classifier.partial_fit(X, y)
    copy.partial_fit(X, y)
    assert np.array_equal(copy.model_.parameters, classifier.model_.parameters)


def test_partial_fit_epochs_are_the_epochs_of_fit():
    # Each partial_fit is the next epoch: its shuffle, Adam's step count and moments carry on, so two calls
    # on the same data train bitwise what fit trains in two epochs.
    X, y = blobs(n=200, d=16)
    options = dict(hidden=(8,), optimizer="adamw", lr=0.01, weight_decay=0.1, dropout=0.1, random_state=5)
    fitted = cudamlp.MLPClassifier(epochs=2, **options).fit(X, y)
    partial = cudamlp.MLPClassifier(**options)
    partial.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)
    assert np.array_equal(partial.model_.parameters, fitted.model_.parameters)
    assert partial.n_iter_ == fitted.n_iter_ == 2


def test_partial_fit_needs_the_classes_first():
    X, y = blobs(n=50, d=16)
    with pytest.raises(ValueError, match="classes"):
        cudamlp.MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="not in classes"):
        cudamlp.MLPClassifier().partial_fit(X, y, classes=[0, 1])


def test_the_fitted_model_is_a_cudamlp_model(tmp_path):
    X, y = blobs(n=200, d=16)
    classifier = cudamlp.MLPClassifier(hidden=(8,), epochs=2, random_state=1).fit(X, y)
    assert classifier.model_.sizes == [16, 8, 3]
    assert [epoch["epoch"] for epoch in classifier.history_] == [1, 2]
    assert len(classifier.loss_curve_) == 2
    path = tmp_path / "model.safetensors"
    classifier.save(path)
    assert np.array_equal(cudamlp.load(path).predict_proba(X), classifier.predict_proba(X).astype(np.float32))


def test_verbose_prints_the_cli_epoch_lines(capsys):
    X, y = blobs(n=100, d=16)
    cudamlp.MLPClassifier(hidden=(8,), epochs=2, verbose=True).fit(X, y)
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["1/2", "2/2"]


def test_bad_parameters_are_value_errors_at_fit():
    X, y = blobs(n=50, d=16)
    for parameters in (dict(lr=-1), dict(hidden=(0,)), dict(optimizer="rmsprop"), dict(keep="first"),
                       dict(batch=0), dict(device="tpu")):
        classifier = cudamlp.MLPClassifier(**parameters)  # scikit-learn: __init__ only stores them
        with pytest.raises(ValueError):
            classifier.fit(X, y)
