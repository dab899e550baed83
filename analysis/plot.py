#!/usr/bin/python3
"""gradest's figures from its HDF5 outputs (Debian python3 with h5py and matplotlib).

usage: plot.py FIGURE INPUT.h5 [INPUT.h5 ...] -o OUTPUT.png

Figures (subcommands):
  x2    variance against N (log-log) from `gradest x2`: empirical points with approximate 95%
        intervals, exact lines, score function and pathwise
  toy   variance against k from one or more `gradest toy` files (one column per file, i.e. per
        cost; rows mu and sigma): exact lines and empirical points per estimator, like
        Mohamed et al. (2020) figures 2-3

Adding a figure: write `def plot_NAME(inputs, output, args)` and add it to FIGURES.
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gradest_h5 import fail, read_tree, save  # noqa: E402


def variance_interval(variance, repeats):
    """Approximate 95% interval of a sample variance from `repeats` near-Gaussian values
    (chi-square with repeats-1 degrees of freedom, normal approximation)."""
    half = 1.96 * np.sqrt(2.0 / (repeats - 1))
    return variance * half


def plot_x2(inputs, output, args):
    """Variance of N-sample estimates against N on log-log axes."""
    if len(inputs) != 1:
        fail("x2 takes one input file")
    g = read_tree(inputs[0], "x2", "x2")
    phi, n, repeats = g["phi"], g["n"], int(g.attrs["repeats"])
    estimators = [("score_function", "score function", "C3"), ("pathwise", "pathwise", "C0")]
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    markers = ["o", "s", "^", "D", "v", "P"]
    for name, label, colour in estimators:
        variance, exact = g[name]["variance"], g[name]["exact_variance"]
        for p in range(len(phi)):
            suffix = f", φ = {phi[p]:g}" if len(phi) > 1 else ""
            ax.plot(n, exact[p], "-", color=colour, lw=1.2, alpha=0.8,
                    label=f"{label}, exact{suffix}")
            ax.errorbar(n, variance[p], yerr=variance_interval(variance[p], repeats), fmt=markers[p % len(markers)],
                        color=colour, ms=5, capsize=2, label=f"{label}, empirical{suffix}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (samples per estimate)")
    ax.set_ylabel("variance of the N-sample gradient estimate")
    title = "x² example: q = N(φ, 1), f(x) = x²"
    if len(phi) == 1:
        title += f", φ = {phi[0]:g}"
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.text(0.02, 0.02, f"{repeats} estimates per point; bars: approximate 95% interval",
            transform=ax.transAxes, fontsize=7, alpha=0.7)
    save(fig, output)


TOY_ESTIMATORS = [
    ("score_function", "score function", "C3"),
    ("score_function_mean_baseline", "score function, baseline E[f]", "C1"),
    ("score_function_optimal_baseline", "score function, optimal constant", "C2"),
    ("pathwise", "pathwise", "C0"),
    ("measure_valued", "measure-valued, coupled", "C4"),
    ("measure_valued_uncoupled", "measure-valued, uncoupled", "C5"),
]
TOY_COSTS = {"square": "(x − k)²", "exp": "exp(−k x²)", "cos": "cos(k x)"}


def plot_toy(inputs, output, args):
    """Single-sample variance against k, one column per cost, rows d/dmu and d/dsigma."""
    fig, axes = plt.subplots(2, len(inputs), figsize=(4.6 * len(inputs), 7.0), squeeze=False)
    for column, path in enumerate(inputs):
        g = read_tree(path, "toy", "toy")
        order = np.argsort(g["k"])
        k = g["k"][order]
        cost = str(g.attrs["cost"])
        mu, sigma = float(g.attrs["mu"]), float(g.attrs["sigma"])
        samples, repeats = int(g.attrs["samples"]), int(g.attrs["repeats"])
        for row, parameter in enumerate(["mu", "sigma"]):
            ax = axes[row][column]
            # Where f is constant (k = 0 for exp and cos) a baseline removes all variance and the
            # quadrature returns rounding noise; values below 1e-9 of the panel's largest are
            # treated as 0 and left off the log axis.
            present = [entry for entry in TOY_ESTIMATORS if entry[0] in g]  # files from before measure-valued
            largest = max(np.max(g[name][parameter]["exact_variance"]) for name, _, _ in present)
            floor = 1e-9 * largest
            for name, label, colour in present:
                exact = g[name][parameter]["exact_variance"][order]
                empirical = g[name][parameter]["variance"][order]
                positive = exact > floor
                ax.plot(k[positive], exact[positive], "-", color=colour, lw=1.4, label=f"{label} (exact)")
                positive = empirical > floor
                ax.plot(k[positive], empirical[positive], "o", color=colour, ms=2.5, alpha=0.7,
                        label=f"{label} (empirical)")
            ax.set_yscale("log")
            ax.set_xlabel("k")
            symbol = "μ" if parameter == "mu" else "σ"
            ax.set_ylabel(f"variance of the estimate of ∂/∂{symbol}")
            ax.set_title(f"f(x) = {TOY_COSTS.get(cost, cost)}, gradient w.r.t. {symbol}", fontsize=10)
            ax.grid(True, which="both", alpha=0.3)
        axes[1][column].text(0.02, 0.02, f"q = N({mu:g}, {sigma:g}²); {repeats} estimates of {samples} sample(s)",
                             transform=axes[1][column].transAxes, fontsize=7, alpha=0.7)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, bbox_to_anchor=(0.5, 0.0))
    save(fig, output, rect=(0, 0.07, 1, 1))


FIGURES = {
    "x2": plot_x2,
    "toy": plot_toy,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("figure", help="one of: " + ", ".join(FIGURES))
    parser.add_argument("inputs", nargs="+", help="HDF5 file(s) written by gradest")
    parser.add_argument("-o", "--output", required=True, help="output image (PNG, PDF or SVG)")
    args = parser.parse_args(argv)
    if args.figure not in FIGURES:
        fail(f"unknown figure '{args.figure}'; allowed: {', '.join(FIGURES)}")
    FIGURES[args.figure](args.inputs, args.output, args)


if __name__ == "__main__":
    main()
