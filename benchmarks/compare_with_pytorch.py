#!/usr/bin/env python3
"""cudamlp's cpu backend against PyTorch on the CPU, side by side: alternating runs, median ratios.

Each round runs, for every cell (network:batch), `cudamlp bench` on the cpu backend and
benchmarks/pytorch_baseline.py with the same thread count, budget and repeats, one after the other
(which goes first alternates between rounds, so drift in the machine's load hits both alike). It then
prints, per cell, both medians over the rounds and the median of the per-round ratios, as a Markdown
table (the format of docs/cpu-benchmarks.md).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/compare_with_pytorch.py \\
        --cudamlp build/cudamlp --threads 2 --rounds 7 \\
        --cells 784-10-10-10:64,784-128-64-10:256,784-1024-1024-10:1024

On a shared machine, --max-other-load 5 keeps a pair of runs only when other processes used less than
5% of the CPU during both runs, and otherwise waits and runs the pair again: both contenders' threads
need the cores to themselves, as a descheduled OpenMP thread stalls every parallel region for a
scheduler time slice, which turns microseconds into milliseconds.

PyTorch runs with LD_LIBRARY_PATH=--torch-blas-dir (OpenBLAS's OpenMP build by default: Debian's torch
otherwise calls whatever libblas.so.3 resolves to) plus any --pytorch-env KEY=VALUE, e.g.
OPENBLAS_CORETYPE=SkylakeX to try other OpenBLAS kernels for PyTorch alone.
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


def run_json(command, env):
    """Runs a benchmark command that writes --json; returns its report, its single result row, and the
    share of the machine's CPU (percent) that other processes used while it ran."""
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
    rows = report["results"]
    if len(rows) != 1 or rows[0]["status"] != "ok":
        fail(f"{' '.join(command)}: expected one measured cell, got {rows}")
    return report, rows[0], others


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cudamlp", default="build/cudamlp", help="the cudamlp binary [build/cudamlp]")
    parser.add_argument("--cells", default="784-10-10-10:64,784-128-64-10:256,784-1024-1024-10:1024",
                        help="comma-separated network:batch pairs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per cell and run [2]")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--python", default="/usr/bin/python3", help="the python with torch [/usr/bin/python3]")
    parser.add_argument("--torch-blas-dir", default="/usr/lib/x86_64-linux-gnu/openblas-openmp")
    parser.add_argument("--pytorch-env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--max-other-load", type=float, default=None, metavar="PERCENT",
                        help="run a pair again while other processes used more of the CPU than this")
    parser.add_argument("--max-tries", type=int, default=20, help="tries per pair with --max-other-load [20]")
    args = parser.parse_args()
    cells = []
    for cell in args.cells.split(","):
        network, _, batch = cell.partition(":")
        if not batch.isdigit() or not network:
            fail(f"--cells {args.cells}: '{cell}' is not network:batch like 784-128-64-10:256")
        cells.append((network, batch))
    if args.rounds < 1 or args.threads < 1:
        fail("--rounds and --threads must be >= 1")
    if not os.access(args.cudamlp, os.X_OK):
        fail(f"--cudamlp {args.cudamlp}: not an executable (build cudamlp first)")
    if not os.path.isdir(args.torch_blas_dir):
        fail(f"--torch-blas-dir {args.torch_blas_dir}: no such folder (Debian: apt-get install libopenblas0-openmp)")
    torch_env = dict(os.environ, LD_LIBRARY_PATH=args.torch_blas_dir)
    for pair in args.pytorch_env:
        key, equals, value = pair.partition("=")
        if not equals:
            fail(f"--pytorch-env {pair}: expected KEY=VALUE")
        torch_env[key] = value
    common = ["--threads", str(args.threads), "--budget", str(args.budget), "--repeats", str(args.repeats)]

    samples = {cell: {"cudamlp": [], "pytorch": [], "ratio": []} for cell in cells}
    described = {}
    discarded = 0  # pairs run again because other processes were busy
    for round_ in range(args.rounds):
        for network, batch in cells:
            cell_args = ["--networks", network, "--batches", batch] + common
            contenders = [
                ("cudamlp", [args.cudamlp, "bench", "--backends", "cpu"] + cell_args, dict(os.environ)),
                ("pytorch", [args.python, os.path.join(HERE, "pytorch_baseline.py")] + cell_args, torch_env),
            ]
            if round_ % 2:
                contenders.reverse()
            for attempt in range(1, args.max_tries + 1):
                rates, loads = {}, []
                for name, command, env in contenders:
                    described[name], row, others = run_json(command, env)
                    rates[name] = row["samples_per_second"]
                    loads.append(others)
                if args.max_other_load is None or max(loads) <= args.max_other_load:
                    break
                discarded += 1
                print(f"round {round_ + 1} {network} batch {batch}: other processes used {max(loads):.0f}% of the "
                      f"CPU, running the pair again (try {attempt + 1})", file=sys.stderr, flush=True)
                time.sleep(5)
            else:
                fail(f"the machine stayed busy for {args.max_tries} tries of {network} batch {batch}")
            for name in rates:
                samples[(network, batch)][name].append(rates[name])
            samples[(network, batch)]["ratio"].append(rates["cudamlp"] / rates["pytorch"])
            print(f"round {round_ + 1}/{args.rounds} {network} batch {batch}: cudamlp {rates['cudamlp']:,.0f}, "
                  f"pytorch {rates['pytorch']:,.0f} samples/s, ratio {rates['cudamlp'] / rates['pytorch']:.2f}",
                  file=sys.stderr, flush=True)

    print(f"cudamlp: {described['cudamlp']['blas']}; PyTorch {described['pytorch'].get('torch')}: "
          f"{described['pytorch']['blas']}; {args.threads} threads; {described['cudamlp']['cpu_model']}")
    if args.max_other_load is not None:
        print(f"pairs kept: other processes below {args.max_other_load:g}% of the CPU; {discarded} pairs run again")
    print(f"\n| network | batch | cudamlp cpu samples/s | PyTorch samples/s | ratio (median of {args.rounds} rounds) | "
          "ratio range |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for (network, batch), s in samples.items():
        print(f"| {network} | {batch} | {statistics.median(s['cudamlp']):,.0f} | {statistics.median(s['pytorch']):,.0f} "
              f"| {statistics.median(s['ratio']):.2f}x | {min(s['ratio']):.2f}-{max(s['ratio']):.2f} |")


if __name__ == "__main__":
    main()
