"""Public entry points: :func:`simulate` (one design point, a typed result) and :func:`sweep` (many)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from sail.sim import mapping
from sail.sim.capacity import require_fit, scaled_params
from sail.contracts import (  # noqa: F401  (PRT_COLUMNS, PRT_DEFAULT re-exported: the profile's table contract)
    A_BITS_RANGE,
    BASELINE_BITS_RANGE,
    DEFAULT_GROUP_SIZE,
    MAX_BATCH,
    PRT_COLUMNS,
    PRT_DEFAULT,
    W_BITS_RANGE,
    check_int_range,
)
from sail.sim.engine import BREAKDOWN_KEYS, evaluate
from sail.sim.hw import HwConfig, load_hw  # noqa: F401  (re-exported)
from sail.sim.models import get_model


@dataclass(frozen=True)
class SimResult:
    """One decode design point with its breakdown (components sum to ``step_s``)."""

    system: str
    hw: str
    model: str
    w_bits: int
    a_bits: int
    batch: int
    context: int
    tokens_per_s: float
    memory_bound_tokens_per_s: float
    compute_bound_tokens_per_s: float
    step_s: float
    breakdown_s: dict = field(default_factory=dict)
    weight_bytes: float = 0.0
    kv_bytes: float = 0.0
    dram_bytes: float = 0.0  # bytes over the memory interface per step (weights + KV cache)
    layer_dram_bytes: dict = field(default_factory=dict)  # per layer type, summed over blocks
    prt_avoided_fraction: float = 0.0
    csram_max_passes: float = 0.0
    overrides: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_row(self) -> dict:
        """Flat row for decode.csv: breakdown components as ``*_s`` columns."""
        d = self.to_dict()
        d.pop("breakdown_s"), d.pop("layer_dram_bytes"), d.pop("overrides")
        return d | dict(self.breakdown_s)


_PRT_CHECKED: dict[int, tuple] = {}  # id(table) -> fingerprint of a table that passed (checked once)


def _fingerprint(df: pd.DataFrame) -> tuple:
    cols = [c for c in ("lookups", "zero_skips", "prt_hits") if c in df.columns]
    return (df.shape, tuple(df.columns), *(float(df[c].sum()) for c in cols), int(df.isna().to_numpy().sum()))


def check_prt_table(df: pd.DataFrame, source: str = "PRT table") -> None:
    """Validate the profiling stage's PRT table (``sail.contracts.tables.PRT_HITS``): columns, ranges,
    no NaN, ``zero_skips + prt_hits <= lookups``. ValueError names ``source``, the column and the rows.

    A table that passed is remembered (by identity and a cheap fingerprint), so a sweep that calls
    this per group pays for the check once.
    """
    from sail.contracts.tables import PRT_HITS, validate

    key, fp = id(df), _fingerprint(df)
    if _PRT_CHECKED.get(key) == fp:
        return
    validate(df.reset_index(drop=True), source, PRT_HITS)
    _PRT_CHECKED[key] = fp


def check_workload(model: str, w_bits, a_bits, batch, context, system: str = "sail") -> None:
    """Bound a decode workload to what the models cover: on SAIL integer bit widths in 1..8 (the LUT
    kernels and the profile), on the baselines 1..16 (fp16 and fractional llama.cpp block widths);
    1 <= batch <= ``MAX_BATCH``; 0 <= context <= the model's trained context.
    Scalars or arrays; ValueError naming the value."""
    spec = get_model(model)
    sail = system == "sail"
    wr, ar = (W_BITS_RANGE, A_BITS_RANGE) if sail else (BASELINE_BITS_RANGE, BASELINE_BITS_RANGE)
    for name, v, (lo, hi), whole in (("w_bits", w_bits, wr, sail), ("a_bits", a_bits, ar, sail),
                                     ("batch", batch, (1, MAX_BATCH), True),
                                     ("context", context, (0, spec.max_context), True)):
        arr = np.atleast_1d(np.asarray(v, dtype=float))
        bad = arr[~((arr >= lo) & (arr <= hi) & ((arr == np.round(arr)) | (not whole)))]
        if bad.size:
            what = f"{spec.name}'s context" if name == "context" else name
            raise ValueError(f"{name} must be an integer in {lo}..{hi} ({what} bound), got {bad[0]:g}")


def prt_fractions(
    prt: pd.DataFrame | None,
    layer_types,
    n_bw: int,
    a_bits: int,
    batch,
    prt_entries: int = 32,
    policy: str = "lru",
    encoding: str = "twos_complement",
    zero_skip: bool = False,
    scope: str = "per_array",
):
    """(zero_frac, hit_frac) arrays of shape (L, N) from the profiling stage's ``prt_hits.csv``.

    Rows are the requested PRT point; each batch takes the profiled batch nearest in log2 (the
    profile covers a few batches, the sweep many). Layer types the profile does not have (``lm_head``)
    take the lookup-weighted aggregate of all profiled types. Without a table, no reuse (zeros).
    SHORTCUT(prt-transfer): hit rates measured on SmolLM2 activations are applied to every model.
    ``scope`` is the PRT scope (``sail.sim.mapping.PRT_SCOPES``): a table with a ``scope`` column is
    filtered on it; a table without one (the profiling stage's) is the per-LUT-group stream, i.e.
    ``per_array``, and any other scope is refused.
    """
    batch = np.atleast_1d(np.asarray(batch, dtype=float))
    shape = (len(layer_types), batch.size)
    if prt is None:
        return np.zeros(shape), np.zeros(shape)
    check_prt_table(prt)
    if "scope" in prt.columns:
        prt = prt[prt.scope == scope]
    elif scope != "per_array":
        raise ValueError(f"the PRT table has no scope column (per-LUT-group streams); cannot give scope {scope!r}")
    sel = prt[
        (prt.n_bw == n_bw)
        & (prt.a_bits == a_bits)
        & (prt.prt_entries == prt_entries)
        & (prt.policy == policy)
        & (prt.encoding == encoding)
        & (prt.zero_skip.astype(str).str.lower() == str(bool(zero_skip)).lower())
    ]
    if sel.empty:
        raise ValueError(
            f"PRT table has no rows for n_bw={n_bw}, a_bits={a_bits}, prt_entries={prt_entries}, "
            f"policy={policy}, encoding={encoding}, zero_skip={zero_skip}"
        )
    have = np.array(sorted(sel.batch.unique()), dtype=float)
    nearest = have[np.abs(np.log2(have)[:, None] - np.log2(batch)[None, :]).argmin(axis=0)]
    agg = sel.groupby("batch")[["lookups", "zero_skips", "prt_hits"]].sum()
    by = sel.groupby(["layer_type", "batch"])[["lookups", "zero_skips", "prt_hits"]].sum()
    uniq, inverse = np.unique(nearest, return_inverse=True)
    zu, hu = np.zeros((len(layer_types), uniq.size)), np.zeros((len(layer_types), uniq.size))
    for i, t in enumerate(layer_types):
        for j, b in enumerate(uniq):
            row = by.loc[(t, b)] if (t, b) in by.index else agg.loc[b]
            zu[i, j] = row.zero_skips / row.lookups
            hu[i, j] = row.prt_hits / row.lookups
    return zu[:, inverse], hu[:, inverse]


def simulate(
    hw: HwConfig,
    model: str,
    w_bits: int,
    a_bits: int,
    batch: int,
    context: int,
    overrides: dict | None = None,
    group_size: int = DEFAULT_GROUP_SIZE,
    prt: pd.DataFrame | None = None,
) -> SimResult:
    """Simulate one decode step of ``model`` on ``hw`` (docs/simulator.md). See :mod:`sail.sim.engine`.

    ``overrides`` maps hardware keys (``"csram.arrays_per_slice"``, ``"op_profile"``) to values;
    ``prt`` is the profiling stage's PRT table (SAIL only; None = no pattern reuse).
    """
    for name, v in (("w_bits", w_bits), ("a_bits", a_bits), ("batch", batch), ("group_size", group_size)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not isinstance(context, (int, np.integer)) or context < 0:
        raise ValueError(f"context must be a non-negative integer, got {context!r}")
    hw2 = hw.with_overrides(overrides)
    check_workload(model, w_bits, a_bits, batch, context, hw2.system)
    spec = get_model(model)
    # Capacity: a configuration that fits nowhere raises CapacityError naming it; a GPU configuration
    # that needs several devices runs at their tensor-parallel rates (sail.sim.capacity).
    if hw2.system == "gpu" or "memory.capacity_gb" in hw2.params:
        placed = require_fit(hw2, spec, w_bits, batch, context, group_size)
        scaled = scaled_params(hw2, placed["n_devices"], placed["tp_efficiency"])
        hw2 = hw2.with_overrides({k: float(v) for k, v in scaled.items()}) if placed["n_devices"] > 1 else hw2
    prt_arr = None
    if hw2.system == "sail" and prt is not None:
        types = [t for t, *_ in spec.gemv_layers()]
        prt_arr = prt_fractions(
            prt,
            types,
            int(hw2.value("csram.n_bw")),
            a_bits,
            mapping.prt_stream_tokens(mapping.sail_resources(hw2), w_bits, batch),
            prt_entries=int(hw2.value("dfm.prt_entries")) if "dfm.prt_entries" in hw2.params else 32,
            scope=hw2.option("prt_scope"),
        )
    r = evaluate(hw2, spec, w_bits, a_bits, batch, context, group_size=group_size, prt=prt_arr)
    f = {
        k: float(np.asarray(v).reshape(-1)[0])
        for k, v in r.items()
        if k not in ("layer_types", "layers_dram_bytes")
    }
    layer_bytes = {
        t: float(np.asarray(b).reshape(-1)[0]) for t, b in zip(r["layer_types"], r["layers_dram_bytes"])
    }
    return SimResult(
        system=SYSTEM_NAMES.get(hw2.system, hw2.system),
        hw=hw2.name,
        model=model,
        w_bits=w_bits,
        a_bits=a_bits,
        batch=batch,
        context=context,
        tokens_per_s=f["tokens_per_s"],
        memory_bound_tokens_per_s=f["memory_bound_tokens_per_s"],
        compute_bound_tokens_per_s=f["compute_bound_tokens_per_s"],
        step_s=f["step_s"],
        breakdown_s={k: f[k] for k in BREAKDOWN_KEYS},
        weight_bytes=f["weight_bytes"],
        kv_bytes=f["kv_bytes"],
        dram_bytes=f["dram_bytes"],
        layer_dram_bytes=layer_bytes,
        prt_avoided_fraction=f.get("prt_avoided_fraction", 0.0),
        csram_max_passes=f.get("csram_max_passes", 0.0),
        overrides=dict(overrides or {}),
    )


WORKLOAD = ("w_bits", "a_bits", "batch", "context")
# Names in results (decode.csv contract with the cost stage): the GPU roofline is reported as "v100".
SYSTEM_NAMES = {"gpu": "v100"}


def sweep(
    hw: HwConfig, points: pd.DataFrame, group_size: int = DEFAULT_GROUP_SIZE, prt: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Evaluate every row of ``points`` (vectorised per model and per categorical option).

    Columns of ``points``: ``model``, ``w_bits``, ``a_bits``, ``batch``, ``context`` and any numeric
    hardware key (``csram.clock_ghz``) or option (``op_profile``); missing hardware keys take ``hw``'s
    value. Returns ``points`` with ``tokens_per_s``, the bounds, ``step_s`` and the breakdown columns.
    """
    for c in ("model",) + WORKLOAD:
        if c not in points.columns:
            raise ValueError(f"sweep points need a {c!r} column")
    points = points.reset_index(drop=True)
    opt_cols = [c for c in points.columns if c in hw.options]
    par_cols = [c for c in points.columns if c in hw.params]
    unknown = set(points.columns) - set(opt_cols) - set(par_cols) - {"model", *WORKLOAD}
    if unknown:
        raise ValueError(f"unknown sweep columns {sorted(unknown)} for {hw.name}")
    outs = []
    for keys, grp in points.groupby(["model", *opt_cols, "a_bits"], sort=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        model, opts, a_bits = keys[0], dict(zip(opt_cols, keys[1:-1])), int(keys[-1])
        hw2 = hw.with_overrides(opts)
        spec = get_model(model)
        check_workload(model, grp["w_bits"], a_bits, grp["batch"], grp["context"], hw2.system)
        params = {c: grp[c].to_numpy(dtype=float) for c in par_cols}
        prt_arr = None
        if hw2.system == "sail" and prt is not None:
            n_bw = (
                grp["csram.n_bw"].to_numpy()
                if "csram.n_bw" in grp
                else np.full(len(grp), hw2.value("csram.n_bw"))
            )
            if len(set(n_bw.tolist())) != 1:
                raise ValueError("sweeping csram.n_bw together with a PRT table is not supported")
            types = [t for t, *_ in spec.gemv_layers()]
            res = mapping.resources_from_params(
                hw2.values() | params, {k: v.value for k, v in hw2.options.items()}
            )
            prt_arr = prt_fractions(
                prt,
                types,
                int(n_bw[0]),
                a_bits,
                mapping.prt_stream_tokens(res, grp["w_bits"].to_numpy(dtype=float), grp["batch"].to_numpy()),
                prt_entries=int(hw2.value("dfm.prt_entries")),
                scope=hw2.option("prt_scope"),
            )
        r = evaluate(
            hw2,
            spec,
            grp["w_bits"].to_numpy(dtype=float),
            a_bits,
            grp["batch"].to_numpy(dtype=float),
            grp["context"].to_numpy(dtype=float),
            group_size=group_size,
            params=params,
            prt=prt_arr,
        )
        cols = {
            k: np.broadcast_to(v, (len(grp),))
            for k, v in r.items()
            if k not in ("layer_types", "layers_dram_bytes")
        }
        outs.append(pd.DataFrame(cols, index=grp.index))
    res = pd.concat(outs).sort_index()
    out = points.join(res)
    out.insert(0, "system", SYSTEM_NAMES.get(hw.system, hw.system))
    out.insert(1, "hw", hw.name)
    return out
