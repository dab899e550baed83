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
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gradest_h5 import NOT_GROUPED, fail, group_runs, read_runs, save, write_text  # noqa: E402


def load_groups(args):
    """The runs of args.input grouped by args.by (None: the keys that vary, except seed)."""
    runs = read_runs(args.input)
    if not runs:
        fail(f"'{args.input}' has no /runs/<id> groups; is it a sweep.h5 or a `gradest train` output?")
    for run in runs:
        if "config" not in run.attrs:
            fail(f"'{args.input}': /runs/{run.id} has no config attribute")
    for key in args.by or []:
        for run in runs:
            if key not in run.config:
                known = ", ".join(k for k in run.config if k not in NOT_GROUPED)
                fail(f"--by: run {run.id} has no key '{key}'; allowed: {known}")
    return runs, group_runs(runs, args.by)


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


def palette(count):
    """Distinct colours for `count` lines: tab10 up to 10, tab20 up to 20 (then they repeat)."""
    return plt.cm.tab10.colors if count <= 10 else plt.cm.tab20.colors


def plot_curves(args):
    runs, groups = load_groups(args)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = palette(len(groups))
    for i, (label, members) in enumerate(groups.items()):
        for ax, name in zip(axes, ["test_elbo", "test_iwae"]):
            series = [(run.trace["step"], run.trace[name])
                      for run in members if name in run.trace and len(run.trace["step"]) > 0]
            if not series:
                continue
            result = mean_band(series)
            if result is None:
                continue
            steps, mean, se, n = result
            draw(ax, steps, mean, se, f"{label} ({n} seeds)", colors[i % len(colors)])
    k = runs[0].config.get("iwae-samples", "K")
    for ax, title in zip(axes, ["test ELBO (nats)", f"test IWAE bound, K = {k} (nats)"]):
        ax.set_xlabel("training step")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{args.input}: mean +- standard error across seeds")
    save(fig, args.output)


def probe_series(members, label, name):
    return [(run.probes[label]["step"], run.probes[label][name]) for run in members
            if name in run.probes.get(label, {}) and len(run.probes[label]["step"]) > 0]


def plot_variance(args):
    runs, groups = load_groups(args)
    if not any(run.probes for run in runs):
        fail(f"'{args.input}' has no /runs/<id>/variance groups; train with --probe-every (probe-every in a sweep)")
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    colors = palette(sum(len({lab for run in members for lab in run.probes}) for members in groups.values()))
    line = 0
    for label, members in groups.items():
        labels = sorted({lab for run in members for lab in run.probes})
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
    save(fig, args.output)


def plot_snr_k(args):
    _, groups = load_groups(args)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = plt.cm.viridis
    found = False
    rows = []  # (group, step, quantity, ks, mean, se, n) for --table
    for label, members in groups.items():
        # K -> probe label, from the attributes of variance/<label> (the same basket in every run).
        basket = {}
        for run in members:
            for probe_label, probe in run.probes.items():
                basket[int(probe.attrs["samples"])] = probe_label
        if len(basket) < 2:
            continue
        ks = sorted(basket)
        probe_steps = sorted({int(t) for run in members for t in run.probes[basket[ks[0]]]["step"]})
        if args.steps:
            probe_steps = [t for t in probe_steps if t in args.steps]
        for j, step in enumerate(probe_steps):
            color = colors(j / max(1, len(probe_steps) - 1) * 0.9)
            for ax, quantity in zip(axes, ["snr_encoder", "snr_decoder"]):
                per_seed = []
                for run in members:
                    row = []
                    for k in ks:
                        probe = run.probes[basket[k]]
                        hit = np.flatnonzero(probe["step"] == step)
                        row.append(probe[quantity][hit[0]] if len(hit) else np.nan)
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
    if args.table:
        ks = rows[0][3]
        lines = ["| group | step | SNR of | seeds | " + " | ".join(f"K = {k}" for k in ks) + " |",
                 "|---|---|---|---|" + "---|" * len(ks)]
        for label, step, quantity, row_ks, mean, se, n in sorted(rows, key=lambda r: (r[2], r[0], r[1])):
            cells = [f"{m:.3g} ± {e:.2g}" if np.isfinite(e) else f"{m:.3g}" for m, e in zip(mean, se)]
            lines.append(f"| {label} | {step} | {quantity.replace('snr_', '')} | {n} | " + " | ".join(cells) + " |")
        write_text(args.table, "\n".join(lines) + "\n")
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
