"""How cudamlp behaves in a notebook: other Python threads run while it trains and predicts (the GIL is
released), Ctrl-C stops training after the current step with the model intact, progress is printed or
called back, and errors arrive as Python exceptions of the fitting type."""

import _thread
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import cudamlp
from conftest import blobs

# A thread that wakes every millisecond sees gaps this long at most while the GIL is free: scheduling on
# a loaded machine (a CI runner with other tests beside), and the trainer's own short returns to Python
# (the Ctrl-C poll every 50 ms).
LONGEST_GAP_SECONDS = 0.75
# A job long enough that holding the GIL through it would show as a gap far above LONGEST_GAP_SECONDS.
BUSY_SECONDS = 2.0


def big_data(n):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 256), dtype=np.uint8), rng.integers(0, 10, n)


class Ticker(threading.Thread):
    """Records the time every millisecond or so, while it can get the GIL."""

    def __init__(self):
        super().__init__(daemon=True)
        self.ticks, self.running = [], True

    def run(self):
        while self.running:
            self.ticks.append(time.monotonic())
            time.sleep(0.001)

    def longest_gap(self, start, end):
        inside = [start] + [t for t in self.ticks if start <= t <= end] + [end]
        return max(b - a for a, b in zip(inside, inside[1:]))


def timed(job):
    ticker = Ticker()
    ticker.start()
    time.sleep(0.05)
    start = time.monotonic()
    job()
    end = time.monotonic()
    ticker.running = False
    ticker.join()
    return end - start, ticker.longest_gap(start, end)


def test_another_thread_runs_while_training():
    X, y = big_data(4000)
    model = cudamlp.mlp([256, 256, 10])
    epochs = 1
    seconds, gap = timed(lambda: cudamlp.train(model, X, y, epochs=epochs, batch=16, device="cpu", threads=1))
    while seconds < BUSY_SECONDS:  # a fast machine: a longer run, until holding the GIL would show
        epochs *= 2
        seconds, gap = timed(lambda: cudamlp.train(model, X, y, epochs=epochs, batch=16, device="cpu", threads=1))
    assert gap < LONGEST_GAP_SECONDS, f"the other thread stood still for {gap:.2f} s of {seconds:.2f} s of training"


def test_another_thread_runs_while_predicting():
    X, _ = big_data(60000)
    model = cudamlp.mlp([256, 1024, 1024, 10])
    repeats = 1
    seconds, gap = timed(lambda: [model.predict_proba(X, device="cpu", threads=1) for _ in range(repeats)])
    while seconds < BUSY_SECONDS:
        repeats *= 2
        seconds, gap = timed(lambda: [model.predict_proba(X, device="cpu", threads=1) for _ in range(repeats)])
    assert gap < LONGEST_GAP_SECONDS, f"the other thread stood still for {gap:.2f} s of {seconds:.2f} s of predicting"


def test_interrupt_stops_after_the_current_step_with_the_run_intact(tmp_path):
    X, y = big_data(4000)
    checkpoint = tmp_path / "run.ckpt"
    run = cudamlp.Run(cudamlp.mlp([256, 64, 10]), epochs=1000, batch=16, device="cpu", threads=1,
                      checkpoint=str(checkpoint))
    timer = threading.Timer(0.5, _thread.interrupt_main)  # what a notebook's interrupt button does
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run.train(X, y)
    assert time.monotonic() - start < 30, "the interrupt did not stop training"
    timer.join()
    at = run.position
    assert at["step"] > 0 and at["sample"] % 16 == 0  # after a whole step
    assert np.all(np.isfinite(run.model.parameters))
    saved = cudamlp.Run.from_checkpoint(str(checkpoint))
    assert saved.position == at
    assert np.array_equal(saved.model.parameters, run.model.parameters)


def test_ctrl_c_in_a_python_process_stops_training_and_keeps_the_model(tmp_path):
    script = textwrap.dedent("""
        import sys, numpy as np, cudamlp
        rng = np.random.default_rng(0)
        X, y = rng.integers(0, 256, (4000, 256), dtype=np.uint8), rng.integers(0, 10, 4000)
        model = cudamlp.mlp([256, 64, 10])
        try:
            cudamlp.train(model, X, y, epochs=1000, batch=16, device="cpu", threads=1,
                          callback=lambda epoch: print("epoch", flush=True))
        except KeyboardInterrupt:
            print("interrupted; weights finite:", bool(np.isfinite(model.parameters).all()), flush=True)
            model.save(sys.argv[1])
    """)
    out = tmp_path / "model.safetensors"
    process = subprocess.Popen([sys.executable, "-c", script, str(out)], stdout=subprocess.PIPE, text=True,
                               env=os.environ)
    assert process.stdout.readline() == "epoch\n"  # training is under way
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert "interrupted; weights finite: True" in output
    assert cudamlp.load(out).sizes == [256, 64, 10]


def test_verbose_prints_an_epoch_line_and_callbacks_see_every_epoch(capsys):
    X, y = blobs(n=200, d=16)
    seen = []
    cudamlp.train(cudamlp.mlp([16, 8, 3]), X, y, X, y, epochs=3, verbose=True, callback=seen.append, device="cpu")
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1/3"], ["epoch", "2/3"], ["epoch", "3/3"]]
    assert [epoch["epoch"] for epoch in seen] == [1, 2, 3]
    assert {"train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds"} <= set(seen[0])


def test_step_progress_reaches_a_callback():
    X, y = blobs(n=200, d=16)
    run = cudamlp.Run(cudamlp.mlp([16, 8, 3]), epochs=2, device="cpu", progress_every=0)
    steps = []
    run.train(X, y, on_step=steps.append)
    assert [s["step"] for s in steps] == list(range(1, 9))  # 2 epochs of 4 batches of 64, 64, 64, 8
    assert all(0 < s["sample"] <= s["samples"] == 200 for s in steps)


def test_an_error_in_a_callback_stops_training_and_propagates():
    X, y = blobs(n=200, d=16)
    model = cudamlp.mlp([16, 8, 3])

    def broken(epoch):
        raise ZeroDivisionError("in the user's callback")

    with pytest.raises(ZeroDivisionError, match="user's callback"):
        cudamlp.train(model, X, y, epochs=5, callback=broken, device="cpu")
    assert np.all(np.isfinite(model.parameters))


def test_a_device_this_machine_lacks_is_a_runtime_error():
    if _has_gpu():
        pytest.skip("this machine has a GPU")
    X, y = blobs(n=10, d=2)
    with pytest.raises(RuntimeError, match="--device gpu"):
        cudamlp.train(cudamlp.mlp([2, 2, 3]), X, y, device="gpu")


def _has_gpu():
    try:
        cudamlp.mlp([2, 2]).predict_proba(np.zeros((1, 2), dtype=np.uint8), device="gpu")
        return True
    except RuntimeError:
        return False


def test_a_run_refuses_to_train_in_two_threads_at_once():
    X, y = big_data(4000)
    run = cudamlp.Run(cudamlp.mlp([256, 64, 10]), epochs=1000, batch=16, device="cpu", threads=1)
    errors = []

    def second():
        time.sleep(0.3)
        # Each of these reads or changes what the training thread is using without the GIL.
        for attempt in (lambda: run.train(X, y), lambda: run.train(X, y, epochs=5),
                        lambda: run.optimizer_state, lambda: run.save_checkpoint("unused.ckpt")):
            try:
                attempt()
            except ValueError as error:
                errors.append(error)
        _thread.interrupt_main()

    thread = threading.Thread(target=second)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        run.train(X, y)
    thread.join()
    assert len(errors) == 4 and all("another thread" in str(error) for error in errors), errors
