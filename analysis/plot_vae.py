#!/usr/bin/python3
"""Figures of trained VAEs (gradest train / sample / reconstruct outputs).

  plot_vae.py curves RUN.h5 [RUN2.h5 ...] -o curves.png   ELBO / IWAE bound against step, KL and active units
  plot_vae.py grid FILE.h5 -o grid.png                    image grid of /sample or /reconstruct

Run with Debian's /usr/bin/python3 (h5py, matplotlib, numpy).
"""
import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gradest_h5 import Tree, fail, open_file, read_runs, save  # noqa: E402


def runs_of(path):
    runs = read_runs(path)
    if not runs:
        fail(f"'{path}' has no /runs group (not a gradest train file)")
    return [run for run in runs if run.trace]


def label_of(attrs, run_id):
    return f"{attrs.get('model', '?')} {attrs.get('estimator', '?')} S={attrs.get('samples', '?')} ({run_id[:6]})"


def curves(args):
    fig, (ax_bound, ax_kl) = plt.subplots(1, 2, figsize=(12, 4.5))
    for path in args.files:
        for run in runs_of(path):
            trace, attrs = run.trace, run.attrs
            label = label_of(attrs, run.id)
            line, = ax_bound.plot(trace["step"], trace["test_elbo"], label=f"{label} test ELBO")
            ax_bound.plot(trace["step"], trace["test_iwae"], "--", color=line.get_color(),
                          label=f"IWAE K={attrs.get('iwae_samples', '?')}")
            ax_bound.plot(trace["step"], trace["train_elbo"], ":", color=line.get_color(), label="train ELBO")
            ax_kl.plot(trace["step"], trace["kl"], color=line.get_color(), label=f"{label} KL")
            ax_units = ax_kl.twinx() if not hasattr(ax_kl, "_units") else ax_kl._units
            ax_kl._units = ax_units
            ax_units.plot(trace["step"], trace["active_units"], "-.", color=line.get_color(), alpha=0.6)
            ax_units.set_ylabel("active units (-.)")
            truth = attrs.get("true_log_likelihood_test")
            if truth is not None and np.isfinite(truth):
                ax_bound.axhline(truth, color="k", lw=0.8, label="true model log-likelihood")
    finite = [l for l in ax_bound.get_lines() if np.isfinite(np.asarray(l.get_ydata(), dtype=float)).any()]
    if finite:
        ys = np.concatenate([np.asarray(l.get_ydata(), dtype=float) for l in finite])
        ys = ys[np.isfinite(ys)]
        lo, hi = np.percentile(ys, 5), ys.max()
        ax_bound.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    ax_bound.set_xlabel("step")
    ax_bound.set_ylabel("nats per example")
    ax_bound.set_title("bounds on log p(x) (test set; train ELBO dotted)")
    ax_bound.legend(fontsize=7)
    ax_kl.set_xlabel("step")
    ax_kl.set_ylabel("KL(q || p), nats per example")
    ax_kl.set_title("KL and active units (collapse monitor)")
    ax_kl.legend(fontsize=7, loc="upper left")
    save(fig, args.output, dpi=120)


def tile(images, shape, columns):
    n = images.shape[0]
    rows = (n + columns - 1) // columns
    h, w = shape
    canvas = np.ones((rows * (h + 1) + 1, columns * (w + 1) + 1))
    for i in range(n):
        r, c = divmod(i, columns)
        canvas[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = images[i].reshape(h, w)
    return canvas


def grid(args):
    with open_file(args.file) as f:
        if "sample" in f:
            group, panels = Tree(f["sample"]), [("mean", "decoder mean p(x|z), z ~ p(z)"), ("x", "x ~ p(x|z)")]
        elif "reconstruct" in f:
            group, panels = Tree(f["reconstruct"]), [("input", "input x"), ("mean", "reconstruction E[x|z], z ~ q(z|x)")]
        else:
            fail(f"'{args.file}' has neither /sample nor /reconstruct")
    shape_attr = group.attrs.get("image_shape")
    if shape_attr is None:
        fail("the data are not images (no image_shape attribute)")
    shape = tuple(int(s) for s in shape_attr.split(","))
    data = {name: np.clip(group[name][: args.count], 0, 1) for name, _ in panels}
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 6))
    for ax, (name, title) in zip(np.atleast_1d(axes), panels):
        ax.imshow(tile(data[name], shape, args.columns), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title)
        ax.axis("off")
    save(fig, args.output, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("curves", help="bounds, KL and active units against step")
    p.add_argument("files", nargs="+")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(run=curves)
    p = sub.add_parser("grid", help="image grid of gradest sample / reconstruct output")
    p.add_argument("file")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--count", type=int, default=64)
    p.add_argument("--columns", type=int, default=8)
    p.set_defaults(run=grid)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
