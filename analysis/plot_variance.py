#!/usr/bin/python3
"""Variance traces of gradient estimators probed during training (gradest train --probe-every ...)
or at saved parameters (gradest variance).

Reads /runs/<run-id>/variance/<estimator>/{step, trace_encoder, trace_decoder, snr_encoder, ...}
(schema: run/probe.hpp, README "Measuring estimators") and draws, per estimator, against the
training step:
  - the trace of the covariance of the per-example encoder gradient (log scale),
  - the same multiplied by objective evaluations per data point (variance x cost),
  - the mean SNR |E g| / sd of the encoder gradient,
  - the trace of the covariance of the decoder gradient.

Usage: /usr/bin/python3 analysis/plot_variance.py RUN.h5 [--run ID] [--out results/variance.png]
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gradest_h5 import fail, read_runs, save  # noqa: E402

PANELS = [
    ("trace_encoder", "tr Cov(encoder gradient)", True),
    ("trace_x_evals_encoder", "tr Cov(encoder) x evaluations per example", True),
    ("snr_encoder", "mean SNR |E g| / sd (encoder)", True),
    ("trace_decoder", "tr Cov(decoder gradient)", True),
]


def plot_variance(path, run=None, out="results/variance.png"):
    runs = {r.id: r for r in read_runs(path) if r.probes}
    if not runs:
        fail(f"{path} has no /runs/<id>/variance group (train with --probe-every)")
    if run is None:
        if len(runs) > 1:
            fail(f"{path} holds several runs with variance traces; pick one with --run: {', '.join(runs)}")
        run = next(iter(runs))
    if run not in runs:
        fail(f"run {run} has no variance group; runs with one: {', '.join(runs)}")
    probes = runs[run].probes
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    draws = batch = None
    for label in sorted(probes):
        g = probes[label]
        draws = g.attrs.get("draws", draws)
        batch = g.attrs.get("batch", batch)
        for ax, (column, title, log) in zip(axes.flat, PANELS):
            ax.plot(g["step"], g[column], marker="o", markersize=3, label=f"{label} ({g['evals_per_estimate'][0]:.3g} evals)")
            ax.set_title(title, fontsize=10)
            if log:
                ax.set_yscale("log")
    for ax in axes[1]:
        ax.set_xlabel("training step")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(
        f"gradient variance along the trajectory of run {run} (trained with {runs[run].attrs.get('estimator', '')}); "
        f"per-example gradients, minibatch {batch}, {draws} draws per probe",
        fontsize=10,
    )
    save(fig, out, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--run", default=None)
    parser.add_argument("--out", default="results/variance.png")
    args = parser.parse_args(argv)
    plot_variance(args.file, args.run, args.out)


if __name__ == "__main__":
    main()
