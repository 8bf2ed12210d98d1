"""Compare a run's tables with the committed reference outputs (the pLUTo habit).

    python -m sail.reference compare results/full data/reference     # exit 1 on any mismatch
    python -m sail.reference snapshot results/full data/reference    # (re)write the reference

The reference directory mirrors a run: ``data/reference/<path>.csv`` is compared with
``results/<exp>/<path>.csv``, and ``data/reference/figures/<tab>.csv`` with the run's figure
directory (``figures/`` for ``full``, ``results/<exp>/figures`` otherwise; ``--figures`` overrides).
The reference decides what is checked: a CSV of the run that the reference does not hold is
listed as unchecked, never silently passed.

Tolerances, per column (first matching rule wins; ``file`` and ``column`` are shell globs):

- integer, boolean and text columns are compared **exactly**, whatever the rules say;
- float columns within ``|run - ref| <= max(rel * |ref|, abs)``, with ``rel``/``abs`` from the
  first rule that matches; the defaults (:data:`DEFAULT_TOLERANCES`) are tight for modelled numbers
  (the simulator and cost stages are deterministic; only the 6-significant-digit CSV format is
  allowed for) and loose for measured timings, which change with the machine and its load.

A file ``tolerances.yaml`` in the reference directory (a list of ``{file, column, rel, abs}``)
replaces the defaults.
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml


@dataclass(frozen=True)
class Tolerance:
    file: str  # glob on the path relative to the reference directory, e.g. "kernels/*.csv"
    column: str  # glob on the column name, e.g. "*_s"
    rel: float
    abs: float = 1e-12

    def __post_init__(self):
        if not (self.rel >= 0 and self.abs >= 0):
            raise ValueError(f"tolerances must be >= 0, got rel={self.rel!r} abs={self.abs!r}")


# Modelled numbers: 1e-5 covers the %.6g float format of sail.io.write_table and nothing more.
MODELLED_REL = 1e-5
# Measured timings (kernel latency, tokens/s of a real forward pass, bandwidth): a rerun on other
# hardware or under load differs; 50 % says "same regime", not "same machine".
MEASURED_REL = 0.5
DEFAULT_TOLERANCES: list[Tolerance] = [
    *(Tolerance(f"{stage}/*", "*", MODELLED_REL) for stage in ("sim", "cost", "claims")),
    *(Tolerance("*", pat, MEASURED_REL) for pat in ("*_s", "*_ns", "*_us", "*_ms", "*tokens_per_s*", "*gbps*",
                                                      "*roofline*", "*seconds*")),
    # Perplexity through torch: BLAS reduction order differs between CPUs.
    *(Tolerance("*", pat, 1e-3) for pat in ("*ppl*", "*perplexity*", "*nll*", "*loss*")),
    Tolerance("*", "*", MODELLED_REL),
]


def load_tolerances(ref_dir: Path) -> list[Tolerance]:
    path = ref_dir / "tolerances.yaml"
    if not path.exists():
        return DEFAULT_TOLERANCES
    rules = yaml.safe_load(path.read_text())
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
    status: str  # "ok", "mismatch", "missing" (in the run), "unchecked" (not in the reference)
    problems: list[str]

    def line(self) -> str:
        head = f"{self.status.upper():9s} {self.rel_path}"
        return "\n".join([head, *(f"          - {p}" for p in self.problems)])


def _is_float(s: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(s)


def compare_frames(ref: pd.DataFrame, run: pd.DataFrame, rel_path: str, rules: list[Tolerance],
                   max_problems: int = 5) -> list[str]:
    """Differences between two tables, each a readable sentence; empty if they agree."""
    if list(ref.columns) != list(run.columns):
        return [f"columns differ: reference {list(ref.columns)}, run {list(run.columns)}"]
    if len(ref) != len(run):
        return [f"row count differs: reference {len(ref)}, run {len(run)}"]
    problems = []
    for col in ref.columns:
        a, b = ref[col], run[col]
        if _is_float(a) or _is_float(b):
            if not (pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b)):
                problems.append(f"{col}: numeric in one table, text in the other")
                continue
            tol = tolerance_for(rel_path, col, rules)
            x, y = a.to_numpy(float), b.to_numpy(float)
            both_nan = np.isnan(x) & np.isnan(y)
            bound = np.maximum(tol.rel * np.abs(x), tol.abs)
            bad = ~both_nan & ~(np.abs(y - x) <= bound)
            for i in np.flatnonzero(bad)[:max_problems]:
                problems.append(f"{col}[row {i}]: reference {x[i]:.6g}, run {y[i]:.6g} "
                                f"(allowed rel {tol.rel:g}, abs {tol.abs:g})")
            if bad.sum() > max_problems:
                problems.append(f"{col}: {int(bad.sum()) - max_problems} more rows differ")
        else:
            # integers, booleans and text: exact, compared as written in the CSV
            x, y = a.astype(str).to_numpy(), b.astype(str).to_numpy()
            bad = x != y
            for i in np.flatnonzero(bad)[:max_problems]:
                problems.append(f"{col}[row {i}]: reference {x[i]!r}, run {y[i]!r} (exact)")
            if bad.sum() > max_problems:
                problems.append(f"{col}: {int(bad.sum()) - max_problems} more rows differ")
    return problems


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
    found = {str(p.relative_to(run_dir)) for p in run_dir.rglob("*.csv") if "figures" not in p.relative_to(run_dir).parts}
    if figures_dir.exists():
        found |= {f"figures/{p.name}" for p in figures_dir.glob("*.csv")}
    return found


def compare_dirs(run_dir, ref_dir, figures_dir=None) -> list[FileVerdict]:
    """One verdict per reference CSV (ok / mismatch / missing) plus the run's unchecked CSVs."""
    run_dir, ref_dir = Path(run_dir), Path(ref_dir)
    figures_dir = Path(figures_dir) if figures_dir else default_figures_dir(run_dir)
    if not ref_dir.is_dir():
        raise ValueError(f"reference directory {ref_dir} does not exist")
    rules = load_tolerances(ref_dir)
    refs = sorted(p.relative_to(ref_dir) for p in ref_dir.rglob("*.csv"))
    if not refs:
        raise ValueError(f"reference directory {ref_dir} holds no CSV")
    verdicts = []
    for rel in refs:
        target = _run_path(rel, run_dir, figures_dir)
        if not target.exists():
            verdicts.append(FileVerdict(str(rel), "missing", [f"{target} not found"]))
            continue
        ref, run = pd.read_csv(ref_dir / rel), pd.read_csv(target)
        problems = compare_frames(ref, run, rel.as_posix(), rules)
        verdicts.append(FileVerdict(str(rel), "mismatch" if problems else "ok", problems))
    for extra in sorted(_run_csvs(run_dir, figures_dir) - {str(r) for r in refs}):
        verdicts.append(FileVerdict(extra, "unchecked", ["not in the reference"]))
    return verdicts


def snapshot(run_dir, ref_dir, figures_dir=None) -> list[str]:
    """Copy every CSV of a run (and its figure tables) into ``ref_dir``; returns the copied paths."""
    run_dir, ref_dir = Path(run_dir), Path(ref_dir)
    figures_dir = Path(figures_dir) if figures_dir else default_figures_dir(run_dir)
    copied = []
    for rel in sorted(_run_csvs(run_dir, figures_dir)):
        dst = ref_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_run_path(Path(rel), run_dir, figures_dir), dst)
        copied.append(rel)
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
    counts = {s: sum(v.status == s for v in verdicts) for s in ("ok", "mismatch", "missing", "unchecked")}
    failed = counts["mismatch"] + counts["missing"]
    print(f"\n{'REPRODUCED' if not failed else 'NOT REPRODUCED'}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
