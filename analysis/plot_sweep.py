#!/usr/bin/python3
"""Figures of a sweep (`gradest sweep` writes DIR/sweep.h5; any file of /runs/<id> groups works).

usage: plot_sweep.py FIGURE SWEEP.h5 [-o OUTPUT.png] [--by KEYS] [--group GROUP]

Runs are grouped by configuration keys (default: every key of the training configuration whose
value differs between runs, except seed); each group's runs are its seeds.

Figures (subcommands):
  curves    test ELBO and test IWAE bound (/runs/<id>/trace) against the training step: the mean
            across seeds, with a band of +- one standard error (none with a single seed)
  variance  the gradient probe along training (/runs/<id>/variance/<label>): trace of the
            covariance and SNR of the per-example gradient, encoder and decoder, mean +- standard
            error across seeds, one line per group and probed estimator
  snr-k     SNR against K (Rainforth et al. 2018) from a basket of importance-weighted estimators
            probed at the same parameters (variance/<label> attribute `samples` is K): encoder
            (inference network) and decoder (generative network), one line per probe step, mean
            +- standard error across seeds, dashed reference slopes K^(-1/2) and K^(1/2)
"""
import argparse
import sys
import warnings
from collections import OrderedDict

import matplotlib

matplotlib.use("Agg")
import h5py  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Configuration keys that never name a group.
BOOKKEEPING = {"seed", "init-from", "init-run"}


def fail(message):
    print(f"plot_sweep.py: {message}", file=sys.stderr)
    sys.exit(2)


def save(fig, output):
    fig.tight_layout()
    fig.savefig(output, dpi=130)
    plt.close(fig)
    print(f"wrote {output}")


def parse_config(text):
    if isinstance(text, bytes):
        text = text.decode()
    config = OrderedDict()
    for line in str(text).splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            config[key.strip()] = value.strip()
    return config


def load_runs(path):
    """[(run_id, config dict, h5 group)] of every run; the file stays open (caller closes it)."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        fail(f"cannot read '{path}': {e}")
    if "runs" not in f or len(f["runs"]) == 0:
        fail(f"'{path}' has no /runs/<id> groups; is it a sweep.h5 or a `gradest train` output?")
    runs = []
    for run_id, group in f["runs"].items():
        if "config" not in group.attrs:
            fail(f"'{path}': /runs/{run_id} has no config attribute")
        runs.append((run_id, parse_config(group.attrs["config"]), group))
    return f, runs


def group_runs(runs, by):
    """OrderedDict label -> list of runs, grouped by the keys `by` (None: the varying keys)."""
    if by is None:
        keys = OrderedDict()
        for _, config, _ in runs:
            for k in config:
                keys.setdefault(k, set()).add(config[k])
        by = [k for k, values in keys.items() if len(values) > 1 and k not in BOOKKEEPING]
    for key in by:
        for run_id, config, _ in runs:
            if key not in config:
                known = ", ".join(k for k in config if k not in BOOKKEEPING)
                fail(f"--by: run {run_id} has no key '{key}'; allowed: {known}")
    groups = OrderedDict()
    for run in sorted(runs, key=lambda r: [r[1].get(k, "") for k in by] + [int(r[1].get("seed", 0))]):
        label = " ".join(f"{k}={run[1][k]}" for k in by) if by else "all runs"
        groups.setdefault(label, []).append(run)
    return groups


def mean_band(series):
    """Mean and standard error across runs of (steps, values) series, on the steps common to all."""
    steps = series[0][0]
    for s, _ in series[1:]:
        steps = np.intersect1d(steps, s)
    if len(steps) == 0:
        return None
    values = np.array([[v[np.searchsorted(s, t)] for t in steps] for s, v in series], dtype=float)
    mean = np.nanmean(values, axis=0)
    n = np.sum(np.isfinite(values), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # ddof=1 with one seed: no band
        se = np.where(n > 1, np.nanstd(values, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1)), np.nan)
    return steps, mean, se, int(values.shape[0])


def draw(ax, steps, mean, se, label, color, logy=False):
    ax.plot(steps, mean, color=color, label=label, marker="." if len(steps) < 30 else None)
    if np.any(np.isfinite(se)):
        lo, hi = mean - se, mean + se
        if logy:
            lo = np.where(lo > 0, lo, np.nan)
        ax.fill_between(steps, lo, hi, color=color, alpha=0.2, linewidth=0)


def plot_curves(args):
    f, runs = load_runs(args.input)
    groups = group_runs(runs, args.by)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = plt.cm.tab10.colors
    for i, (label, members) in enumerate(groups.items()):
        for ax, name in zip(axes, ["test_elbo", "test_iwae"]):
            series = [(np.asarray(g["trace/step"][:]), np.asarray(g[f"trace/{name}"][:]))
                      for _, _, g in members if f"trace/{name}" in g and len(g["trace/step"]) > 0]
            if not series:
                continue
            result = mean_band(series)
            if result is None:
                continue
            steps, mean, se, n = result
            draw(ax, steps, mean, se, f"{label} ({n} seeds)", colors[i % len(colors)])
    k = runs[0][1].get("iwae-samples", "K")
    for ax, title in zip(axes, ["test ELBO (nats)", f"test IWAE bound, K = {k} (nats)"]):
        ax.set_xlabel("training step")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{args.input}: mean +- standard error across seeds")
    f.close()
    save(fig, args.output)


def probe_series(members, label, name):
    return [(np.asarray(g[f"variance/{label}/step"][:]), np.asarray(g[f"variance/{label}/{name}"][:]))
            for _, _, g in members if f"variance/{label}/{name}" in g and len(g[f"variance/{label}/step"]) > 0]


def plot_variance(args):
    f, runs = load_runs(args.input)
    groups = group_runs(runs, args.by)
    if not any("variance" in g for _, _, g in runs):
        fail(f"'{args.input}' has no /runs/<id>/variance groups; train with --probe-every (probe-every in a sweep)")
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    colors = plt.cm.tab10.colors
    line = 0
    for label, members in groups.items():
        labels = sorted({lab for _, _, g in members if "variance" in g for lab in g["variance"]})
        for probe_label in labels:
            name = label if len(labels) == 1 else f"{label} probe {probe_label}"
            color = colors[line % len(colors)]
            line += 1
            for ax, quantity in zip(axes.flat, ["trace_encoder", "trace_decoder", "snr_encoder", "snr_decoder"]):
                series = probe_series(members, probe_label, quantity)
                result = mean_band(series) if series else None
                if result is None:
                    continue
                steps, mean, se, n = result
                draw(ax, steps, mean, se, f"{name} ({n})", color, logy=True)
    titles = {"trace_encoder": "encoder: trace of the gradient covariance", "trace_decoder": "decoder: trace of the gradient covariance",
              "snr_encoder": "encoder: SNR (mean |m_i| / sd_i)", "snr_decoder": "decoder: SNR (mean |m_i| / sd_i)"}
    for ax, quantity in zip(axes.flat, titles):
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(titles[quantity])
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"{args.input}: gradient probe (per-example gradient), mean +- standard error across seeds")
    f.close()
    save(fig, args.output)


def plot_snr_k(args):
    f, runs = load_runs(args.input)
    groups = group_runs(runs, args.by)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = plt.cm.viridis
    found = False
    rows = []  # (group, step, quantity, ks, mean, se, n) for --table
    for label, members in groups.items():
        # K -> probe label, from the attributes of variance/<label> (the same basket in every run).
        basket = {}
        for _, _, g in members:
            for probe_label, v in g.get("variance", {}).items():
                basket[int(v.attrs["samples"])] = probe_label
        if len(basket) < 2:
            continue
        ks = sorted(basket)
        probe_steps = sorted({int(t) for _, _, g in members for t in g[f"variance/{basket[ks[0]]}/step"][:]})
        if args.steps:
            probe_steps = [t for t in probe_steps if t in args.steps]
        for j, step in enumerate(probe_steps):
            color = colors(j / max(1, len(probe_steps) - 1) * 0.9)
            for ax, quantity in zip(axes, ["snr_encoder", "snr_decoder"]):
                per_seed = []
                for _, _, g in members:
                    row = []
                    for k in ks:
                        s = np.asarray(g[f"variance/{basket[k]}/step"][:])
                        v = np.asarray(g[f"variance/{basket[k]}/{quantity}"][:])
                        hit = np.flatnonzero(s == step)
                        row.append(v[hit[0]] if len(hit) else np.nan)
                    per_seed.append(row)
                values = np.array(per_seed, dtype=float)
                mean = np.nanmean(values, axis=0)
                n = values.shape[0]
                se = np.nanstd(values, axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
                name = f"step {step}" + ("" if len(groups) == 1 else f" {label}") + f" ({n} seeds)"
                ax.errorbar(ks, mean, yerr=se if n > 1 else None, color=color, marker="o", capsize=3, label=name)
                rows.append((label, step, quantity, ks, mean, se, n))
                found = True
    if not found:
        fail(f"'{args.input}' has no basket of >= 2 sample sizes under /runs/<id>/variance; probe e.g. "
             "probe-estimators = iwae:1,iwae:10,iwae:100")
    for ax, quantity, power, title in [(axes[0], "snr_encoder", -0.5, "inference network (encoder) SNR"),
                                       (axes[1], "snr_decoder", 0.5, "generative network (decoder) SNR")]:
        ax.set_xscale("log")
        ax.set_yscale("log")
        lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 0]
        if lines:
            x = np.asarray(lines[0].get_xdata(), dtype=float)
            y0 = float(np.asarray(lines[0].get_ydata(), dtype=float)[0])
            ax.plot(x, y0 * (x / x[0]) ** power, "k--", linewidth=1, label=f"K^{power:+.1f} reference")
        ax.set_xlabel("K (importance samples)")
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.suptitle(f"{args.input}: SNR of the IWAE gradient against K at fixed parameters")
    f.close()
    if args.table:
        ks = rows[0][3]
        lines = ["| group | step | SNR of | seeds | " + " | ".join(f"K = {k}" for k in ks) + " |",
                 "|---|---|---|---|" + "---|" * len(ks)]
        for label, step, quantity, row_ks, mean, se, n in sorted(rows, key=lambda r: (r[2], r[0], r[1])):
            cells = [f"{m:.3g} ± {e:.2g}" if np.isfinite(e) else f"{m:.3g}" for m, e in zip(mean, se)]
            lines.append(f"| {label} | {step} | {quantity.replace('snr_', '')} | {n} | " + " | ".join(cells) + " |")
        with open(args.table, "w") as out:
            out.write("\n".join(lines) + "\n")
        print(f"wrote {args.table}")
    save(fig, args.output)


FIGURES = {"curves": plot_curves, "variance": plot_variance, "snr-k": plot_snr_k}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("figure", help="one of: " + ", ".join(FIGURES))
    parser.add_argument("input", help="sweep.h5 (or any gradest file with /runs/<id> groups)")
    parser.add_argument("-o", "--output", required=True, help="output image (PNG, PDF or SVG)")
    parser.add_argument("--by", help="comma list of configuration keys that group runs (default: the keys that vary, except seed)")
    parser.add_argument("--steps", help="snr-k: comma list of probe steps to draw (default: all)")
    parser.add_argument("--table", help="snr-k: also write the plotted means +- standard errors as a markdown table")
    args = parser.parse_args(argv)
    if args.figure not in FIGURES:
        fail(f"unknown figure '{args.figure}'; allowed: {', '.join(FIGURES)}")
    args.by = [k.strip() for k in args.by.split(",") if k.strip()] if args.by else None
    try:
        args.steps = [int(s) for s in args.steps.split(",")] if args.steps else None
    except ValueError:
        fail(f"--steps '{args.steps}': write a comma list of integers")
    FIGURES[args.figure](args)


if __name__ == "__main__":
    main()
