#!/usr/bin/python3
"""Variance traces of gradient estimators probed during training (gradest train --probe-every ...)
or at saved parameters (gradest variance).

Reads /runs/<run-id>/variance/<estimator>/{step, trace_encoder, trace_decoder, snr_encoder, ...}
(schema: experiments/probe.hpp, README "Measuring estimators") and draws, per estimator, against the
training step:
  - the trace of the covariance of the per-example encoder gradient (log scale),
  - the same multiplied by objective evaluations per data point (variance x cost),
  - the mean SNR |E g| / sd of the encoder gradient,
  - the trace of the covariance of the decoder gradient.

Usage: /usr/bin/python3 analysis/plot_variance.py RUN.h5 [--run ID] [--out results/variance.png]
"""
import argparse
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

PANELS = [
    ("trace_encoder", "tr Cov(encoder gradient)", True),
    ("trace_x_evals_encoder", "tr Cov(encoder) x evaluations per example", True),
    ("snr_encoder", "mean SNR |E g| / sd (encoder)", True),
    ("trace_decoder", "tr Cov(decoder gradient)", True),
]


def runs_with_variance(f):
    if "runs" not in f:
        return []
    return [name for name, group in f["runs"].items() if "variance" in group]


def plot_variance(path, run=None, out="results/variance.png"):
    with h5py.File(path, "r") as f:
        runs = runs_with_variance(f)
        if not runs:
            sys.exit(f"plot_variance: {path} has no /runs/<id>/variance group (train with --probe-every)")
        if run is None:
            if len(runs) > 1:
                sys.exit(f"plot_variance: {path} holds several runs with variance traces; pick one with --run: {', '.join(runs)}")
            run = runs[0]
        if run not in runs:
            sys.exit(f"plot_variance: run {run} has no variance group; runs with one: {', '.join(runs)}")
        group = f["runs"][run]["variance"]
        estimators = sorted(group.keys())
        fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
        draws = batch = None
        for label in estimators:
            g = group[label]
            draws = g.attrs.get("draws", draws)
            batch = g.attrs.get("batch", batch)
            step = np.asarray(g["step"])
            for ax, (column, title, log) in zip(axes.flat, PANELS):
                values = np.asarray(g[column])
                ax.plot(step, values, marker="o", markersize=3, label=f"{label} ({g['evals_per_estimate'][0]:.3g} evals)")
                ax.set_title(title, fontsize=10)
                if log:
                    ax.set_yscale("log")
        for ax in axes[1]:
            ax.set_xlabel("training step")
        axes[0, 0].legend(fontsize=8)
        attrs = f["runs"][run].attrs
        estimator = attrs.get("estimator", "")
        if isinstance(estimator, bytes):
            estimator = estimator.decode()
        fig.suptitle(
            f"gradient variance along the trajectory of run {run} (trained with {estimator}); "
            f"per-example gradients, minibatch {batch}, {draws} draws per probe",
            fontsize=10,
        )
        fig.tight_layout()
        fig.savefig(out, dpi=120)
        print(f"wrote {out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--run", default=None)
    parser.add_argument("--out", default="results/variance.png")
    args = parser.parse_args(argv)
    plot_variance(args.file, args.run, args.out)


if __name__ == "__main__":
    main()
