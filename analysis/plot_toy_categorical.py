#!/usr/bin/python3
"""The categorical toy figure from `gradest toy-categorical` (Debian python3, h5py, matplotlib).

usage: plot_toy_categorical.py INPUT.h5 -o OUTPUT.png

One row per t. Left: each estimator's total gradient variance (the sum over the C logits of the
per-coordinate variances) at theta, log scale: empirical points with approximate 95% intervals
(1.96 sqrt(sum_c se_c^2) from the stored per-coordinate standard errors, covariances ignored), exact
values as bar outlines where the toy knows them; an estimator without spread (exact on this toy) is
marked 0 at the bottom. Right: the variance of
each coordinate c for the estimators with exact values (exact: lines; empirical: points).
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gradest_h5 import read_tree, save  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    g = read_tree(args.input, "toy_categorical", "toy-categorical")
    ts = g["t"]
    C = int(g.attrs["categories"])
    names = g.attrs["estimators"].split(",")
    fig, axes = plt.subplots(len(ts), 2, figsize=(11, 3.8 * len(ts)), squeeze=False)
    colors = [plt.get_cmap("tab20")(k) for k in range(0, 20, 2)] + [plt.get_cmap("tab20")(k) for k in range(1, 20, 2)]
    for i, t in enumerate(ts):
        ax, axc = axes[i]
        x = np.arange(len(names))
        for j, name in enumerate(names):
            e = g["estimators"][name]
            c = colors[j % len(colors)]
            total, exact = e["total_variance"][i], e["exact_total_variance"][i]
            half = 1.96 * np.sqrt(np.sum(e["variance_se"][i, :] ** 2))
            label = name if e.attrs["unbiased"] else name + " (biased)"
            if exact > 0:
                ax.bar(x[j], exact, color="none", edgecolor=c, linewidth=1.5)
            if total > 0:
                ax.errorbar(x[j], total, yerr=min(half, 0.99 * total), fmt="o", color=c, label=label)
            else:  # no spread: exact on this toy (indecater on one latent, exact, unordered-set with S = C)
                ax.annotate("0", (x[j], 0), xycoords=("data", "axes fraction"), xytext=(0, 4),
                            textcoords="offset points", ha="center", fontsize=8, color=c)
            ev = e["exact_variance"][i, :]
            if np.all(np.isfinite(ev)) and np.any(ev > 0):
                axc.plot(np.arange(C), ev, color=c, linewidth=1, label=name)
                axc.plot(np.arange(C), e["variance"][i, :], "o", color=c, markersize=3)
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("total variance (sum over logits)")
        ax.set_title(f"t = {t:g}, C = {C}: exact (bars), empirical (points)", fontsize=9)
        axc.set_yscale("log")
        axc.set_xlabel("logit c")
        axc.set_ylabel("variance of d/dtheta_c estimate")
        axc.set_title(f"t = {t:g}: per logit, exact (lines) and empirical (points)", fontsize=9)
        axc.legend(fontsize=6)
    save(fig, args.output)


if __name__ == "__main__":
    main()
