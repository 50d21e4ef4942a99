#!/usr/bin/env python3
"""cudamlp against PyTorch on the CPU or on a CUDA GPU, side by side: alternating runs, median ratios.

Each round runs, for every cell (network:batch), `cudamlp bench` and benchmarks/pytorch_baseline.py with
the same budget and repeats, one after the other (which goes first alternates between rounds, so drift
in the machine's load hits both alike). It then prints, per cell, both medians over the rounds and the
median of the per-round ratios, as a Markdown table (the format of docs/cpu-benchmarks.md).

--device cpu (the default): cudamlp's cpu backend against PyTorch on the CPU, both with --threads.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/compare_with_pytorch.py \\
        --cudamlp build/cudamlp --threads 2 --rounds 7 \\
        --cells 784-10-10-10:64,784-128-64-10:256,784-1024-1024-10:1024

--device cuda: cudamlp's gpu backend (engine chosen per layer; --cudamlp-backends gpu,gpu:custom,gpu:cublas
gives a row per backend) against PyTorch's CUDA eager mode (pytorch_baseline.py --devices cuda, run by
the python running this script unless --python says otherwise). The table's header names the GPU. It
checks first that both can use a GPU here, and stops with one line if not.

    python3 benchmarks/compare_with_pytorch.py --device cuda --cudamlp build/cudamlp --rounds 5 \\
        --cudamlp-backends gpu,gpu:custom,gpu:cublas --cells 784-10-10-10:256,784-128-64-10:256

On a shared machine, --max-other-load 5 keeps a pair of runs only when other processes used less than
5% of the CPU during both runs, and otherwise waits and runs the pair again: both contenders' threads
need the cores to themselves, as a descheduled OpenMP thread stalls every parallel region for a
scheduler time slice, which turns microseconds into milliseconds. It applies to --device cuda too,
where the host thread that launches the kernels is what small networks are bound by.

On the CPU, PyTorch runs with LD_LIBRARY_PATH=--torch-blas-dir (OpenBLAS's OpenMP build by default:
Debian's torch otherwise calls whatever libblas.so.3 resolves to) plus any --pytorch-env KEY=VALUE, e.g.
OPENBLAS_CORETYPE=SkylakeX to try other OpenBLAS kernels for PyTorch alone. On CUDA (a pip wheel brings
its own libraries) it runs in this script's environment plus any --pytorch-env.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    print(f"compare_with_pytorch.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def cpu_seconds():
    """(CPU seconds all processes spent busy, CPU seconds our finished children spent) so far."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    busy = sum(values) - values[3] - values[4]  # all but idle and iowait, in clock ticks
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy / os.sysconf("SC_CLK_TCK"), children.ru_utime + children.ru_stime


def run_json(command, env, backends):
    """Runs a benchmark command that writes --json; returns its report, its result rows by backend (one
    measured cell for each of `backends`), and the share of the machine's CPU (percent) that other
    processes used while it ran."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.json")
        busy0, ours0 = cpu_seconds()
        start = time.time()
        completed = subprocess.run(command + ["--json", path], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        busy1, ours1 = cpu_seconds()
        others = 100.0 * max(0.0, (busy1 - busy0) - (ours1 - ours0)) / ((time.time() - start) * os.cpu_count())
        if completed.returncode != 0:
            fail(f"{' '.join(command)} exited {completed.returncode}: {completed.stderr.strip()}")
        with open(path) as f:
            report = json.load(f)
    rows = {row["backend"]: row for row in report["results"]}
    if len(report["results"]) != len(backends) or any(rows.get(b, {}).get("status") != "ok" for b in backends):
        fail(f"{' '.join(command)}: expected one measured cell per backend ({', '.join(backends)}), "
             f"got {report['results']}")
    return report, rows, others


def last_line(text):
    """The last non-empty line of a command's stderr: its error message, after any traceback."""
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "no message")


def check_cuda(cudamlp, labels, python, torch_env):
    """Stops with one line unless both contenders can train on a CUDA GPU here: cudamlp bench with each of
    `labels` (a tiny cell), and `python`'s torch."""
    command = [cudamlp, "bench", "--backends", ",".join(labels), "--networks", "784-10", "--batches", "1",
               "--budget", "0.05", "--repeats", "1"]
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        fail(f"--device cuda: {last_line(completed.stderr)}")
    probe = "import torch; print(torch.__version__, torch.cuda.is_available())"
    try:
        completed = subprocess.run([python, "-c", probe], env=torch_env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
    except OSError as e:
        fail(f"--python {python}: {e.strerror}")
    if completed.returncode != 0:
        fail(f"--device cuda: --python {python} cannot import torch ({last_line(completed.stderr)})")
    version, _, available = last_line(completed.stdout).rpartition(" ")
    if available != "True":
        fail(f"--device cuda: --python {python} has torch {version} with no usable CUDA device "
             "(torch.cuda.is_available() is False)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cpu: cudamlp's cpu backend against PyTorch on the CPU; cuda: its gpu backend against "
                             "PyTorch CUDA eager [cpu]")
    parser.add_argument("--cudamlp", default="build/cudamlp", help="the cudamlp binary [build/cudamlp]")
    parser.add_argument("--cudamlp-backends", metavar="LABELS",
                        help="comma-separated `cudamlp bench --backends` labels, a table row for each "
                             "[cpu; with --device cuda: gpu, e.g. gpu,gpu:custom,gpu:cublas]")
    parser.add_argument("--cells", default="784-10-10-10:64,784-128-64-10:256,784-1024-1024-10:1024",
                        help="comma-separated network:batch pairs")
    parser.add_argument("--threads", type=int, help="CPU threads of both, --device cpu only [2]")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per cell and run [2]")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--python", help="the python with torch [/usr/bin/python3; with --device cuda: the python "
                                         "running this script]")
    parser.add_argument("--torch-blas-dir", help="--device cpu only [/usr/lib/x86_64-linux-gnu/openblas-openmp]")
    parser.add_argument("--pytorch-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--max-other-load", type=float, default=None, metavar="PERCENT",
                        help="run a pair again while other processes used more of the CPU than this")
    parser.add_argument("--max-tries", type=int, default=20, help="tries per pair with --max-other-load [20]")
    args = parser.parse_args()
    on_cuda = args.device == "cuda"
    cells = []
    for cell in args.cells.split(","):
        network, _, batch = cell.partition(":")
        if not batch.isdigit() or not network:
            fail(f"--cells {args.cells}: '{cell}' is not network:batch like 784-128-64-10:256")
        cells.append((network, batch))
    labels = list(dict.fromkeys((args.cudamlp_backends or ("gpu" if on_cuda else "cpu")).split(",")))
    for label in labels:
        if label.startswith("gpu") != on_cuda:
            fail(f"--cudamlp-backends {args.cudamlp_backends}: '{label}' is not a backend for --device {args.device} "
                 f"(expected {'gpu, gpu:custom, gpu:cublas' if on_cuda else 'cpu'})")
    if on_cuda:
        if args.threads is not None:
            fail("--threads: for --device cpu only (CPU threads of the cpu backend and of PyTorch's CPU ops)")
        if args.torch_blas_dir is not None:
            fail("--torch-blas-dir: for --device cpu only (the BLAS of Debian's torch; a CUDA wheel brings its own)")
    else:
        args.threads = 2 if args.threads is None else args.threads
        args.torch_blas_dir = args.torch_blas_dir or "/usr/lib/x86_64-linux-gnu/openblas-openmp"
    args.python = args.python or (sys.executable if on_cuda else "/usr/bin/python3")
    if args.rounds < 1 or (args.threads is not None and args.threads < 1):
        fail("--rounds and --threads must be >= 1")
    if not os.access(args.cudamlp, os.X_OK):
        fail(f"--cudamlp {args.cudamlp}: not an executable (build cudamlp first)")
    if on_cuda:
        torch_env = dict(os.environ)
    else:
        if not os.path.isdir(args.torch_blas_dir):
            fail(f"--torch-blas-dir {args.torch_blas_dir}: no such folder (Debian: apt-get install libopenblas0-openmp)")
        torch_env = dict(os.environ, LD_LIBRARY_PATH=args.torch_blas_dir)
    for pair in args.pytorch_env:
        key, equals, value = pair.partition("=")
        if not equals:
            fail(f"--pytorch-env {pair}: expected KEY=VALUE")
        torch_env[key] = value
    if on_cuda:
        check_cuda(args.cudamlp, labels, args.python, torch_env)
    common = ["--budget", str(args.budget), "--repeats", str(args.repeats)]
    if not on_cuda:
        common = ["--threads", str(args.threads)] + common

    samples = {cell: {"pytorch": [], "cudamlp": {label: [] for label in labels}, "ratio": {label: [] for label in labels}}
               for cell in cells}
    described = {}
    discarded = 0  # pairs run again because other processes were busy
    for round_ in range(args.rounds):
        for network, batch in cells:
            cell_args = ["--networks", network, "--batches", batch] + common
            contenders = [
                ("cudamlp", [args.cudamlp, "bench", "--backends", ",".join(labels)] + cell_args, dict(os.environ),
                 labels),
                ("pytorch", [args.python, os.path.join(HERE, "pytorch_baseline.py"), "--devices", args.device] + cell_args,
                 torch_env, [f"pytorch-{args.device}"]),
            ]
            if round_ % 2:
                contenders.reverse()
            for attempt in range(1, args.max_tries + 1):
                rates, loads = {}, []
                for name, command, env, backends in contenders:
                    described[name], rows, others = run_json(command, env, backends)
                    for backend in backends:
                        rates[backend if name == "cudamlp" else name] = rows[backend]["samples_per_second"]
                    loads.append(others)
                if args.max_other_load is None or max(loads) <= args.max_other_load:
                    break
                discarded += 1
                print(f"round {round_ + 1} {network} batch {batch}: other processes used {max(loads):.0f}% of the "
                      f"CPU, running the pair again (try {attempt + 1})", file=sys.stderr, flush=True)
                time.sleep(5)
            else:
                fail(f"the machine stayed busy for {args.max_tries} tries of {network} batch {batch}")
            s = samples[(network, batch)]
            s["pytorch"].append(rates["pytorch"])
            for label in labels:
                s["cudamlp"][label].append(rates[label])
                s["ratio"][label].append(rates[label] / rates["pytorch"])
            names = {label: "cudamlp" if len(labels) == 1 else f"cudamlp {label}" for label in labels}
            print(f"round {round_ + 1}/{args.rounds} {network} batch {batch}: "
                  + "".join(f"{names[label]} {rates[label]:,.0f}, " for label in labels)
                  + f"pytorch {rates['pytorch']:,.0f} samples/s, ratio "
                  + ", ".join(f"{rates[label] / rates['pytorch']:.2f}" for label in labels),
                  file=sys.stderr, flush=True)

    torch_report = described["pytorch"]
    if on_cuda:
        print(f"GPU: {torch_report.get('gpu')}; cudamlp bench --backends {','.join(labels)}; PyTorch "
              f"{torch_report.get('torch')} eager, CUDA {torch_report.get('cuda')}, float32 matmul precision "
              f"{torch_report.get('float32_matmul_precision')}; host {described['cudamlp']['cpu_model']}")
    else:
        print(f"cudamlp: {described['cudamlp']['blas']}; PyTorch {torch_report.get('torch')}: "
              f"{torch_report['blas']}; {args.threads} threads; {described['cudamlp']['cpu_model']}")
    if args.max_other_load is not None:
        print(f"pairs kept: other processes below {args.max_other_load:g}% of the CPU; {discarded} pairs run again")
    if on_cuda:
        print(f"\n| network | batch | cudamlp backend | cudamlp samples/s | PyTorch CUDA eager samples/s | "
              f"ratio (median of {args.rounds} rounds) | ratio range |")
        print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    else:
        print(f"\n| network | batch | cudamlp cpu samples/s | PyTorch samples/s | ratio (median of {args.rounds} rounds) | "
              "ratio range |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for (network, batch), s in samples.items():
        for label in labels:
            backend = f" {label} |" if on_cuda else ""
            ratios = s["ratio"][label]
            print(f"| {network} | {batch} |{backend} {statistics.median(s['cudamlp'][label]):,.0f} | "
                  f"{statistics.median(s['pytorch']):,.0f} | {statistics.median(ratios):.2f}x | "
                  f"{min(ratios):.2f}-{max(ratios):.2f} |")


if __name__ == "__main__":
    main()
