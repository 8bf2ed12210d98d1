"""Do separate runs of the kernel benchmark agree? One row per benchmark point over several runs.

A single run's interleaving (:mod:`sail.kernels.bench`) and the in-process stability check
(:mod:`sail.kernels.stability`) cannot show drift between *processes*: page placement, huge pages,
CPU frequency and what else ran on the host between runs. This module takes the ``bench.csv`` of
several complete runs of the benchmark (same configuration, same machine) and reports, per point,
the median time over runs and the spread ``(max - min) / median`` of the per-run medians.

The acceptance bar of the kernel work is about the "best kernels" at one thread: our fastest LUT
kernel (``act_lut_simd``) and every llama.cpp type (``llamacpp_*``). :func:`agreement` marks those
rows, and :func:`max_spread` returns the largest spread among them.

On a shared host the memory bandwidth one core gets moves between runs (the DRAM probe read 12.5,
15.7 and 17.9 GB/s in three consecutive runs within 15 minutes), and the time of every kernel that
streams near that bandwidth moves with it. The quantity the claims use is the ratio within one run:
:func:`peer_ratios` divides, per run and point of our best kernel, the time of llama.cpp's fastest
type with at most our bits per weight by ours, and :func:`ratio_agreement` gives that ratio's spread
over runs.

Command line (writes a CSV, prints the marked rows and the in-run ratios)::

    python -m sail.kernels.agreement run1/bench.csv run2/bench.csv run3/bench.csv --out agreement.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

# One benchmark point: what a row of bench.csv measures.
POINT = ["kernel", "m", "k", "w_bits", "a_bits", "n_bw", "batch", "threads"]
BEST_OURS = ("act_lut_simd",)
PEER_PREFIX = "llamacpp_"
AGREEMENT_COLUMNS = [*POINT, "bits_per_weight", "runs", "median_s", "min_s", "max_s", "spread", "best_kernel"]


def is_best_kernel(kernel: str) -> bool:
    """Our fastest LUT kernel or any llama.cpp type (the rows the agreement bar is about)."""
    return kernel in BEST_OURS or kernel.startswith(PEER_PREFIX)


def agreement(runs: list[pd.DataFrame]) -> pd.DataFrame:
    """Per benchmark point present in every run: median over runs of the run medians and their spread.

    ``runs`` are ``bench.csv`` tables of complete runs (at least 2). ``spread`` is
    ``(max - min) / median`` of the per-run ``median_s`` (dimensionless); ``median_s``, ``min_s`` and
    ``max_s`` are seconds per call. Points missing from any run are left out (they were not
    measured in all of them); a point measured twice within one run is a malformed table.
    """
    if len(runs) < 2:
        raise ValueError(f"need the bench.csv of at least 2 runs, got {len(runs)}")
    frames = []
    for i, df in enumerate(runs):
        missing = [c for c in [*POINT, "median_s", "bits_per_weight"] if c not in df.columns]
        if missing:
            raise ValueError(f"run {i}: bench table lacks columns {missing}")
        dup = df.duplicated(POINT)
        if dup.any():
            raise ValueError(f"run {i}: {int(dup.sum())} benchmark points appear twice, e.g. "
                             f"{df.loc[dup, POINT].iloc[0].to_dict()}")
        bad = ~(df["median_s"] > 0)
        if bad.any():
            raise ValueError(f"run {i}: median_s must be > 0 s, got {float(df.loc[bad, 'median_s'].iloc[0])!r}")
        frames.append(df[[*POINT, "bits_per_weight", "median_s"]].assign(run=i))
    long = pd.concat(frames, ignore_index=True)
    # numeric columns of a point are read back as floats when a run has NaN (e.g. n_bw of fp kernels)
    long[POINT[1:]] = long[POINT[1:]].fillna(-1)
    g = long.groupby(POINT, sort=True)
    out = g.agg(bits_per_weight=("bits_per_weight", "first"), runs=("run", "nunique"),
                median_s=("median_s", "median"), min_s=("median_s", "min"), max_s=("median_s", "max"))
    out = out[out["runs"] == len(runs)].reset_index()
    out["spread"] = (out["max_s"] - out["min_s"]) / out["median_s"]
    out["best_kernel"] = out["kernel"].map(is_best_kernel)
    return out[AGREEMENT_COLUMNS]


def max_spread(table: pd.DataFrame, threads: int = 1) -> float:
    """Largest spread among the best kernels' rows at ``threads`` (NaN when there are none)."""
    rows = table[table["best_kernel"] & (table["threads"] == threads)]
    return float(rows["spread"].max()) if len(rows) else float("nan")


RATIO_COLUMNS = ["m", "k", "w_bits", "batch", "threads", "bits_per_weight", "peer", "peer_bits_per_weight",
                 "ours_s", "peer_s", "ratio"]


def peer_ratios(run: pd.DataFrame, ours: str = BEST_OURS[0]) -> pd.DataFrame:
    """Per point of ``ours`` in one run: llama.cpp's fastest type with at most our bits per weight at
    the same shape, batch and threads (``peer``), and ``ratio`` = its time / ours (> 1: ours faster).

    Points without such a peer row are left out. Raises ``ValueError`` for a table without the
    needed columns.
    """
    need = [*POINT, "median_s", "bits_per_weight"]
    missing = [c for c in need if c not in run.columns]
    if missing:
        raise ValueError(f"bench table lacks columns {missing}")
    at = ["m", "k", "batch", "threads"]
    peers = run[run["kernel"].str.startswith(PEER_PREFIX)]
    rows = []
    for _, r in run[run["kernel"] == ours].iterrows():
        cand = peers[(peers[at] == r[at]).all(axis=1) & (peers["bits_per_weight"] <= r["bits_per_weight"] + 1e-9)]
        if cand.empty:
            continue
        best = cand.loc[cand["median_s"].idxmin()]
        rows.append({**{c: r[c] for c in ["m", "k", "w_bits", "batch", "threads", "bits_per_weight"]},
                     "peer": best["kernel"], "peer_bits_per_weight": best["bits_per_weight"],
                     "ours_s": r["median_s"], "peer_s": best["median_s"], "ratio": best["median_s"] / r["median_s"]})
    return pd.DataFrame(rows, columns=RATIO_COLUMNS)


def ratio_agreement(runs: list[pd.DataFrame], ours: str = BEST_OURS[0]) -> pd.DataFrame:
    """Per point of ``ours`` present in every run: the median over runs of :func:`peer_ratios`'s
    ``ratio``, its ``min``/``max`` and ``spread`` = (max - min) / median, and the peers chosen
    (comma-joined when the fastest peer changed between runs)."""
    if len(runs) < 2:
        raise ValueError(f"need the bench.csv of at least 2 runs, got {len(runs)}")
    key = ["m", "k", "w_bits", "batch", "threads"]
    long = pd.concat([peer_ratios(df, ours).assign(run=i) for i, df in enumerate(runs)], ignore_index=True)
    g = long.groupby(key, sort=True)
    out = g.agg(bits_per_weight=("bits_per_weight", "first"), runs=("run", "nunique"),
                ratio=("ratio", "median"), ratio_min=("ratio", "min"), ratio_max=("ratio", "max"),
                peers=("peer", lambda p: ",".join(sorted(set(p)))))
    out = out[out["runs"] == len(runs)].reset_index()
    out["spread"] = (out["ratio_max"] - out["ratio_min"]) / out["ratio"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sail.kernels.agreement", description=__doc__.split("\n\n")[0])
    p.add_argument("bench", nargs="+", type=Path, help="bench.csv of each complete run (2 or more)")
    p.add_argument("--out", type=Path, help="write the per-point table here (CSV)")
    args = p.parse_args(argv)
    try:
        runs = [pd.read_csv(path) for path in args.bench]
        table = agreement(runs)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:
        from sail.io import atomic_write

        with atomic_write(args.out) as fh:
            table.to_csv(fh, index=False)
    best = table[table["best_kernel"] & (table["threads"] == 1)]
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(best[["kernel", "m", "k", "w_bits", "batch", "median_s", "spread"]].to_string(index=False))
    print(f"largest spread over {len(args.bench)} runs, best kernels at 1 thread: {max_spread(table):.1%}")
    try:
        ratios = ratio_agreement(runs)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if len(ratios):
        one = ratios[ratios["threads"] == 1]
        with pd.option_context("display.width", 160, "display.max_rows", 200):
            print(one[["m", "k", "w_bits", "bits_per_weight", "peers", "ratio", "ratio_min", "ratio_max",
                       "spread"]].to_string(index=False))
        print(f"largest spread over {len(args.bench)} runs of the in-run ratio to llama.cpp's fastest type with "
              f"<= our bits per weight, 1 thread: {one['spread'].max():.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
