"""cudamlp.train and cudamlp.Run: training learns, checkpoints resume exactly, divergence is an exception
that leaves the model as it was, validation and early stopping behave as the CLI's flags."""

import numpy as np
import pytest

import cudamlp
from conftest import blobs

# Three clusters 30 standard deviations apart: a network that trained at all separates them.
LEARNED_ACCURACY = 0.95


def test_training_learns_separable_clusters():
    X, y = blobs(n=600, d=16)
    model = cudamlp.mlp([16, 32, 3], seed=1)
    before = model.evaluate(X, y).accuracy
    history = cudamlp.train(model, X, y, X, y, epochs=5, lr=0.5, device="cpu")
    assert [epoch["epoch"] for epoch in history] == [1, 2, 3, 4, 5]
    assert history[-1]["test_accuracy"] == model.evaluate(X, y).accuracy >= LEARNED_ACCURACY > before


def test_images_train_as_n_h_w_arrays():
    X, y = blobs(n=200, d=16)
    model = cudamlp.mlp([16, 8, 3], seed=1)
    flat = model.copy()
    cudamlp.train(model, X.reshape(200, 4, 4), y, epochs=2, device="cpu")
    cudamlp.train(flat, X, y, epochs=2, device="cpu")
    assert np.array_equal(model.parameters, flat.parameters)


def test_every_backend_trains_the_same_steps():
    # The reference is the oracle; the fast backends match it to float32 rounding over a few steps.
    X, y = blobs(n=128, d=16)
    trained = {}
    for device in ("reference", "cpu", "gpu-emulated"):
        model = cudamlp.mlp([16, 8, 3], seed=2)
        cudamlp.train(model, X, y, epochs=1, batch=32, device=device)
        trained[device] = model.parameters.copy()
    np.testing.assert_allclose(trained["cpu"], trained["reference"], atol=1e-5)
    np.testing.assert_allclose(trained["gpu-emulated"], trained["reference"], atol=1e-5)


def test_a_checkpoint_resumes_bitwise_as_if_never_stopped(tmp_path):
    X, y = blobs(n=300, d=16)
    options = dict(epochs=4, batch=32, optimizer="adamw", lr=0.01, weight_decay=0.01, lr_schedule="cosine",
                   warmup="1epochs", dropout=0.1, device="cpu", seed=7)
    straight = cudamlp.mlp([16, 12, 3], seed=7)
    cudamlp.train(straight, X, y, **options)

    stopped = cudamlp.mlp([16, 12, 3], seed=7)
    checkpoint = tmp_path / "run.ckpt"

    def stop_after_two(epoch):
        if epoch["epoch"] == 2:
            raise KeyboardInterrupt  # as Ctrl-C would, between two steps

    with pytest.raises(KeyboardInterrupt):
        cudamlp.train(stopped, X, y, checkpoint=checkpoint, callback=stop_after_two, **options)
    assert checkpoint.exists()
    resumed, history = cudamlp.resume(checkpoint, X, y, device="cpu")
    assert [epoch["epoch"] for epoch in history] == [3, 4]
    assert np.array_equal(resumed.parameters, straight.parameters)


def test_a_run_goes_on_after_a_stop_without_a_checkpoint():
    X, y = blobs(n=300, d=16)
    straight = cudamlp.mlp([16, 12, 3], seed=7)
    cudamlp.train(straight, X, y, epochs=3, momentum=0.9, device="cpu")
    run = cudamlp.Run(cudamlp.mlp([16, 12, 3], seed=7), epochs=3, momentum=0.9, device="cpu")

    def stop(epoch):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.train(X, y, on_epoch=stop)
    assert run.position["epoch"] == 1
    run.train(X, y)
    assert np.array_equal(run.model.parameters, straight.parameters)


def test_periodic_checkpoints_are_written(tmp_path):
    X, y = blobs(n=300, d=16)
    checkpoint = tmp_path / "run.ckpt"
    cudamlp.train(cudamlp.mlp([16, 8, 3]), X, y, epochs=2, checkpoint=checkpoint, checkpoint_every="3steps",
                  device="cpu")
    run = cudamlp.Run.from_checkpoint(str(checkpoint))
    assert run.position["step"] % 3 == 0 and run.position["step"] > 0


def test_resume_refuses_other_data(tmp_path):
    X, y = blobs(n=300, d=16)
    checkpoint = tmp_path / "run.ckpt"
    with pytest.raises(KeyboardInterrupt):
        cudamlp.train(cudamlp.mlp([16, 8, 3]), X, y, epochs=2, checkpoint=checkpoint, device="cpu",
                      callback=lambda epoch: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(ValueError, match="same training set"):
        cudamlp.resume(checkpoint, X[:200], y[:200])


def test_divergence_is_a_runtime_error_and_the_model_stays_as_it_was():
    X, y = blobs(n=300, d=16)
    model = cudamlp.mlp([16, 8, 3], seed=1)
    before = model.parameters.copy()
    with pytest.raises(RuntimeError, match="diverged") as error:
        cudamlp.train(model, X, y, lr=1e30, epochs=2, device="cpu")
    assert isinstance(error.value, cudamlp.TrainingDiverged) and error.value.step >= 1
    assert np.array_equal(model.parameters, before)


def test_validation_split_early_stopping_and_the_best_epoch():
    X, y = blobs(n=400, d=16)
    run = cudamlp.Run(cudamlp.mlp([16, 8, 3]), **cudamlp.run_options(400, epochs=30, lr=0.5, val_split=0.25,
                                                                       early_stop=2, keep="best", device="cpu"))
    history = run.train(X, y)
    assert all("val_accuracy" in epoch for epoch in history)
    assert run.stopped_early and len(history) < 30
    best = run.position["best_epoch"]
    assert history[best - 1]["val_accuracy"] == max(epoch["val_accuracy"] for epoch in history)
    assert run.best_model is not None


def test_bad_options_are_value_errors_naming_them():
    X, y = blobs(n=100, d=16)
    model = cudamlp.mlp([16, 8, 3])
    for options, name in ((dict(lr=0), "lr"), (dict(batch=0), "batch"), (dict(epochs=0), "epochs"),
                          (dict(optimizer="lbfgs"), "optimizer"), (dict(momentum=1.5), "momentum"),
                          (dict(lr_schedule="step"), "lr_step"), (dict(dropout=1.0), "dropout"),
                          (dict(early_stop=3), "val_split"), (dict(warmup="2 weeks"), "warmup"),
                          (dict(rotate=10, image_shape=None), "image")):
        with pytest.raises(ValueError, match=name):
            cudamlp.train(model.copy() if name != "image" else cudamlp.mlp([15, 3]), X[:, :15] if name == "image"
                          else X, y, **options)
    with pytest.raises(ValueError, match="outside"):
        cudamlp.train(model, X, y + 1)
