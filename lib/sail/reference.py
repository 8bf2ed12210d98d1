"""Compare a run's tables with the committed reference outputs (the pLUTo habit).

    python -m sail.reference compare results/full data/reference     # exit 1 on any mismatch
    python -m sail.reference snapshot results/full data/reference    # (re)write the reference

The reference directory mirrors a run: ``data/reference/<path>.csv`` is compared with
``results/<exp>/<path>.csv``, and ``data/reference/figures/<tab>.csv`` with the run's figure
directory (``figures/`` for ``full``, ``results/<exp>/figures`` otherwise; ``--figures`` overrides).
Tables over 1 MB are stored as ``<path>.csv.xz`` (deterministic, read directly by pandas).
The reference decides what is checked: a CSV of the run that the reference does not hold is
listed as unchecked, never silently passed.

Tolerances, per column (first matching rule wins; ``file`` and ``column`` are shell globs):

- configuration columns (bit widths, batch, shapes, threads ...) and, in modelled tables, integer,
  boolean and text columns are compared **exactly**, whatever the rules say;
- float columns within ``|run - ref| <= max(rel * |ref|, abs)``, with ``rel``/``abs`` from the
  first rule that matches; modelled numbers (the simulator, cost and claims stages are
  deterministic) get 1e-5, which covers the 6-significant-digit CSV format and nothing more;
- **measured** columns (a rule with ``measured: true``: timings, bandwidths, everything in the
  benchmark tables, whatever its type) are held to a loose tolerance and a difference is reported
  as ``DRIFT``, not as a failure: they are this machine's numbers, and a rerun elsewhere or under
  load differs. ``--strict`` turns drift into failure (same machine, quiet);
- **counts** (a rule with ``counts: true``: the activation-pattern tables of ``profile/``) compare
  integer columns with ``rel``/``abs`` too: they count events of float activations from a torch
  forward pass, whose BLAS reduction order differs between CPUs (1e-3).

A file ``tolerances.yaml`` in the reference directory (a list of ``{file, column, rel, abs,
measured, counts}``) replaces the defaults.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import lzma
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sail.io import load_yaml


@dataclass(frozen=True)
class Tolerance:
    file: str  # glob on the path relative to the reference directory, e.g. "kernels/*.csv"
    column: str  # glob on the column name, e.g. "*_s"
    rel: float
    abs: float = 1e-12
    measured: bool = False  # a difference is DRIFT (machine and load), not a failure
    counts: bool = False  # integer columns too are compared with rel/abs (counts of float-derived events)

    def __post_init__(self):
        if not (self.rel >= 0 and self.abs >= 0):
            raise ValueError(f"tolerances must be >= 0, got rel={self.rel!r} abs={self.abs!r}")


# Modelled numbers: 1e-5 covers the %.6g float format of sail.io.write_table and nothing more.
MODELLED_REL = 1e-5
# Measured numbers (kernel latency, tokens/s of a real forward pass, bandwidth): a rerun on other
# hardware or under load differs; 50 % says "same regime", not "same machine".
MEASURED_REL = 0.5
PROFILE_REL = 1e-3
# Columns that say which configuration a row is: a difference means a different experiment.
CONFIG_COLUMNS = ("kernel", "impl", "shape", "m", "k", "w_bits", "a_bits", "n_bw", "batch", "threads",
                  "group_size", "context", "model", "layer", "layer_type", "method", "system", "hw")
# Tables that are measurements through and through (every non-configuration column, integers such
# as the number of weight copies rotated through the cache included, depends on the machine).
MEASURED_FILES = ("kernels/bench.csv", "kernels/machine.csv", "kernels/decode_breakdown.csv",
                  "kernels/compute_ceiling.csv", "profile/timing.csv", "quant/ppl_timing.csv",
                  "sim/benchmark.csv", "sim/cpu_calibration*.csv", "kernels/stability.csv",
                  "kernels/generate.csv", "validate/*.csv")
MEASURED_COLUMNS = ("*_s", "*_ns", "*_us", "*_ms", "*tokens_per_s*", "*gbps*", "*gops*", "*roofline*",
                    "*seconds*")
DEFAULT_TOLERANCES: list[Tolerance] = [
    *(Tolerance("*", col, 0.0, 0.0) for col in CONFIG_COLUMNS),
    *(Tolerance(f, "*", MEASURED_REL, measured=True) for f in MEASURED_FILES),
    # Activation-pattern counts: activations come from a torch forward pass, whose BLAS reduction
    # order differs between CPUs, so a few of ~10^7 quantised values land in the next bin (measured
    # between an AMD EPYC and an Intel Xeon: counts 1-10 apart, fractions 4e-5 apart).
    Tolerance("profile/*", "*", PROFILE_REL, counts=True),
    # The event simulator's own run time (wall clock, time.perf_counter) sits in the cross-check table.
    Tolerance("sim/crosscheck.csv", "event_seconds", MEASURED_REL, measured=True),
    Tolerance("sim/crosscheck.csv", "*", PROFILE_REL, counts=True),  # runs on captured activations too
    # The simulator's seconds and tokens/s are modelled: before the measured-name rules.
    *(Tolerance(f"{stage}/*", "*", MODELLED_REL) for stage in ("sim", "cost", "claims")),
    *(Tolerance("*", pat, MEASURED_REL, measured=True) for pat in MEASURED_COLUMNS),
    # Perplexity through torch: BLAS reduction order differs between CPUs.
    *(Tolerance("*", pat, 1e-3) for pat in ("*ppl*", "*perplexity*", "*nll*", "*loss*")),
    Tolerance("*", "*", MODELLED_REL),
]


def load_tolerances(ref_dir: Path) -> list[Tolerance]:
    path = ref_dir / "tolerances.yaml"
    if not path.exists():
        return DEFAULT_TOLERANCES
    rules = load_yaml(path.read_text())
    if not isinstance(rules, list) or not rules:
        raise ValueError(f"{path}: expected a non-empty list of {{file, column, rel, abs}}")
    return [Tolerance(**r) for r in rules]


def tolerance_for(rel_path: str, column: str, rules: list[Tolerance]) -> Tolerance:
    for rule in rules:
        if fnmatch.fnmatchcase(rel_path, rule.file) and fnmatch.fnmatchcase(column, rule.column):
            return rule
    raise ValueError(f"no tolerance rule matches {rel_path}:{column}")


@dataclass
class FileVerdict:
    rel_path: str
    status: str  # "ok", "drift" (measured values only), "mismatch", "missing" (in the run),
    # "unchecked" (not in the reference)
    problems: list[str]

    def line(self) -> str:
        head = f"{self.status.upper():9s} {self.rel_path}"
        return "\n".join([head, *(f"          - {p}" for p in self.problems)])


def _is_float(s: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(s)


def compare_frames(ref: pd.DataFrame, run: pd.DataFrame, rel_path: str, rules: list[Tolerance],
                   max_problems: int = 5) -> tuple[list[str], list[str]]:
    """Differences between two tables as readable sentences: ``(problems, drift)``.

    ``problems`` are failures (a different experiment or a modelled number that moved);
    ``drift`` are measured values outside their tolerance (a different machine or load).
    Both are empty if the tables agree.
    """
    if list(ref.columns) != list(run.columns):
        return [f"columns differ: reference {list(ref.columns)}, run {list(run.columns)}"], []
    if len(ref) != len(run):
        return [f"row count differs: reference {len(ref)}, run {len(run)}"], []
    problems, drift = [], []
    for col in ref.columns:
        a, b = ref[col], run[col]
        tol = tolerance_for(rel_path, col, rules)
        out = drift if tol.measured else problems
        numeric = pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)
        if (_is_float(a) or _is_float(b)) and not numeric:
            problems.append(f"{col}: numeric in one table, text in the other")
            continue
        if numeric and (_is_float(a) or _is_float(b) or tol.measured or tol.counts):
            x, y = a.to_numpy(float), b.to_numpy(float)
            both_nan = np.isnan(x) & np.isnan(y)
            bound = np.maximum(tol.rel * np.abs(x), tol.abs)
            bad = ~both_nan & ~(np.abs(y - x) <= bound)
            for i in np.flatnonzero(bad)[:max_problems]:
                out.append(f"{col}[row {i}]: reference {x[i]:.6g}, run {y[i]:.6g} "
                           f"(allowed rel {tol.rel:g}, abs {tol.abs:g})")
        else:
            # integers, booleans and text: exact, compared as written in the CSV
            x, y = (c.astype(object).where(c.notna(), "<missing>").astype(str).to_numpy() for c in (a, b))
            bad = x != y
            for i in np.flatnonzero(bad)[:max_problems]:
                out.append(f"{col}[row {i}]: reference {x[i]!r}, run {y[i]!r} (exact)")
        if bad.sum() > max_problems:
            out.append(f"{col}: {int(bad.sum()) - max_problems} more rows differ")
    return problems, drift


def _flatten_json(obj, prefix: str = "") -> dict:
    """``{"a": {"b": [1, 2]}}`` -> ``{"a.b[0]": 1, "a.b[1]": 2}``."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out |= _flatten_json(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out |= _flatten_json(v, f"{prefix}[{i}]")
        return out
    return {prefix: obj}


def compare_json(ref, run, rel_path: str, rules: list[Tolerance], max_problems: int = 5) -> tuple[list[str], list[str]]:
    """Differences between two JSON results (perplexity rows, the model card, the LUT example): keys
    must match; numbers follow the tolerance rule of their key's last name (``ppl``, ``eval_s``), other
    values must be equal. Returns ``(problems, drift)`` like :func:`compare_frames`."""
    a, b = _flatten_json(ref), _flatten_json(run)
    if set(a) != set(b):
        only_ref, only_run = sorted(set(a) - set(b)), sorted(set(b) - set(a))
        return [f"keys differ: only in reference {only_ref[:max_problems]}, only in run {only_run[:max_problems]}"], []
    problems, drift = [], []
    for key in sorted(a):
        x, y = a[key], b[key]
        leaf = key.rsplit(".", 1)[-1].split("[", 1)[0]
        tol = tolerance_for(rel_path, leaf, rules)
        out = drift if tol.measured else problems
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y))
        if numbers and (isinstance(x, float) or isinstance(y, float) or tol.measured):
            fx, fy = float(x), float(y)
            if not (np.isnan(fx) and np.isnan(fy)) and not abs(fy - fx) <= max(tol.rel * abs(fx), tol.abs):
                out.append(f"{key}: reference {fx:.6g}, run {fy:.6g} (allowed rel {tol.rel:g}, abs {tol.abs:g})")
        elif x != y:
            problems.append(f"{key}: reference {x!r}, run {y!r} (exact)")
    return problems[: max_problems + 1], drift[: max_problems + 1]


def _read_result(path: Path):
    """A CSV (pandas) or JSON result; ValueError naming the file if it is empty or unreadable."""
    try:
        if path.name.endswith(".json"):
            return json.loads(path.read_text())
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, json.JSONDecodeError, lzma.LZMAError, EOFError) as err:
        raise ValueError(f"{path} is not readable: {type(err).__name__}: {err}") from None


# Tables larger than this are stored xz-compressed (the 362 880-row sensitivity grid: 30 MB -> 1.2 MB).
COMPRESS_ABOVE_BYTES = 1_000_000
# CSV tables and the JSON results figures and tables read (perplexity rows, model card, LUT example).
REF_SUFFIXES = (".csv", ".csv.xz", ".json")


def _table_name(rel: Path) -> str:
    """``sim/x.csv.xz`` -> ``sim/x.csv``: the run's table a stored reference file stands for."""
    s = rel.as_posix()
    return s[: -len(".xz")] if s.endswith(".csv.xz") else s


def _run_path(rel: Path, run_dir: Path, figures_dir: Path) -> Path:
    if rel.parts[0] == "figures":
        return figures_dir.joinpath(*rel.parts[1:])
    return run_dir / rel


def default_figures_dir(run_dir: Path) -> Path:
    """``figures/`` for the full run (``results/full``), ``<run>/figures`` otherwise."""
    inside = run_dir / "figures"
    if inside.exists() or run_dir.name != "full":
        return inside
    return run_dir.parent.parent / "figures"


def _run_csvs(run_dir: Path, figures_dir: Path) -> set[str]:
    """The run's CSV tables and JSON results (relative names), figure tables as ``figures/<name>``."""
    found = {str(p.relative_to(run_dir)) for pattern in ("*.csv", "*.json") for p in run_dir.rglob(pattern)
             if "figures" not in p.relative_to(run_dir).parts}
    if figures_dir.exists():
        found |= {f"figures/{p.name}" for p in figures_dir.glob("*.csv")}
    return found


def compare_dirs(run_dir, ref_dir, figures_dir=None) -> list[FileVerdict]:
    """One verdict per reference CSV (ok / drift / mismatch / missing) plus the run's unchecked CSVs."""
    run_dir, ref_dir = Path(run_dir), Path(ref_dir)
    figures_dir = Path(figures_dir) if figures_dir else default_figures_dir(run_dir)
    if not ref_dir.is_dir():
        raise ValueError(f"reference directory {ref_dir} does not exist")
    rules = load_tolerances(ref_dir)
    stored = {_table_name(p.relative_to(ref_dir)): p for p in ref_dir.rglob("*") if p.name.endswith(REF_SUFFIXES)}
    if not stored:
        raise ValueError(f"reference directory {ref_dir} holds no CSV or JSON result")
    verdicts = []
    for name in sorted(stored):
        target = _run_path(Path(name), run_dir, figures_dir)
        if not target.exists():
            verdicts.append(FileVerdict(name, "missing", [f"{target} not found"]))
            continue
        try:
            ref, run = _read_result(stored[name]), _read_result(target)
        except ValueError as err:  # one unreadable file is a mismatch of that file, not of the comparison
            verdicts.append(FileVerdict(name, "mismatch", [str(err)]))
            continue
        compare = compare_json if name.endswith(".json") else compare_frames
        problems, drift = compare(ref, run, name, rules)
        status = "mismatch" if problems else "drift" if drift else "ok"
        verdicts.append(FileVerdict(name, status, problems + [f"(measured) {d}" for d in drift]))
    for extra in sorted(_run_csvs(run_dir, figures_dir) - set(stored)):
        verdicts.append(FileVerdict(extra, "unchecked", ["not in the reference"]))
    return verdicts


def snapshot(run_dir, ref_dir, figures_dir=None) -> list[str]:
    """Copy every CSV of a run (and its figure tables) into ``ref_dir``, xz-compressing tables over
    :data:`COMPRESS_ABOVE_BYTES`; returns the stored paths relative to ``ref_dir``."""
    run_dir, ref_dir = Path(run_dir), Path(ref_dir)
    figures_dir = Path(figures_dir) if figures_dir else default_figures_dir(run_dir)
    copied = []
    for rel in sorted(_run_csvs(run_dir, figures_dir)):
        src = _run_path(Path(rel), run_dir, figures_dir)
        dst = ref_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        for old in (dst, dst.with_name(dst.name + ".xz")):  # a table may change side of the threshold
            old.unlink(missing_ok=True)
        if src.stat().st_size > COMPRESS_ABOVE_BYTES:
            dst = dst.with_name(dst.name + ".xz")
            # xz is deterministic (same table, same bytes) and pandas reads it directly
            dst.write_bytes(lzma.compress(src.read_bytes(), preset=9))
        else:
            shutil.copyfile(src, dst)
        copied.append(str(dst.relative_to(ref_dir)))
    return copied


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sail.reference", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name, text in (("compare", "compare a run's tables with the reference; exit 1 on a mismatch"),
                       ("snapshot", "copy a run's tables into the reference directory")):
        p = sub.add_parser(name, help=text)
        p.add_argument("run_dir", type=Path, help="e.g. results/full")
        p.add_argument("ref_dir", type=Path, help="e.g. data/reference")
        p.add_argument("--figures", type=Path, default=None,
                       help="the run's figure directory (default: figures/ for results/full, else <run>/figures)")
        if name == "compare":
            p.add_argument("--strict", action="store_true",
                           help="measured values outside their tolerance fail too (same machine, quiet)")
    args = ap.parse_args(argv)
    if args.command == "snapshot":
        for rel in snapshot(args.run_dir, args.ref_dir, args.figures):
            print(f"copied {rel}")
        return 0
    try:
        verdicts = compare_dirs(args.run_dir, args.ref_dir, args.figures)
    except ValueError as err:  # no reference yet, unreadable tolerances: say so, no traceback
        print(f"cannot compare: {err}", file=sys.stderr)
        return 2
    for v in verdicts:
        print(v.line())
    counts = {s: sum(v.status == s for v in verdicts) for s in ("ok", "drift", "mismatch", "missing", "unchecked")}
    failed = counts["mismatch"] + counts["missing"] + (counts["drift"] if args.strict else 0)
    print(f"\n{'REPRODUCED' if not failed else 'NOT REPRODUCED'}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if counts["drift"] and not args.strict:
        print(f"DRIFT: measured values of {counts['drift']} table(s) lie outside {MEASURED_REL:.0%}; this is "
              "expected on another machine or under load, and does not fail the check (--strict makes it fail)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
