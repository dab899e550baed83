#!/usr/bin/python3
"""The REBAR/RELAX Bernoulli toy figure from `gradest toy-bernoulli` (Debian python3, h5py, matplotlib).

usage: plot_toy_bernoulli.py INPUT.h5 -o OUTPUT.png

One row per t. Left: each estimator's gradient variance at theta (empirical points with approximate
95% intervals, exact values as bars' outlines), log scale. With --train in the input, middle: the
loss E[(b - t)^2] against step; right: the log10 variance of the gradient estimate against step
(empirical solid, exact dashed where known), as in Tucker et al. (2017) and Grathwohl et al. (2018).
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
    g = read_tree(args.input, "toy_bernoulli", "toy-bernoulli")
    ts = g["t"]
    repeats = int(g.attrs["repeats"])
    theta = float(g.attrs["theta"])
    names = [n for n in g.attrs["estimators"].split(",")]
    train = "train" in g
    cols = 3 if train else 1
    fig, axes = plt.subplots(len(ts), cols, figsize=(5.2 * cols, 3.6 * len(ts)), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    half = 1.96 * np.sqrt(2.0 / (repeats - 1))
    for i, t in enumerate(ts):
        ax = axes[i][0]
        x = np.arange(len(names))
        for j, name in enumerate(names):
            e = g["estimators"][name]
            var, exact = e["variance"][i], e["exact_variance"][i]
            label = name if e.attrs["unbiased"] else name + " (biased)"
            c = colors[j % len(colors)]
            if exact > 0:
                ax.bar(x[j], exact, color="none", edgecolor=c, linewidth=1.5)
            if var > 0:
                ax.errorbar(x[j], var, yerr=var * half, fmt="o", color=c, label=label)
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("variance of d/dtheta estimate")
        ax.set_title(f"t = {t:g}, theta = {theta:g}: exact (bars), empirical (points)", fontsize=9)
        if train:
            tr = g["train"]
            steps = tr["step"]
            lossmin = min((1 - t) ** 2, t ** 2)
            for j, name in enumerate(names):
                c = colors[j % len(colors)]
                d = tr[name]
                axes[i][1].plot(steps, d["loss"][i, :] - lossmin, color=c, label=name)
                v = d["variance"][i, :]
                axes[i][2].plot(steps, np.log10(np.where(v > 0, v, np.nan)), color=c, label=name)
                ev = d["exact_variance"][i, :]
                if np.any(ev > 0):
                    axes[i][2].plot(steps, np.log10(np.where(ev > 0, ev, np.nan)), color=c, linestyle="--", linewidth=0.8)
            axes[i][1].set_yscale("log")
            axes[i][1].set_xlabel("step")
            axes[i][1].set_ylabel("E[f] - min E[f]")
            axes[i][1].set_title(f"t = {t:g}: training loss (Adam)", fontsize=9)
            axes[i][2].set_xlabel("step")
            axes[i][2].set_ylabel("log10 variance")
            axes[i][2].set_title(f"t = {t:g}: gradient variance (dashed: exact)", fontsize=9)
            axes[i][2].legend(fontsize=6)
    save(fig, args.output)


if __name__ == "__main__":
    main()
