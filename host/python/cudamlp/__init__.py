"""cudamlp from Python: train dense networks (MLPs) on numpy data with cudamlp's backends.

Two levels:

* ``cudamlp.MLPClassifier``: a scikit-learn estimator (fit, predict, predict_proba, score, partial_fit,
  pickling), its parameters named as ``cudamlp train``'s flags.
* The library itself: ``cudamlp.Model`` (``model.layers[0].weight`` is a numpy array [out, in] that
  shares the model's memory), ``cudamlp.load`` / ``model.save`` of the CLI's safetensors model files,
  ``cudamlp.train`` (checkpoints, resume, Ctrl-C), ``model.evaluate`` (loss, accuracy, confusion
  matrix), ``cudamlp.mnist_digit`` (a picture as an MNIST sample) and ``cudamlp.from_numpy_layers``.

Samples are numpy arrays [N, D] (or [N, H, W]): uint8 pixels, scaled by 1/255 as the CLI does, or
float32 features, used as given (a model says which it takes: ``model.input_scale``). The training set
is handed to the backend once per call; the GIL is released while training and predicting.
Errors: ValueError for bad arguments, cudamlp.FileError (an OSError with .filename) for files, RuntimeError for a device
failure and cudamlp.TrainingDiverged (a RuntimeError) when the loss becomes NaN or infinite.
"""

import math
import os

from ._cudamlp import (EvalResult, FileError, Layer, Model, Run, TrainingDiverged, from_numpy_layers, load,
                       load_idx, load_mnist, mnist_digit)

__all__ = [
    "EvalResult", "FileError", "Layer", "Model", "Run", "TrainingDiverged", "from_numpy_layers", "load", "load_idx",
    "load_mnist", "mnist_digit", "mlp", "train", "resume", "epoch_line", "MLPClassifier",
]

# The CLI's --augment: the distortions it stands for.
AUGMENT_DEFAULTS = {"rotate": 10.0, "scale": 0.1, "shear": 0.1, "shift": 2.0}


def mlp(sizes, seed=1, input_scale="pixel/255"):
    """A new MLP of sizes [D, hidden..., C], He-uniform weights from seed (as ``cudamlp train`` makes it).

    input_scale: what it takes, "pixel/255" (uint8 pixels, scaled by 1/255) or "none" (float32 features)."""
    return Model(list(sizes), seed, input_scale)


def _count(text, name):
    """'500', '500steps', '2epochs' (or an int: steps) -> (count, 'steps' | 'epochs')."""
    if isinstance(text, bool):
        raise ValueError(f"{name} {text!r}: expected a count of steps or epochs, like 500, '500steps' or '2epochs'")
    if isinstance(text, int):
        return text, "steps"
    value = str(text)
    for unit in ("steps", "step", "epochs", "epoch", ""):
        if value.endswith(unit) and value[: len(value) - len(unit)].isdigit():
            return int(value[: len(value) - len(unit)]), "epochs" if unit.startswith("epoch") else "steps"
    raise ValueError(f"{name} {value!r}: expected a count of steps or epochs, like 500, '500steps' or '2epochs'")


def training_samples(count, val_split):
    """The samples a run trains on after val_split holds its fraction out (the CLI's rounding)."""
    if not val_split:
        return count
    return count - int(math.floor(val_split * count + 0.5))


def run_options(samples, *, epochs=3, batch=64, lr=0.1, optimizer="sgd", momentum=0.0, nesterov=False, beta1=0.9,
                beta2=0.999, eps=1e-8, weight_decay=0.0, lr_schedule="constant", warmup=0, lr_min=0.0, lr_step=None,
                rotate=0.0, scale=0.0, shear=0.0, shift=0.0, elastic=None, augment=False, image_shape=None,
                dropout=0.0, seed=1, shuffle=True, val_split=None, early_stop=0, keep="last", device="auto",
                threads=0, gemm="auto", tf32=False, cuda_graph=True, checkpoint=None, checkpoint_every=None,
                input_size=None):
    """The keyword arguments of cudamlp.Run for a run over `samples` samples, from the CLI's flag names."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch {batch!r} must be a positive integer")
    steps_per_epoch = -(-training_samples(samples, val_split) // batch)
    warmup_count, warmup_unit = _count(warmup, "warmup")
    if warmup_count < 0:
        raise ValueError(f"warmup {warmup!r} must not be negative")
    if lr_step is not None:
        try:
            lr_step_epochs, lr_step_gamma = lr_step
        except (TypeError, ValueError):
            raise ValueError(f"lr_step {lr_step!r}: expected (E, G), multiply by G every E epochs") from None
    else:
        lr_step_epochs, lr_step_gamma = 0, 1.0
    if lr_schedule == "step" and lr_step is None:
        raise ValueError("lr_schedule 'step' needs lr_step=(E, G): multiply the rate by G every E epochs")
    if lr_step is not None and lr_schedule != "step":
        raise ValueError("lr_step applies to lr_schedule 'step' only")
    if lr_min and lr_schedule not in ("cosine", "linear"):
        raise ValueError(f"lr_min is the end value of lr_schedule 'cosine' or 'linear', not of {lr_schedule!r}")
    distortions = {"rotate": rotate, "scale": scale, "shear": shear, "shift": shift}
    if augment:
        distortions = {k: v if v else AUGMENT_DEFAULTS[k] for k, v in distortions.items()}
    elastic_alpha, elastic_sigma = (0.0, 0.0) if elastic is None else elastic
    rows = cols = 0
    if any(distortions.values()) or elastic_alpha:
        if image_shape is None and input_size is not None and math.isqrt(input_size) ** 2 == input_size:
            image_shape = (math.isqrt(input_size),) * 2
        if image_shape is None:
            raise ValueError("augmentation needs the samples' image shape: give image_shape=(rows, cols)")
        rows, cols = image_shape
    if keep not in ("best", "last"):
        raise ValueError(f"keep {keep!r}: expected 'best' or 'last'")
    every_steps = every_epochs = 0
    if checkpoint_every is not None:
        if not checkpoint:
            raise ValueError("checkpoint_every needs checkpoint, the file to write")
        count, unit = _count(checkpoint_every, "checkpoint_every")
        if count < 1:
            raise ValueError(f"checkpoint_every {checkpoint_every!r} must be at least 1")
        every_steps, every_epochs = (count, 0) if unit == "steps" else (0, count)
    elif checkpoint:
        every_epochs = 1
    return dict(
        epochs=epochs, batch=batch, lr=lr, optimizer=optimizer, momentum=momentum, nesterov=nesterov, beta1=beta1,
        beta2=beta2, eps=eps, weight_decay=weight_decay, lr_schedule=lr_schedule,
        warmup_steps=warmup_count * (steps_per_epoch if warmup_unit == "epochs" else 1), lr_min=lr_min,
        lr_step_epochs=lr_step_epochs, lr_step_gamma=lr_step_gamma, elastic_alpha=elastic_alpha,
        elastic_sigma=elastic_sigma, image_rows=rows, image_cols=cols, dropout=dropout, seed=seed, shuffle=shuffle,
        val_split=val_split or 0.0, early_stop=early_stop, keep_best=keep == "best", device=device, threads=threads,
        gemm=gemm, tf32=tf32, cuda_graph=cuda_graph, checkpoint=os.fspath(checkpoint) if checkpoint else "",
        checkpoint_every_steps=every_steps, checkpoint_every_epochs=every_epochs, **distortions)


def epoch_line(epoch, epochs):
    """An epoch's metrics as `cudamlp train` prints them."""
    test = f"{100 * epoch['test_accuracy']:6.2f}%" if "test_accuracy" in epoch else "     -"
    val = ""
    if "val_accuracy" in epoch:
        star = "*" if epoch["best_epoch"] == epoch["epoch"] else " "
        val = f"  val acc {100 * epoch['val_accuracy']:6.2f}%{star}"
    return (f"epoch {epoch['epoch']}/{epochs}  train loss {epoch['train_loss']:.4f}  train acc "
            f"{100 * epoch['train_accuracy']:6.2f}%  test acc {test}{val}  {epoch['samples_per_second']:.0f} samples/s"
            f"  {epoch['seconds']:.2f} s")


def _run_epochs(run, model, X, y, X_test, y_test, epochs, callback, verbose):
    """run.train, printing and calling back per epoch; the weights reach `model` even on a KeyboardInterrupt."""
    total = epochs or run.options["epochs"]

    def on_epoch(epoch):
        if verbose:
            print(epoch_line(epoch, total), flush=True)
        if callback is not None:
            callback(epoch)

    try:
        return run.train(X, y, X_test, y_test, epochs=epochs, on_epoch=on_epoch)
    finally:
        if model is not None:
            model.parameters[:] = run.model.parameters


def train(model, X, y, X_test=None, y_test=None, *, callback=None, verbose=False, **options):
    """Train `model` in place on X [N, D], y [N] (labels in [0, C)); returns the epochs' metrics (dicts).

    Keyword arguments are ``cudamlp train``'s flags (epochs, batch, lr, optimizer, momentum, nesterov, beta1,
    beta2, eps, weight_decay, lr_schedule, warmup, lr_min, lr_step, rotate, scale, shear, shift, elastic,
    augment, dropout, seed, shuffle, val_split, early_stop, keep, device, threads, gemm, tf32, cuda_graph,
    checkpoint, checkpoint_every) with the same defaults. callback(epoch) is called after every epoch;
    verbose prints the CLI's epoch lines. Ctrl-C stops after the current step: the model holds the weights
    of that step, the checkpoint (if any) the whole run, and KeyboardInterrupt is raised.
    """
    samples = len(X)
    run = Run(model, **run_options(samples, input_size=model.input_size, **options))
    return _run_epochs(run, model, X, y, X_test, y_test, 0, callback, verbose)


def resume(checkpoint, X, y, X_test=None, y_test=None, *, epochs=0, callback=None, verbose=False, device="auto",
           threads=0, save_to=None):
    """Go on with the run a checkpoint holds (this module's or ``cudamlp train``'s), exactly, on its training set.

    epochs: the whole run's count (0: the checkpoint's). A stop (Ctrl-C) saves the run to the checkpoint again
    (or to save_to). Returns (model, epochs' metrics).
    """
    run = Run.from_checkpoint(os.fspath(checkpoint), device=device, threads=threads)
    run.checkpoint = os.fspath(save_to if save_to is not None else checkpoint)
    history = _run_epochs(run, None, X, y, X_test, y_test, epochs, callback, verbose)
    return run.model.copy(), history


from .estimator import MLPClassifier  # noqa: E402  (after the names it uses)
