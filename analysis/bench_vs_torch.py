#!/usr/bin/env python3
"""Runs gradest's training-step benchmark and the PyTorch peer (../shared/bench) one after the
other, per model and thread count, and prints the ratio of steps per second.

gradest's step is single-threaded; with N threads it runs N independent training runs at once
(how sweeps use the cores) and its figure is their total. The peer runs one training run with N
intra-op threads. Both figures are steps per second of the same model and batch.

Each row alternates the two --repeats times (default 3) and keeps each side's best rate: on a shared
virtual machine single runs of either moved by up to 30% within minutes, and the best of several is
the figure least disturbed by the rest of the machine, for both sides alike.

usage: bench_vs_torch.py [--gradest build/gradest] [--peer ../shared/bench/torch_vae_bench.py]
                         [--threads 1,2] [--seconds 3] [--peer-steps 1000] [--repeats 3] [--markdown]
"""
import argparse
import os
import re
import subprocess
import sys

MODELS = [("bvae-linear", 50), ("bvae-nonlinear", 50), ("gvae", 100)]


def gradest_rate(binary, model, threads, seconds):
    out = subprocess.run([binary, "bench", "--models", model, "--processes", str(threads), "--seconds",
                          str(seconds), "--probe-draws", "0"], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == model:
            return float(fields[3])  # steps/s of all processes together
    raise RuntimeError("no figure for %s in gradest bench output:\n%s" % (model, out))


# The peer as ../shared/bench has it, with one standard setting that made it faster on the machines
# measured (README "Speed"): zero_grad(set_to_none=True), PyTorch 2.0's default (the Debian 12
# PyTorch, 1.13, still zeroes the gradients in place: 3-6% slower). The foreach Adam was slower
# there (by 2-11%), so it is not used. The thread variables are set before torch loads (the peer
# sets them too, but after this wrapper has imported torch).
PEER_WRAPPER = """
import runpy, sys, torch
_zero_grad = torch.optim.Optimizer.zero_grad
def zero_grad(self, set_to_none=True):
    return _zero_grad(self, set_to_none=True)
torch.optim.Optimizer.zero_grad = zero_grad
peer = sys.argv[1]
sys.argv = sys.argv[1:]
runpy.run_path(peer, run_name="__main__")
"""


def peer_rate(python, peer, model, batch, threads, steps):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([python, "-c", PEER_WRAPPER, peer, "--model", model, "--batch", str(batch), "--threads",
                          str(threads), "--steps", str(steps)], check=True, capture_output=True, text=True,
                         env=env).stdout
    match = re.search(r"steps/s=([0-9.]+)", out)
    if not match:
        raise RuntimeError("no steps/s in the peer's output:\n" + out)
    return float(match.group(1))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gradest", default=os.path.join(root, "build", "gradest"))
    parser.add_argument("--peer", default=os.path.join(os.path.dirname(root), "shared", "bench", "torch_vae_bench.py"))
    parser.add_argument("--python", default="/usr/bin/python3")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--peer-steps", type=int, default=1000, help="timed steps of the peer (its default, 300, "
                        "lasts 2-4 s here; 1000 steadies the figure)")
    parser.add_argument("--repeats", type=int, default=3, help="gradest and the peer alternate this many times per "
                        "row; each side's best rate is kept (the run least disturbed by the rest of the machine)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    if not os.path.exists(args.peer):
        sys.exit("bench_vs_torch: the PyTorch peer '%s' does not exist; pass --peer PATH" % args.peer)
    if subprocess.run([args.python, "-c", "import torch"], capture_output=True).returncode != 0:
        sys.exit("bench_vs_torch: PyTorch is missing; install the Debian packages python3-torch libopenblas0-pthread")
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        for model, batch in MODELS:
            ours, peer = [], []
            for _ in range(max(args.repeats, 1)):
                ours.append(gradest_rate(args.gradest, model, threads, args.seconds))
                peer.append(peer_rate(args.python, args.peer, model, batch, threads, args.peer_steps))
            rows.append((model, batch, threads, max(ours), max(peer), max(ours) / max(peer)))
            if not args.markdown:
                print("%-15s batch %3d  threads %d  gradest %8.1f steps/s  pytorch %8.1f steps/s  ratio %5.2fx"
                      % rows[-1], flush=True)
    if args.markdown:
        print("| model | batch | threads | gradest steps/s | PyTorch steps/s | ratio |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print("| %s | %d | %d | %.1f | %.1f | %.2fx |" % r)


if __name__ == "__main__":
    main()
