"""cudamlp.MLPClassifier: a scikit-learn classifier over cudamlp's trainer (host/train), parameters named as
``cudamlp train``'s flags, scikit-learn's random_state for the seed."""

import json
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _run_epochs, epoch_line, run_options, training_samples
from ._cudamlp import Model, Run

# What the CLI's --seed is when not given: random_state=None trains as `cudamlp train` does by default,
# reproducibly.
DEFAULT_SEED = 1

# Each optimizer's hyper-parameters, in the order the CLI's recipe lists them (optimizer.h).
_HYPER_PARAMETERS = {"sgd": ("momentum", "weight_decay"), "adam": ("beta1", "beta2", "eps", "weight_decay"),
                     "adamw": ("beta1", "beta2", "eps", "weight_decay")}

# The options of a Run (Run.options) that its constructor takes by the same name.
_RUN_OPTIONS = ("epochs", "batch", "lr", "optimizer", "momentum", "nesterov", "beta1", "beta2", "eps", "weight_decay",
                "lr_schedule", "warmup_steps", "lr_min", "lr_step_epochs", "lr_step_gamma", "rotate", "scale", "shear",
                "shift", "dropout", "seed", "shuffle", "val_split", "early_stop")


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A dense network [D, *hidden, C] with ReLU, trained by cudamlp with softmax cross-entropy.

    The parameters are ``cudamlp train``'s flags with the same defaults (see the README's flag table):
    hidden, epochs, batch, lr, optimizer ('sgd', 'adam', 'adamw'), momentum, nesterov, beta1, beta2, eps,
    weight_decay, lr_schedule ('constant', 'step', 'cosine', 'linear'), warmup (steps, '500steps' or
    '2epochs'), lr_min, lr_step ((E, G)), rotate, scale, shear, shift, elastic ((alpha, sigma)), augment,
    image_shape (the samples' (rows, cols) for augmentation; a square D is taken as an image by default),
    dropout, shuffle, val_split, early_stop, keep ('last' or 'best'), device ('auto', 'cpu', 'gpu',
    'gpu-emulated', 'reference'), threads, gemm, tf32, cuda_graph; random_state is the seed (None: the
    CLI's default seed, 1). verbose prints each epoch; callback(epoch_metrics) is called after each.

    X: uint8 pixels (scaled by 1/255, as the CLI does) or numbers (used as float32). y: any labels
    (classes_ holds them sorted). After fit: model_ (a cudamlp.Model, which model_.save writes as the CLI's
    model file), history_ (the epochs' metrics), loss_curve_, n_iter_ (epochs trained).
    """

    def __init__(self, hidden=(128, 64), epochs=3, batch=64, lr=0.1, optimizer="sgd", momentum=0.0, nesterov=False,
                 beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, lr_schedule="constant", warmup=0, lr_min=0.0,
                 lr_step=None, rotate=0.0, scale=0.0, shear=0.0, shift=0.0, elastic=None, augment=False,
                 image_shape=None, dropout=0.0, shuffle=True, val_split=None, early_stop=0, keep="last",
                 device="auto", threads=0, gemm="auto", tf32=False, cuda_graph=True, random_state=None,
                 verbose=False, callback=None):
        self.hidden = hidden
        self.epochs = epochs
        self.batch = batch
        self.lr = lr
        self.optimizer = optimizer
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup = warmup
        self.lr_min = lr_min
        self.lr_step = lr_step
        self.rotate = rotate
        self.scale = scale
        self.shear = shear
        self.shift = shift
        self.elastic = elastic
        self.augment = augment
        self.image_shape = image_shape
        self.dropout = dropout
        self.shuffle = shuffle
        self.val_split = val_split
        self.early_stop = early_stop
        self.keep = keep
        self.device = device
        self.threads = threads
        self.gemm = gemm
        self.tf32 = tf32
        self.cuda_graph = cuda_graph
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback

    # --- data ---

    def _check_X(self, X, reset, y="no_validation"):
        """X as a C-contiguous uint8 or float32 array [N, D] (and y as 1-D), scikit-learn's checks applied
        (y=None is refused: a classifier needs labels)."""
        pixels = getattr(X, "dtype", None) == np.uint8
        if not reset and hasattr(self, "pixels_") and pixels != self.pixels_:
            kind = "uint8 pixels" if self.pixels_ else "numbers (float32)"
            raise ValueError(f"this MLPClassifier was fitted on {kind}: predict on the same kind of X")
        dtype = np.uint8 if pixels else np.float32
        if isinstance(y, str) and y == "no_validation":
            return self._validate_data(X, reset=reset, dtype=dtype, order="C")
        return self._validate_data(X, y, reset=reset, dtype=dtype, order="C")

    def _seed(self):
        if self.random_state is None:
            return DEFAULT_SEED
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    def _sizes(self, n_features, n_classes):
        hidden = () if self.hidden in (None, "none") else self.hidden
        if isinstance(hidden, numbers.Integral):
            hidden = (hidden,)
        try:
            hidden = [int(h) for h in hidden]
        except (TypeError, ValueError):
            raise ValueError(f"hidden {self.hidden!r}: expected layer sizes, like (128, 64)") from None
        return [n_features, *hidden, n_classes]

    def _make_run(self, n_samples, n_features, epochs):
        options = {name: getattr(self, name) for name in (
            "batch", "lr", "optimizer", "momentum", "nesterov", "beta1", "beta2", "eps", "weight_decay",
            "lr_schedule", "warmup", "lr_min", "lr_step", "rotate", "scale", "shear", "shift", "elastic", "augment",
            "image_shape", "dropout", "shuffle", "val_split", "early_stop", "keep", "device", "threads", "gemm",
            "tf32", "cuda_graph")}
        seed = self._seed()
        model = Model(self._sizes(n_features, len(self.classes_)), seed, "pixel/255" if self.pixels_ else "none")
        return Run(model, **run_options(n_samples, epochs=epochs, seed=seed, input_size=n_features, **options))

    def _train(self, X, y_codes, epochs):
        history = _run_epochs(self._run, None, X, y_codes, None, None, epochs, self._on_epoch, False)
        self.history_ = getattr(self, "history_", []) + list(history)
        self.loss_curve_ = [epoch["train_loss"] for epoch in self.history_]
        self.n_iter_ = self._run.position["epoch"]
        best = self._run.best_model if self.keep == "best" else None
        self.model_ = best if best is not None else self._run.model.copy()
        self.recipe_ = self._recipe(X)

    def _recipe(self, X):
        """How the model was trained, as `cudamlp train` records it in the model file (cudamlp.recipe): the
        same keys in the same order with the same values, but "data", which names arrays instead of files."""
        run, options = self._run, self._run.options
        float32 = lambda value: float(np.format_float_positional(np.float32(value), unique=True, trim="-"))
        text32 = lambda value: np.format_float_positional(np.float32(value), unique=True, trim="-")
        recipe = {"sizes": "-".join(map(str, self.model_.sizes)), "parameters": self.model_.parameter_count,
                  "device": run.backend, "data": f"numpy {X.dtype} [{X.shape[0]}, {X.shape[1]}]",
                  "train samples": training_samples(len(X), options["val_split"])}
        if options["val_split"]:
            recipe["val split"] = float(self.val_split)
            recipe["validation samples"] = len(X) - recipe["train samples"]
        if options["early_stop"] > 0:
            recipe["early stop"] = options["early_stop"]
        if options["keep"] != "last":
            recipe["keep"] = options["keep"]
        recipe.update({"epochs": options["epochs"], "batch": options["batch"], "lr": float(self.lr),
                       "optimizer": options["optimizer"]})
        for name in _HYPER_PARAMETERS[options["optimizer"]]:
            recipe[name] = float32(options[name])
        if options["nesterov"]:
            recipe["nesterov"] = True
        recipe["lr schedule"] = options["lr_schedule"]
        if options["warmup_steps"] > 0:
            recipe["warmup steps"] = options["warmup_steps"]
        if options["lr_schedule"] in ("cosine", "linear"):
            recipe["lr min"] = float32(options["lr_min"])
        if options["lr_schedule"] == "step":
            recipe["lr step"] = f"{options['lr_step_epochs']},{text32(options['lr_step_gamma'])}"
        for name in ("rotate", "scale", "shear", "shift"):
            if options[name]:
                recipe[name] = float32(options[name])
        if options["elastic"][0]:
            recipe["elastic"] = ",".join(text32(value) for value in options["elastic"])
        if options["dropout"] > 0:
            recipe["dropout"] = float32(options["dropout"])
        recipe.update({"seed": options["seed"], "shuffle": options["shuffle"]})
        if self.threads:
            recipe["threads"] = self.threads
        if options["val_split"]:
            kept_best = self.keep == "best" and run.position["best_epoch"] > 0
            recipe["saved epoch"] = run.position["best_epoch"] if kept_best else run.position["epoch"]
        return recipe

    def save(self, path):
        """Write model_ as `cudamlp train --out` does, with the recipe of this fit (recipe_)."""
        check_is_fitted(self, "model_")
        self.model_.save(path, json.dumps(self.recipe_, separators=(",", ":")))

    def _on_epoch(self, epoch):
        if self.verbose:
            print(epoch_line(epoch, self._run.options["epochs"]), flush=True)
        if self.callback is not None:
            self.callback(epoch)

    # --- scikit-learn's API ---

    def fit(self, X, y):
        """Train a new network on X [N, D], y [N] for `epochs` epochs."""
        X, y = self._check_X(X, reset=True, y=y)
        check_classification_targets(y)
        self.pixels_ = X.dtype == np.uint8
        self.classes_, y_codes = np.unique(y, return_inverse=True)
        self._run = self._make_run(len(X), X.shape[1], self.epochs)
        self.history_ = []
        self._train(X, y_codes, 0)
        return self

    def partial_fit(self, X, y, classes=None):
        """One more epoch over X, y, the optimizer's state carried on; the first call needs `classes`."""
        first = not hasattr(self, "_run")
        X, y = self._check_X(X, reset=first, y=y)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("the first partial_fit needs classes=, every label the classifier will see")
            if self.lr_schedule in ("cosine", "linear"):
                raise ValueError(f"lr_schedule {self.lr_schedule!r} ends with the run's last epoch, which "
                                 "partial_fit does not know: use fit, or lr_schedule 'constant' or 'step'")
            self.pixels_ = X.dtype == np.uint8
            self.classes_ = np.unique(classes)
            self._run = self._make_run(len(X), X.shape[1], 1)
            self.history_ = []
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes {classes!r} differ from those of the first partial_fit, {self.classes_!r}")
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"y holds labels not in classes: {unknown[:5]!r}")
        self._train(X, np.searchsorted(self.classes_, y), self._run.position["epoch"] + 1)
        return self

    def predict_proba(self, X):
        """Class probabilities [N, len(classes_)]."""
        check_is_fitted(self, "model_")
        X = self._check_X(X, reset=False)
        return self.model_.predict_proba(X, device=self.device, threads=self.threads).astype(np.float64)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each sample, as a label of classes_."""
        probabilities = self.predict_proba(X)  # first: unfitted, it raises NotFittedError
        return self.classes_[np.argmax(probabilities, axis=1)]

    # --- pickling: the run (a C++ object) as its model, optimizer state and position ---

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: Python 3.11 hands out __dict__ itself
        run = state.pop("_run", None)
        if run is not None:
            state["_run_state"] = (run.model, run.optimizer_state, run.position, run.options)
        return state

    def __setstate__(self, state):
        run_state = state.pop("_run_state", None)
        super().__setstate__(state)
        if run_state is not None:
            model, optimizer_state, position, options = run_state
            alpha, sigma = options["elastic"]
            rows, cols = options["image_shape"]
            kept = {name: options[name] for name in _RUN_OPTIONS}
            self._run = Run(model, **kept, elastic_alpha=alpha, elastic_sigma=sigma, image_rows=rows,
                            image_cols=cols, keep_best=options["keep"] == "best", device=self.device,
                            threads=self.threads, gemm=self.gemm, tf32=self.tf32, cuda_graph=self.cuda_graph)
            self._run.optimizer_state = optimizer_state
            self._run.set_position(position["epoch"], position["step"])
