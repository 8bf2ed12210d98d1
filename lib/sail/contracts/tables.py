"""Schemas (pandera) of the tables one stage writes and another reads, declared once.

A schema lists the columns a reader relies on, with their ranges and the invariants between them
(``0 <= zero_skips + prt_hits <= lookups``); columns it does not list are allowed, so a stage can
add columns without editing this file. :func:`sail.io.write_table` validates a table before it
writes it and :func:`sail.io.read_table` after it reads it, picked by the table's name: the last
two components of its path (``profile/prt_hits.csv``). Errors name the file, the column, the check
and the offending rows (0-based data rows; CSV line = row + 2).

To add a table: add an entry to :data:`TABLES`. Helpers: :func:`integer`, :func:`number`,
:func:`text`, :func:`flag`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sail.contracts import (A_BITS_RANGE, BASELINE_BITS_RANGE, ENCODINGS, LAYER_TYPES, MAX_BATCH, N_BW_RANGE,
                            POLICIES, W_BITS_RANGE, ContractError)


def _finite(s: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(s.to_numpy(dtype=float, na_value=np.nan)) | s.isna(), index=s.index)


def _is_numeric(s: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(s)) and not pd.api.types.is_bool_dtype(s)


def number(lo: float | None = None, hi: float | None = None, *, gt: float | None = None, nullable=False,
           required=True, regex=False) -> pa.Column:
    """A finite float column in ``[lo, hi]`` (``gt``: strictly greater)."""
    checks = [pa.Check(_is_numeric, name="numeric", error="must be numeric"),
              pa.Check(_finite, name="finite", error="must be finite (no inf)")]
    if lo is not None:
        checks.append(pa.Check.ge(lo))
    if gt is not None:
        checks.append(pa.Check.gt(gt))
    if hi is not None:
        checks.append(pa.Check.le(hi))
    return pa.Column(None, checks, nullable=nullable, required=required, regex=regex)


def integer(lo: int | None = None, hi: int | None = None, *, nullable=False, required=True) -> pa.Column:
    """An integer-valued column (int dtype, or floats without a fraction) in ``[lo, hi]``."""
    col = number(lo, hi, nullable=nullable, required=required)
    col.checks.append(pa.Check(lambda s: (s == np.round(s)) | s.isna(), name="integer", error="must be integers"))
    return col


def text(values=None, *, nullable=False, required=True) -> pa.Column:
    checks = [pa.Check(lambda s: s.map(lambda v: isinstance(v, str) and v != "") | s.isna(), name="text",
                       error="must be non-empty text")]
    if values is not None:
        checks.append(pa.Check.isin(list(values)))
    return pa.Column(None, checks, nullable=nullable, required=required)


def flag(*, required=True) -> pa.Column:
    return pa.Column(None, pa.Check.isin([True, False, "True", "False", "true", "false"]), nullable=False,
                     required=required)


NO_ROWS = "the table has no rows (header only)"


def _non_empty(df: pd.DataFrame) -> bool:
    return len(df) > 0


def table(columns: dict, checks=(), name: str = "") -> pa.DataFrameSchema:
    """A schema: the listed columns, the row-wise ``checks`` and a non-empty check."""
    return pa.DataFrameSchema(
        columns,
        checks=[pa.Check(_non_empty, name=NO_ROWS, error=NO_ROWS), *checks],
        strict=False,
        name=name,
    )


def row_check(fn, description: str) -> pa.Check:
    """A row-wise invariant (``fn(df) -> bool Series``); NaN rows fail."""
    return pa.Check(lambda df: fn(df).fillna(False).astype(bool), name=description, error=description)


# ---- the PRT table (profile -> sim) ----------------------------------------------------------------

# Decode workload columns of the simulator's tables: the baselines run fp16 too (16 bits); SAIL rows
# are held to the LUT kernels' 1..8 by SAIL_BITS below.
WORKLOAD = {
    "w_bits": number(*BASELINE_BITS_RANGE),
    "a_bits": number(*BASELINE_BITS_RANGE),
    "batch": integer(1, MAX_BATCH),
    "context": integer(0),
}
SAIL_BITS = row_check(
    lambda d: (d.system != "sail") | (d.w_bits.between(*W_BITS_RANGE) & d.a_bits.between(*A_BITS_RANGE)),
    f"SAIL rows have w_bits and a_bits in {W_BITS_RANGE[0]}..{W_BITS_RANGE[1]}",
)

PRT_HITS = table(
    {
        "layer_type": text(LAYER_TYPES),
        "n_bw": integer(*N_BW_RANGE),
        "a_bits": integer(*A_BITS_RANGE),
        "batch": integer(1, MAX_BATCH),
        "encoding": text(ENCODINGS),
        "policy": text(POLICIES),
        "prt_entries": integer(1),
        "zero_skip": flag(),
        "lookups": integer(1),
        "zero_skips": integer(0),
        "prt_hits": integer(0),
        "sram_reads": integer(0),
        "avoided_fraction": number(0, 1),
    },
    [
        row_check(lambda d: d.zero_skips + d.prt_hits <= d.lookups, "zero_skips + prt_hits <= lookups"),
        row_check(lambda d: d.sram_reads == d.lookups - d.zero_skips - d.prt_hits,
                  "sram_reads == lookups - zero_skips - prt_hits"),
        row_check(lambda d: (d.avoided_fraction - (d.zero_skips + d.prt_hits) / d.lookups).abs() <= 1e-5,
                  "avoided_fraction == (zero_skips + prt_hits) / lookups"),
    ],
    name="prt_hits",
)

PLANES = table(
    {
        "layer_type": text(LAYER_TYPES),
        "n_bw": integer(*N_BW_RANGE),
        "a_bits": integer(*A_BITS_RANGE),
        "encoding": text(ENCODINGS),
        "plane": integer(0, A_BITS_RANGE[1] - 1),
        "presentations": integer(1),
        "zero_fraction": number(0, 1),
        "entropy_bits": number(0),
        "max_entropy_bits": number(0),
    },
    [row_check(lambda d: d.entropy_bits <= d.max_entropy_bits + 1e-6, "entropy_bits <= max_entropy_bits")],
    name="planes",
)

DISTINCT = table(
    {
        "layer_type": text(LAYER_TYPES),
        "n_bw": integer(*N_BW_RANGE),
        "a_bits": integer(*A_BITS_RANGE),
        "batch": integer(1, MAX_BATCH),
        "mean_distinct": number(0),
        "max_distinct": number(0),
    },
    [row_check(lambda d: d.mean_distinct <= d.max_distinct + 1e-6, "mean_distinct <= max_distinct")],
    name="distinct",
)

# ---- simulator outputs (sim -> cost, figures) ------------------------------------------------------
SECONDS = number(0, regex=True)  # every "*_s" column: a non-negative, finite time

DECODE = table(
    {
        "system": text(),
        "hw": text(),
        "model": text(),
        **WORKLOAD,
        "tokens_per_s": number(gt=0),
        # what the figures read; the cost stage needs only the columns above
        "memory_bound_tokens_per_s": number(gt=0, required=False),
        "compute_bound_tokens_per_s": number(gt=0, required=False),
        "step_s": number(gt=0, required=False),
        r".*_s$": SECONDS,
        "weight_bytes": number(gt=0, required=False),
        "kv_bytes": number(0, required=False),
        "dram_bytes": number(0, required=False),
        "prt_avoided_fraction": number(0, 1, nullable=True, required=False),
        "csram_max_passes": number(0, nullable=True, required=False),
    },
    [SAIL_BITS],
    name="decode",
)

SPEEDUP = table(
    {
        "system": text(),
        "hw": text(),
        "model": text(),
        **WORKLOAD,
        "tokens_per_s": number(gt=0),
        "cpu_tokens_per_s": number(gt=0),
        "speedup_vs_cpu": number(gt=0),
    },
    [SAIL_BITS],
    name="speedup",
)

AREA = table({"overhead_fraction": number(0)}, name="area")

PRT_SAVING = table(
    {
        "layer_type": text((*LAYER_TYPES, "all")),
        "n_bw": integer(*N_BW_RANGE),
        "a_bits": integer(*A_BITS_RANGE),
        "batch": integer(1, MAX_BATCH),
        "avoided_fraction": number(0, 1),
        "cycles_without_prt": number(gt=0),
        "cycles_with_prt": number(0),
        "cycle_saving_fraction": number(-1e-9, 1),  # 1 - with/without: exactly 0 without reuse, up to rounding
    },
    [row_check(lambda d: d.cycles_with_prt <= d.cycles_without_prt * (1 + 1e-9), "cycles_with_prt <= cycles_without_prt")],
    name="prt_saving",
)

ABLATION = table(
    {"variant": text(), "model": text(), **WORKLOAD, "tokens_per_s": number(gt=0), r".*_s$": SECONDS},
    name="ablation",
)

SENSITIVITY = table(
    {"model": text(), **WORKLOAD, "tokens_per_s": number(gt=0), "cpu_tokens_per_s": number(gt=0),
     "speedup_vs_cpu": number(gt=0)},
    name="sensitivity",
)

# ---- cost stage (cost -> claims, figures) ----------------------------------------------------------
TPD = table(
    {
        "system": text(),
        "hw": text(),
        "model": text(),
        "tokens_per_s": number(gt=0),
        "instance": text(),
        "price_overhead_fraction": number(0),
        "usd_per_hour": number(gt=0),
        "tokens_per_dollar": number(gt=0),
    },
    name="tpd",
)

TPD_RATIOS = table(
    {
        "baseline": text(),
        "system": text(),
        "model": text(),
        "tokens_per_s": number(gt=0),
        "baseline_tokens_per_s": number(gt=0),
        "speedup": number(gt=0),
        "tpd_ratio": number(gt=0),
    },
    name="tpd_ratios",
)

# ---- quant stage ------------------------------------------------------------------------------------
MIXED_SENSITIVITY = table(
    {"layer": text(), "block": integer(0), "type": text(LAYER_TYPES), "n_params": integer(1),
     "w_bits": integer(*W_BITS_RANGE),
     # per-layer output error of the sequential pass: tr(dW H dW^T), Fisher-weighted, and RTN's (may be absent)
     "error_hessian": number(0), "error_fisher": number(0), "error_rtn": number(0, nullable=True, required=False)},
    name="mixed_sensitivity",
)
MIXED_ASSIGNMENT = table(
    {"sensitivity": text(["fisher", "hessian"]), "budget": number(gt=0), "layer": text(),
     "w_bits": integer(*W_BITS_RANGE)},
    name="mixed_assignment",
)

# Table name (last two path components) -> schema.
TABLES: dict[str, pa.DataFrameSchema] = {
    "profile/prt_hits.csv": PRT_HITS,
    "profile/planes.csv": PLANES,
    "profile/distinct.csv": DISTINCT,
    "sim/decode.csv": DECODE,
    "sim/speedup.csv": SPEEDUP,
    "sim/area.csv": AREA,
    "sim/prt_saving.csv": PRT_SAVING,
    "sim/ablation.csv": ABLATION,
    "sim/sensitivity.csv": SENSITIVITY,
    "cost/tpd.csv": TPD,
    "cost/tpd_ratios.csv": TPD_RATIOS,
    "mixed/sensitivity.csv": MIXED_SENSITIVITY,
    "mixed/assignment.csv": MIXED_ASSIGNMENT,
}


def table_name(path: str | os.PathLike) -> str:
    """``results/quick/sim/decode.csv`` -> ``sim/decode.csv``."""
    parts = Path(path).parts
    return "/".join(parts[-2:])


def schema_for(path: str | os.PathLike) -> pa.DataFrameSchema | None:
    return TABLES.get(table_name(path))


def _rows_text(rows: list, max_rows: int) -> str:
    shown = ", ".join(str(r) for r in rows[:max_rows])
    return shown + (f" and {len(rows) - max_rows} more" if len(rows) > max_rows else "")


def describe_failures(err: pa.errors.SchemaErrors, df: pd.DataFrame, max_rows: int = 5) -> list[str]:
    """Readable problems: missing columns, then each column check with its rows (0-based) and values,
    then each row invariant with its rows and the first offending row."""
    fc = err.failure_cases.copy()
    fc["check"] = fc["check"].astype(str)
    if (fc["check"] == NO_ROWS).any():
        return [NO_ROWS]
    missing = fc[fc["check"].str.startswith("column_in_dataframe")]["failure_case"].astype(str).tolist()
    lines = [f"missing column(s) {missing}"] if missing else []
    col_fc = fc[(fc["schema_context"] == "Column") & ~fc["check"].str.startswith("column_in_dataframe")]
    for (col, check), g in col_fc.groupby(["column", "check"], sort=False):
        g = g[g["index"].notna()].sort_values("index") if g["index"].notna().any() else g
        rows = [int(i) for i in g["index"].tolist() if pd.notna(i)]
        if rows:
            vals = g["failure_case"].tolist()[:max_rows]
            lines.append(f"column {col!r} fails {check!r} at rows {_rows_text(rows, max_rows)} (values {vals})")
        else:
            lines.append(f"column {col!r} fails {check!r}")
    tab_fc = fc[fc["schema_context"] == "DataFrameSchema"]
    for check, g in tab_fc.groupby("check", sort=False):
        rows = sorted({int(i) for i in g["index"].tolist() if pd.notna(i)})
        if not rows:
            if missing:  # the invariant could not be evaluated without the missing columns
                continue
            lines.append(f"invariant {check!r} cannot be evaluated: {g['failure_case'].iloc[0]}")
            continue
        first = df.loc[rows[0]].to_dict() if rows[0] in df.index else {}
        lines.append(f"invariant {check!r} fails at rows {_rows_text(rows, max_rows)} (row {rows[0]}: {first})")
    return lines


def validate(df: pd.DataFrame, path: str | os.PathLike, schema: pa.DataFrameSchema | None = None,
             action: str = "read") -> pd.DataFrame:
    """Check ``df`` against the schema of ``path`` (or ``schema``); :class:`ContractError` naming the file."""
    schema = schema if schema is not None else schema_for(path)
    if schema is None:
        return df
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        # row-wise invariants fail on rows that a column check already named; show the column first
        problems = describe_failures(err, df)
        raise ContractError(f"{path} ({action}): breaks the {schema.name} table contract: " + "; ".join(problems)) from None
    except pa.errors.SchemaError as err:  # pragma: no cover - lazy=True collects, kept for safety
        raise ContractError(f"{path} ({action}): breaks the {schema.name} table contract: {err}") from None
    return df

