"""Reading gradest's HDF5 files into plain records and numpy arrays, and the helpers the plotting
scripts share (fail, save, write_text). Debian python3 with h5py and numpy; matplotlib only in save.

The schema it reads (README "HDF5 schema", schema_version 1):

  /                       attributes gradest_version, git_commit, schema_version (1), command_line,
                          seed, config, date_utc; a file without schema_version is not gradest's
  /x2, /toy, /toy_bernoulli, /sample, /reconstruct
                          one group per command: datasets and attributes, read whole by read_tree
  /runs/<run-id>/         one group per training run (`gradest train` writes one, `gradest sweep`
                          writes DIR/runs/<id>.h5 and DIR/sweep.h5 with all of them)
      attributes          every configuration key (with _ for -), run_id, status, seconds,
                          final_*, ... and `config`: the configuration as "key = value" lines
      trace/<column>      float64 [evaluations]: step, train_elbo, test_elbo, test_iwae, kl, ...
      variance/<label>/   the gradient probe, one row per probe: step, trace_encoder, snr_encoder,
                          ...; attributes estimator, samples, draws, batch, ...
      params/, truth/     the parameters (not read here)

Runs are grouped as `gradest summarize` groups them (summary.cpp and cmd_summarize.cpp): by the
given configuration keys, or by default by every key of the first run's configuration whose value
is not the same in every run, except seed; keys in sorted order, groups in sorted order of their
values.
"""
import os
import sys
from collections import OrderedDict

import h5py

SCHEMA_VERSION = 1
# Configuration keys that never define a group by default (summary.cpp: runs of a group differ by seed).
NOT_GROUPED = {"seed"}


def fail(message):
    """Prints "SCRIPT.py: message" on stderr (one line) and exits with status 2."""
    print(f"{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(2)


def text(value):
    """An HDF5 attribute as Python would print it: bytes decoded, anything else as is."""
    return value.decode() if isinstance(value, bytes) else value


def open_file(path):
    """The gradest file at path, open read-only; fail() when it is unreadable or not gradest's."""
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        fail(f"cannot read '{path}': {e}")
    if "schema_version" not in f.attrs or "gradest_version" not in f.attrs:
        f.close()
        fail(f"'{path}' is not a gradest file (no schema_version attribute)")
    version = int(f.attrs["schema_version"])
    if version != SCHEMA_VERSION:
        f.close()
        fail(f"'{path}' has schema version {version}; these scripts read version {SCHEMA_VERSION}")
    return f


class Tree(dict):
    """An HDF5 group read whole: datasets as numpy arrays, subgroups as Trees; `attrs` its attributes."""

    def __init__(self, group):
        super().__init__((name, Tree(item) if isinstance(item, h5py.Group) else item[()])
                         for name, item in group.items())
        self.attrs = {name: text(value) for name, value in group.attrs.items()}


def read_tree(path, group, command):
    """/group of the gradest file at path as a Tree; fail() when the file has no such group."""
    with open_file(path) as f:
        if group not in f:
            fail(f"'{path}' has no /{group} group; is it the output of `gradest {command}`?")
        return Tree(f[group])


def parse_config(lines):
    """OrderedDict of the "key = value" lines of a `config` attribute, in their order."""
    config = OrderedDict()
    for line in str(text(lines)).splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            config[key.strip()] = value.strip()
    return config


class Run:
    """One /runs/<id> group: id; attrs (its attributes, `config` among them as text); config (the
    parsed `config` lines, empty without them); trace (column -> array, empty without a trace);
    probes (label -> Tree of the variance/<label> columns and attrs, empty without a probe)."""

    def __init__(self, run_id, group):
        self.id = run_id
        self.attrs = {name: text(value) for name, value in group.attrs.items()}
        self.config = parse_config(self.attrs.get("config", ""))
        self.trace = dict(Tree(group["trace"])) if "trace" in group else {}
        self.probes = OrderedDict(Tree(group["variance"])) if "variance" in group else OrderedDict()

    def __repr__(self):
        return f"Run({self.id!r})"


def read_runs(path):
    """Every /runs/<id> of the gradest file at path, in the file's (name) order; [] without /runs."""
    with open_file(path) as f:
        return [Run(run_id, group) for run_id, group in f["runs"].items()] if "runs" in f else []


def varying_keys(runs):
    """summarize's default grouping keys: the first run's configuration keys (sorted) whose value
    differs in, or is missing from, some other run, except NOT_GROUPED."""
    first = runs[0].config
    return [key for key in sorted(first) if key not in NOT_GROUPED
            and any(run.config.get(key) != first[key] for run in runs)]


def group_runs(runs, by=None):
    """OrderedDict "k1=v1 k2=v2" -> [Run] by the configuration keys `by` (None: varying_keys),
    "all runs" when there are none; groups in sorted order of their values (a missing key reads
    "-"), the runs of a group by seed."""
    by = varying_keys(runs) if by is None else by

    def values(run):
        return [run.config.get(key, "-") for key in by]

    groups = OrderedDict()
    for run in sorted(runs, key=lambda r: (values(r), int(r.config.get("seed", 0)))):
        label = " ".join(f"{k}={v}" for k, v in zip(by, values(run))) if by else "all runs"
        groups.setdefault(label, []).append(run)
    return groups


def _replace(path, write):
    """Calls write(PATH.partial-<pid>) and renames that file to path, as gradest writes its files:
    path is never half-written, and a failed write removes the partial file."""
    directory, name = os.path.split(os.path.abspath(path))
    partial = os.path.join(directory, f"{name}.partial-{os.getpid()}")
    try:
        write(partial)
        os.replace(partial, path)
    except OSError as e:
        fail(f"cannot write '{path}': {e.strerror or e}")
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    print(f"wrote {path}")


def save(fig, output, dpi=130, rect=None):
    """Lays the figure out (tight_layout within rect), writes it to output without leaving a
    partial file (format from the extension; without one, matplotlib's default format, its
    extension appended as savefig does), closes it and prints "wrote OUTPUT"."""
    import matplotlib
    import matplotlib.pyplot as plt

    fig.tight_layout(rect=rect)
    extension = os.path.splitext(output)[1][1:]
    if not extension:
        extension = matplotlib.rcParams["savefig.format"]
        output = f"{output}.{extension}"
    _replace(output, lambda partial: fig.savefig(partial, dpi=dpi, format=extension))
    plt.close(fig)


def write_text(path, content):
    """Writes content to path without leaving a partial file and prints "wrote PATH"."""
    def write(partial):
        with open(partial, "w") as out:
            out.write(content)
    _replace(path, write)
