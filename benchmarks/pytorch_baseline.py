#!/usr/bin/env python3
"""PyTorch's training loop on the grid of `cudamlp bench`, printing the same JSON fields.

The same work as one cudamlp training step: nn.Sequential of nn.Linear + ReLU with He-uniform weights
(U(-sqrt(6/in), sqrt(6/in))) and zero biases, mean cross-entropy, SGD (lr 0.01, no momentum: `cudamlp
bench`'s settings), on synthetic MNIST-shaped data kept on the device as uint8 and scaled (/255) while
gathering each batch. Per cell: warm-up, then the median over repeats, cells over the time budget
skipped, exactly as `cudamlp bench` does.

On the CPU each step ends with loss.item() (free there: the step has already run). On CUDA this is
PyTorch's eager mode at its best: steps are queued with no host synchronisation between them, as the
gpu backend's train_batch queues its CUDA-graph steps, and every timed run ends with
torch.cuda.synchronize(), so the clock sees all of its work. Matrix products run in FP32 (PyTorch's default float32 matmul precision
"highest", no TF32, as cudamlp without --tf32); the JSON records that setting and the GPU's name.

    python3 benchmarks/pytorch_baseline.py --threads 2 --networks 784-128-64-10 --batches 256
    python3 benchmarks/pytorch_baseline.py --devices cpu,cuda --json pytorch.json

PyTorch at its best on a Debian CPU: Debian's python3-torch calls whatever libblas.so.3 resolves to
(the slow reference BLAS unless an optimised one is installed); run it against OpenBLAS's OpenMP build:

    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp python3 benchmarks/pytorch_baseline.py

The "blas" field of the JSON says which BLAS library the process actually loaded.
"""
import argparse
import datetime
import json
import math
import os
import statistics
import sys
import time

LEARNING_RATE = 0.01
MIN_REPEATS = 3
WARMUP_SHARE = 0.2


def fail(message):
    print(f"pytorch_baseline.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_networks(text):
    networks = []
    for network in text.split(","):
        try:
            sizes = [int(s) for s in network.split("-")]
        except ValueError:
            fail(f"--networks {text}: '{network}' is not layer sizes like 784-128-64-10")
        if len(sizes) < 2 or min(sizes) < 1 or sizes[-1] > 256:
            fail(f"--networks {text}: '{network}' needs positive sizes, an input and an output (<= 256 classes)")
        networks.append(sizes)
    return networks


def parse_batches(text):
    try:
        batches = [int(b) for b in text.split(",")]
    except ValueError:
        fail(f"--batches {text}: expected batch sizes like 32,64")
    if min(batches) < 1:
        fail(f"--batches {text}: batch sizes must be positive")
    return batches


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def loaded_blas():
    """The BLAS shared libraries this process has mapped (after torch ran a matrix product)."""
    libraries = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                name = os.path.basename(path)
                if any(key in name for key in ("blas", "blis", "mkl_core")):
                    libraries.add(os.path.realpath(path))
    except OSError:
        pass
    return ", ".join(sorted(libraries)) or "unknown"


def flops_per_step(sizes, batch):
    # as cudamlp bench: forward, dW for every layer, dx for all but the first
    return sum(2.0 * batch * sizes[l] * sizes[l + 1] * (2 if l == 0 else 3) for l in range(len(sizes) - 1))


def make_model(torch, sizes, device):
    layers = []
    for l in range(len(sizes) - 1):
        linear = torch.nn.Linear(sizes[l], sizes[l + 1])
        bound = math.sqrt(6.0 / sizes[l])  # He uniform, as cudamlp's make_mlp
        torch.nn.init.uniform_(linear.weight, -bound, bound)
        torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if l + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).to(device)


class Cell:
    """One (device, network, batch): model, optimizer and data on the device, and its step."""

    def __init__(self, torch, device, sizes, batch, pixels, labels):
        self.torch, self.device, self.batch = torch, device, batch
        self.model = make_model(torch, sizes, device)
        # foreach=True: one multi-tensor update for all parameters (PyTorch's fastest SGD in 1.13, and its
        # default on CUDA).
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE, foreach=True)
        self.pixels, self.labels = pixels, labels
        generator = torch.Generator().manual_seed(1)
        self.order = torch.randperm(pixels.shape[0], generator=generator).to(device)
        self.windows = pixels.shape[0] - batch + 1
        self.step = 0
        self.on_cuda = device == "cuda"

    def run(self, steps):
        torch = self.torch
        if self.on_cuda:
            torch.cuda.synchronize()  # nothing queued before the clock starts
        start = time.perf_counter()
        for _ in range(steps):
            first = (self.step * self.batch) % self.windows
            index = self.order[first:first + self.batch]
            x = self.pixels.index_select(0, index).float().div_(255.0)  # gather + scale, like cudamlp
            y = self.labels.index_select(0, index)
            loss = torch.nn.functional.cross_entropy(self.model(x), y)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            if not self.on_cuda:
                loss.item()  # the step's result reaches the host
            self.step += 1
        if self.on_cuda:
            torch.cuda.synchronize()  # the queued steps have finished when the clock stops
        return time.perf_counter() - start


def measure(torch, device, sizes, batch, data, budget, repeats, rate):
    row = {"backend": f"pytorch-{device}", "network": "-".join(map(str, sizes)), "sizes": sizes, "batch": batch}
    flops = flops_per_step(sizes, batch)
    step_budget = budget / (1 + MIN_REPEATS)
    if rate[0] > 0 and flops / rate[0] > step_budget:
        row.update(status="skipped",
                   reason=f"predicted {flops / rate[0]:.3g} s per step, over the budget of {budget:g} s "
                          f"for {MIN_REPEATS}+1 steps")
        return row
    cell = Cell(torch, device, sizes, batch, *data)
    seconds = cell.run(1)
    rate[0] = max(rate[0], flops / seconds)
    if seconds > step_budget:
        row.update(status="skipped",
                   reason=f"one step took {seconds:.3g} s, over the budget of {budget:g} s for {MIN_REPEATS}+1 steps")
        return row
    warm = 1
    while seconds < WARMUP_SHARE * budget and warm < 1000:
        seconds += cell.run(warm)
        warm *= 2
    step_seconds = min(seconds, cell.run(1))
    left = (1 - WARMUP_SHARE) * budget
    repeats = int(min(max(math.floor(left / step_seconds), MIN_REPEATS), repeats))
    steps = max(1, int(left / repeats / step_seconds))
    median = statistics.median(cell.run(steps) / steps for _ in range(repeats))
    rate[0] = max(rate[0], flops / median)
    row.update(status="ok", ms_per_step=1e3 * median, samples_per_second=batch / median, steps_per_repeat=steps,
               repeats=repeats, gpu_cpu_speedup=None)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", default="cpu", help="comma-separated: cpu, cuda [cpu]")
    parser.add_argument("--networks", default="784-10-10-10,784-128-64-10,784-1024-1024-10,784-4096-4096-10")
    parser.add_argument("--batches", default="32,64,128,256,512,1024,2048,4096,8192")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per cell [3]")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per cell [5]")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads [all cores]")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args()
    networks, batches = parse_networks(args.networks), parse_batches(args.batches)
    if not (args.budget > 0 and math.isfinite(args.budget)):
        fail(f"--budget {args.budget}: must be a positive number of seconds")
    if args.repeats < 1 or args.threads < 0:
        fail("--repeats must be >= 1 and --threads >= 0")
    devices = args.devices.split(",")
    for device in devices:
        if device not in ("cpu", "cuda"):
            fail(f"--devices {args.devices}: unknown device '{device}' (expected cpu, cuda)")
    try:
        import torch
    except ImportError:
        fail("python3 has no torch (Debian: apt-get install python3-torch)")
    if "cuda" in devices and not torch.cuda.is_available():
        fail("--devices cuda: this torch has no usable CUDA device")
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))  # loads the BLAS, for loaded_blas()

    print(f"pytorch_baseline: torch {torch.__version__}, training throughput on synthetic MNIST-shaped data, "
          f"SGD lr {LEARNING_RATE:g}, median of {args.repeats} repeats after warm-up, budget {args.budget:g} s per cell")
    print(f"host: {cpu_model()}, {threads} threads, BLAS {loaded_blas()}")
    gpu = torch.cuda.get_device_name(0) if "cuda" in devices else None
    if gpu:
        print(f"gpu: {gpu}, CUDA {torch.version.cuda}, float32 matmul precision "
              f"{torch.get_float32_matmul_precision()}")
    print(f"\n{'network':20s} {'batch':>6s}  {'backend':12s} {'ms/step':>10s} {'samples/s':>14s}")
    results = []
    rates = {device: [0.0] for device in devices}
    for sizes in networks:
        n = max(2 * max(batches), 1024)
        generator = torch.Generator().manual_seed(12345)
        pixels = torch.randint(0, 256, (n, sizes[0]), dtype=torch.uint8, generator=generator)
        labels = torch.randint(0, sizes[-1], (n,), dtype=torch.int64, generator=generator)
        for batch in batches:
            for device in devices:
                data = (pixels.to(device), labels.to(device))
                row = measure(torch, device, sizes, batch, data, args.budget, args.repeats, rates[device])
                if row["status"] == "ok":
                    print(f"{row['network']:20s} {batch:6d}  {row['backend']:12s} {row['ms_per_step']:10.3f} "
                          f"{row['samples_per_second']:14,.0f}", flush=True)
                else:
                    print(f"{row['network']:20s} {batch:6d}  {row['backend']:12s} skipped: {row['reason']}", flush=True)
                results.append(row)
    if args.json:
        report = {"tool": "pytorch_baseline.py", "torch": torch.__version__,
                  "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "cpu_model": cpu_model(), "threads": threads, "blas": loaded_blas(),
                  "gpu": gpu, "cuda": torch.version.cuda,
                  "float32_matmul_precision": torch.get_float32_matmul_precision(),
                  "data": "synthetic, uint8 pixels, MNIST-shaped", "lr": LEARNING_RATE, "momentum": 0.0,
                  "budget_seconds": args.budget, "results": results}
        temporary = f"{args.json}.tmp-{os.getpid()}"
        with open(temporary, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        os.replace(temporary, args.json)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
