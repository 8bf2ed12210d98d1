"""The sweeps behind the sim stage's figures and claims: tables in, tables out (scripts only do I/O)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd

from sail.claims import (
    EXCEEDED,
    HOLDS_ONLY_WHEN,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    ClaimResult,
    claim_holds,
    claim_verdict,
    describe_region,
    paper_label,
    paper_value,
    point_verdicts,
    qualitative_verdict,
)
from sail.sim import profiles
from sail.sim.api import sweep
from sail.sim.area import area_breakdown, overhead_pct
from sail.sim.capacity import place, scaled_params
from sail.sim.engine import BREAKDOWN_KEYS
from sail.sim.hw import HwConfig, hw_table
from sail.sim.models import get_model

KEYS = ["model", "w_bits", "a_bits", "batch", "context"]


def workload_grid(models, w_bits, a_bits, batches, contexts) -> pd.DataFrame:
    rows = list(
        itertools.product(sorted(models), sorted(w_bits), sorted(a_bits), sorted(batches), sorted(contexts))
    )
    return pd.DataFrame(rows, columns=KEYS)


def decode_table(
    hws: list[HwConfig], grid: pd.DataFrame, prt: pd.DataFrame | None, group_size: int
) -> pd.DataFrame:
    """decode.csv: every system on every workload point, with bounds and breakdown (``*_s``)."""
    out = []
    for hw in sorted(hws, key=lambda h: h.name):
        pts = capacity_points(hw, grid, group_size)[0].reset_index(drop=True)
        rates = [c for c in pts.columns if c in hw.params]  # scaled GPU rates of multi-GPU rows
        df = sweep(hw, pts[KEYS + rates], group_size=group_size, prt=prt if hw.system == "sail" else None)
        df = df.drop(columns=rates).join(pts[CAPACITY_COLUMNS])
        df["hw"] = hw.name
        out.append(df)
    df = pd.concat(out, ignore_index=True)
    cols = [
        "system",
        "hw",
        *KEYS,
        "tokens_per_s",
        "memory_bound_tokens_per_s",
        "compute_bound_tokens_per_s",
        "step_s",
        *BREAKDOWN_KEYS,
        "weight_bytes",
        "kv_bytes",
        "dram_bytes",
    ]
    extra = [c for c in ("prt_avoided_fraction", "csram_max_passes") if c in df.columns]
    return df[cols + CAPACITY_COLUMNS + extra].sort_values(["hw", *KEYS]).reset_index(drop=True)


CAPACITY_COLUMNS = ["memory_bytes", "capacity_bytes", "n_devices", "tp_efficiency"]


def capacity_points(hw: HwConfig, grid: pd.DataFrame, group_size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``grid`` into the configurations that fit ``hw``'s memory and those that do not.

    Feasible rows carry :data:`CAPACITY_COLUMNS` and, for a GPU that needs several devices, the scaled
    rate parameters (sail.sim.capacity) as sweep columns. Infeasible rows are returned separately with
    their footprint, never simulated (no throughput, no price).
    """
    parts = []
    for model, g in grid.groupby("model", sort=True):
        r = place(hw, get_model(model), g.w_bits.to_numpy(), g.batch.to_numpy(), g.context.to_numpy(), group_size)
        g = g.copy()
        for c in CAPACITY_COLUMNS + ["fits"]:
            g[c] = np.broadcast_to(r[c], (len(g),))
        parts.append(g)
    allp = pd.concat(parts).sort_index()
    fit, nofit = allp[allp.fits].drop(columns="fits"), allp[~allp.fits].drop(columns="fits")
    if hw.system == "gpu" and len(fit):
        for k, v in scaled_params(hw, fit.n_devices.to_numpy(), fit.tp_efficiency.to_numpy()).items():
            fit[k] = v
    return fit, nofit.assign(hw=hw.name)


def infeasible_table(hws: list[HwConfig], grid: pd.DataFrame, group_size: int) -> pd.DataFrame:
    """Configurations that fit in no memory a description offers (``n_devices`` = 0), all systems."""
    cols = ["hw", *KEYS, "memory_bytes", "capacity_bytes"]
    parts = [capacity_points(hw, grid, group_size)[1][cols] for hw in sorted(hws, key=lambda h: h.name)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def speedup_table(decode: pd.DataFrame, base_hw: str = "graviton2") -> pd.DataFrame:
    """tokens/s of every system over the CPU baseline at the same workload point."""
    base = decode[decode.hw == base_hw].set_index(KEYS).tokens_per_s.rename("cpu_tokens_per_s")
    df = decode.join(base, on=KEYS)
    df["speedup_vs_cpu"] = df.tokens_per_s / df.cpu_tokens_per_s
    return df[["system", "hw", *KEYS, "tokens_per_s", "cpu_tokens_per_s", "speedup_vs_cpu"]]


def baseline_speedups(decode: pd.DataFrame, sail_hw: str, baselines: dict[str, str]) -> pd.DataFrame:
    """SAIL's speedup over every CPU baseline at the same workload point (long table, one row per baseline).

    ``baselines`` maps a CPU description (``hw`` of the decode table) to its label, e.g.
    ``{"graviton2_reunpack": "re-unpack per token", ...}``. Raises ``ValueError`` naming a missing one.
    """
    sail = decode[decode.hw == sail_hw]
    if sail.empty:
        raise ValueError(f"no rows of {sail_hw!r} in the decode table")
    out = []
    for hw, label in baselines.items():
        base = decode[decode.hw == hw]
        if base.empty:
            raise ValueError(f"CPU baseline {hw!r} has no rows in the decode table; hw: {sorted(decode.hw.unique())}")
        b = base.set_index(KEYS).tokens_per_s.rename("cpu_tokens_per_s")
        d = sail[["hw", *KEYS, "tokens_per_s"]].join(b, on=KEYS, how="inner")
        d.insert(0, "baseline_hw", hw)
        d.insert(1, "baseline", label)
        d["speedup_vs_cpu"] = d.tokens_per_s / d.cpu_tokens_per_s
        out.append(d)
    return pd.concat(out, ignore_index=True)


def baseline_range(table: pd.DataFrame, ratio: str = "speedup_vs_cpu", by: str = "baseline") -> pd.DataFrame:
    """The maximum of ``ratio`` per baseline with its configuration (one row per baseline, lowest first)."""
    table = table.reset_index(drop=True)  # idxmax labels must be unique
    rows = table.loc[table.groupby(by, sort=True)[ratio].idxmax()]
    return rows.sort_values(ratio).reset_index(drop=True)


def range_sentence(best: pd.DataFrame, ratio: str, label_col: str = "baseline", keys=KEYS) -> str:
    """"Over the CPU baselines the maximum ranges 7.3x (llama.cpp-like ...) to 20.8x (re-unpack ...)"."""
    parts = [f"{r[label_col]}: {r[ratio]:.3g}x at " + ", ".join(f"{k}={r[k]}" for k in keys if k in r.index)
             for _, r in best.iterrows()]
    lo, hi = best[ratio].min(), best[ratio].max()
    return f"Over the {len(best)} CPU baselines the maximum ranges {lo:.3g}x to {hi:.3g}x ({'; '.join(parts)})."


def sensitivity_grid(
    sail: HwConfig, cpu: HwConfig, workload: dict, batches, contexts, axes: dict, prt, group_size: int
):
    """Full-factorial sweep of SAIL's uncertain parameters at one model/bit width, over batches and contexts,
    with the CPU at the same host values and workload.

    ``axes`` maps hardware keys / options to value lists. Host keys shared with the CPU (``memory.*``) are
    applied to the CPU too, so the ratio stays like-for-like. Returns (table, seconds_for_the_sail_sweep).
    """
    names = sorted(axes)
    combos = list(itertools.product(*(axes[n] for n in names), sorted(batches), sorted(contexts)))
    pts = pd.DataFrame(combos, columns=names + ["batch", "context"])
    for k in ("model", "w_bits", "a_bits"):
        pts[k] = workload[k]
    t0 = time.perf_counter()
    res = sweep(sail, pts, group_size=group_size, prt=prt)
    seconds = time.perf_counter() - t0
    shared = [n for n in names if n in cpu.params]
    on = shared + ["batch", "context"]
    cpu_pts = pts[on + ["model", "w_bits", "a_bits"]].drop_duplicates()
    cres = sweep(cpu, cpu_pts, group_size=group_size)[on + ["tokens_per_s"]]
    cres = cres.rename(columns={"tokens_per_s": "cpu_tokens_per_s"})
    res = res.merge(cres, on=on, how="left")
    res["speedup_vs_cpu"] = res.tokens_per_s / res.cpu_tokens_per_s
    keep = names + [
        "model",
        "w_bits",
        "a_bits",
        "batch",
        "context",
        "tokens_per_s",
        "cpu_tokens_per_s",
        "speedup_vs_cpu",
    ]
    return res[keep].sort_values(names + ["batch"]).reset_index(drop=True), seconds


def region_table(sens: pd.DataFrame, axes: dict, threshold: float | None = None) -> pd.DataFrame:
    """Per parameter value: share of grid points with speedup >= threshold (default: the paper's
    speedup), and the max speedup there."""
    threshold = paper_value("speedup_cpu") if threshold is None else threshold
    rows = []
    for name in sorted(axes) + ["batch", "context"]:
        for val, g in sens.groupby(name, sort=True):
            rows.append(
                {
                    "parameter": name,
                    "value": str(val),
                    "points": len(g),
                    "share_at_or_above": float((g.speedup_vs_cpu >= threshold).mean()),
                    "max_speedup": float(g.speedup_vs_cpu.max()),
                }
            )
    return pd.DataFrame(rows)


def ablation_table(sail: HwConfig, workload: dict, batches, prt, group_size: int) -> pd.DataFrame:
    """SAIL with each mechanism removed: PRT (no reuse), in-memory conversion (cores convert), and batching
    (``batch`` column; batch 1 is SAIL without batching)."""
    variants = [
        ("SAIL", {}, True),
        ("no PRT", {}, False),
        ("no in-memory conversion", {"csram.in_memory_conversion": 0}, True),
        ("no PRT, no in-memory conversion", {"csram.in_memory_conversion": 0}, False),
    ]
    out = []
    for name, ov, use_prt in variants:
        pts = pd.DataFrame({"batch": sorted(batches)})
        for k in ("model", "w_bits", "a_bits", "context"):
            pts[k] = workload[k]
        for k, v in ov.items():
            pts[k] = v
        r = sweep(sail, pts, group_size=group_size, prt=prt if use_prt else None)
        r["variant"] = name
        out.append(r[["variant", *KEYS, "tokens_per_s", "step_s", *BREAKDOWN_KEYS]])
    df = pd.concat(out, ignore_index=True)
    b1 = df[(df.variant == "SAIL") & (df.batch == df.batch.min())].tokens_per_s.iloc[0]
    df["speedup_vs_sail_batch1"] = df.tokens_per_s / b1
    return df


def type_conversion_table(sail: HwConfig, a_bits: int = 8) -> pd.DataFrame:
    """Cost of converting one element (FP32 <-> a_bits integer) on each engine, in two units kept apart:

    * ``cycles_per_element_one_unit``: in the engine's own clock, for one unit (one C-SRAM array,
      bit-serial over its bit lines; one CPU core);
    * ``ns_per_element_chip``: wall-clock time per element with every unit of the chip working
      (all ``units`` arrays; all ``units`` cores), the number that decides which engine is faster.

    ``cycles_per_element_chip`` is the one-unit cost divided by the unit count (same clock for both here).
    """
    v = sail.value
    lanes_array = v("csram.cols")
    n_arr = int(v("llc.slices") * v("csram.arrays_per_slice"))
    rows = []
    for prof in profiles.PROFILES:
        c = float(profiles.convert_cycles(prof, a_bits))
        rows.append(
            {
                "engine": f"C-SRAM, {prof} profile",
                "profile": prof,
                "unit": "array",
                "units": n_arr,
                "cycles_per_element_one_unit": c / lanes_array,
                "cycles_per_element_chip": c / (lanes_array * n_arr),
                "clock_ghz": v("csram.clock_ghz"),
            }
        )
    cpe = v("cpu.convert_cycles_per_element")
    rows.append(
        {
            "engine": "CPU NEON cores",
            "profile": "cpu",
            "unit": "core",
            "units": int(v("cpu.cores")),
            "cycles_per_element_one_unit": cpe,
            "cycles_per_element_chip": cpe / v("cpu.cores"),
            "clock_ghz": v("cpu.clock_ghz"),
        }
    )
    df = pd.DataFrame(rows)
    df["ns_per_element_chip"] = df.cycles_per_element_chip / df.clock_ghz
    return df


def type_conversion_findings(tc: pd.DataFrame, ablation: pd.DataFrame, sail: HwConfig
                             ) -> tuple[pd.DataFrame, ClaimResult]:
    """What our model says about in-memory type conversion, as findings and as a claim row.

    ``tc``: :func:`type_conversion_table`; ``ablation``: :func:`ablation_table` (SAIL vs "no in-memory
    conversion" per batch). The abstract's claim is qualitative (conversion in the arrays is efficient and
    relieves the cores); it is judged where SAIL with in-memory conversion is at least as fast as SAIL with
    the cores converting (:func:`sail.claims.qualitative_verdict`; there is no number to be near).
    """
    prof = sail.option("op_profile")
    own = tc[tc.profile == prof].iloc[0]
    cpu = tc[tc.profile == "cpu"].iloc[0]
    arrays_over_cores = float(own.ns_per_element_chip / cpu.ns_per_element_chip)
    slower_profiles = sorted(tc[(tc.profile != "cpu") & (tc.ns_per_element_chip > cpu.ns_per_element_chip)].profile)
    on = ablation[ablation.variant == "SAIL"].set_index("batch").tokens_per_s
    off = ablation[ablation.variant == "no in-memory conversion"].set_index("batch").tokens_per_s
    gain = (on / off).rename("speed_with_over_without").reset_index()
    gain["helps"] = gain.speed_with_over_without >= 1.0
    r0 = ablation.iloc[0]
    workload = f"{r0.model} w{r0.w_bits}a{r0.a_bits}, context {r0.context}"
    rows = [
        {
            "finding_id": "conversion_cost_chip",
            "finding": (f"In our model, in-memory conversion takes {own.cycles_per_element_chip:.4f} cycles per "
                        f"element chip-wide ({int(own.units)} arrays, {prof} profile) vs {cpu.cycles_per_element_chip:.4f} "
                        f"on the {int(cpu.units)} cores: {arrays_over_cores:.2f}x the cores' time; slower than the "
                        f"cores under {len(slower_profiles)} of {len(tc) - 1} bit-serial profiles ({', '.join(slower_profiles)})"),
            "value": arrays_over_cores,
            "source_table": "sim/type_conversion.csv",
        }
    ]
    for g in gain.itertuples(index=False):
        rows.append(
            {
                "finding_id": f"conversion_speed_batch_{int(g.batch)}",
                "finding": (f"{workload}, batch {int(g.batch)}: SAIL with in-memory conversion runs at "
                            f"{g.speed_with_over_without:.4f}x the speed of SAIL with the cores converting "
                            f"({'faster' if g.helps else 'slower'}: "
                            f"{'the conversion hides under the weight stream' if g.helps else 'the arrays are the bottleneck and the conversion adds to them'})"),
                "value": float(g.speed_with_over_without),
                "source_table": "sim/ablation.csv",
            }
        )
    findings = pd.DataFrame(rows)
    verdict = qualitative_verdict(gain.helps.to_numpy())
    where = describe_region(gain[gain.helps], gain, ["batch"])
    lo, hi = gain.speed_with_over_without.min(), gain.speed_with_over_without.max()
    claim = ClaimResult(
        "type_conversion",
        f"{lo:.4f}..{hi:.4f}x SAIL speed with vs without; {arrays_over_cores:.2f}x the cores' time per element",
        f"{workload}, batch in {sorted(gain.batch.tolist())}; conversion recipe and op profile {prof} are assumptions",
        verdict,
        (f"per element the arrays are slower than the {int(cpu.units)} cores chip-wide "
         f"({own.cycles_per_element_chip:.4f} vs {cpu.cycles_per_element_chip:.4f} cycles/element); in-memory "
         f"conversion still relieves the cores and pays off only where it hides under the weight stream"),
        holds_where=where,
    )
    return findings, claim


def hardware_table(hws: list[HwConfig]) -> pd.DataFrame:
    """tab01: every parameter each description sets itself (inherited ones are listed under their base)."""
    rows = []
    for hw in sorted(hws, key=lambda h: h.name):
        rows += hw_table(hw, own_only=True)
    return pd.DataFrame(rows)


def workloads_table(models, w_bits, a_bits, batches, contexts, group_size: int) -> pd.DataFrame:
    rows = []
    for name in sorted(models):
        spec = get_model(name)
        for t, m, k, c in spec.gemv_layers():
            rows.append(
                {
                    "model": name,
                    "layer_type": t,
                    "m": m,
                    "k": k,
                    "count_per_step": c,
                    "params_m": round(m * k * c / 1e6, 3),
                }
            )
    df = pd.DataFrame(rows)
    df["w_bits"] = ",".join(map(str, sorted(w_bits)))
    df["a_bits"] = ",".join(map(str, sorted(a_bits)))
    df["batches"] = ",".join(map(str, sorted(batches)))
    df["contexts"] = ",".join(map(str, sorted(contexts)))
    df["group_size"] = group_size
    return df


# ---- claims (the one policy: sail.claims.verdict, one tolerance from config) -------------------------------
def _fmt_cfg(row, keys) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys)


def default_region(sens: pd.DataFrame, axes: dict, defaults: dict, threshold: float) -> str:
    """Where >= threshold holds with every hardware axis at its default: the smallest batch per context."""
    d = sens
    for name in sorted(axes):
        if name in defaults:
            d = d[d[name] == defaults[name]]
    parts = []
    for ctx, g in d.groupby("context", sort=True):
        ok = g[g.speedup_vs_cpu >= threshold]
        parts.append(f"context {ctx}: batch >= {int(ok.batch.min())}" if len(ok) else f"context {ctx}: never")
    return "; ".join(parts)


def speedup_claim(
    speedup: pd.DataFrame,
    sens: pd.DataFrame,
    region: pd.DataFrame,
    axes: dict,
    defaults: dict | None = None,
    rel_tol: float = 0.1,
    alternatives: dict[str, float] | None = None,
) -> ClaimResult:
    """Verdict on the "up to N x" speedup claim (the paper's value from :mod:`sail.claims`): our maximum over the default
    workload grid, judged by :func:`sail.claims.verdict`; ``holds only when`` if the default grid stays
    below it but the sensitivity grid reaches it. ``holds_where`` names the workload points of the default
    grid where the speedup reaches the paper's value minus the tolerance.

    ``alternatives`` maps a setting that was chosen with the paper in mind (e.g.
    ``"csram.overlap_read_accumulate=1"``) to our maximum under it; the row reports it beside the default.
    """
    paper = paper_value("speedup_cpu")
    label = paper_label("speedup_cpu")
    s = speedup[speedup.system == "sail"]
    best = s.loc[s.speedup_vs_cpu.idxmax()]
    val = float(best.speedup_vs_cpu)
    cfg = "default hw (config/hw/sail.yaml vs the CPU baseline), " + _fmt_cfg(best, KEYS)
    threshold = paper * (1 - rel_tol)
    sens_holds = claim_holds("speedup_cpu", sens.speedup_vs_cpu.to_numpy(), rel_tol)
    share = float(sens_holds.mean())
    verdict = claim_verdict("speedup_cpu", val, rel_tol, holds_elsewhere=bool(sens_holds.any()))
    where = describe_region(s[claim_holds("speedup_cpu", s.speedup_vs_cpu.to_numpy(), rel_tol)], s, KEYS)
    grid = f"{len(sens)}-point sensitivity grid at {best.model} w{best.w_bits}"
    if verdict == REPRODUCED:
        why = f"our maximum over the workload grid is within {rel_tol:.0%} of {label}"
    elif verdict == EXCEEDED:
        why = (
            f"our maximum is more than {rel_tol:.0%} above {label}: the model is more favourable to SAIL than the "
            f"paper; >= {threshold:.3g}x with default hw at {default_region(sens, axes, defaults or {}, threshold)}; "
            f"{share:.1%} of the {grid} reach it"
        )
    elif verdict == HOLDS_ONLY_WHEN:
        why = (
            f"default max {val:.1f}x; >= {threshold:.3g}x in {share:.1%} of the {grid} "
            f"({region_summary(region)})"
        )
    else:
        why = f"default max {val:.1f}x and no point of the {grid} reaches {threshold:.3g}x"
    for setting, alt in sorted((alternatives or {}).items()):
        why += (f"; with {setting}: max {alt:.2f}x "
                f"({claim_verdict('speedup_cpu', alt, rel_tol)})")
    where += f"; sensitivity grid: {share:.1%} of its {len(sens)} points"
    return ClaimResult("speedup_cpu", f"{val:.2f}x", cfg, verdict, why, holds_where=where)


def other_setting_max_speedup(
    sail: HwConfig, speedup: pd.DataFrame, overrides: dict, prt: pd.DataFrame | None, group_size: int
) -> float:
    """SAIL's maximum speedup over the default workload grid of ``speedup.csv`` with ``overrides`` applied
    (the CPU's tokens/s of each point reused: the override is a SAIL-only parameter)."""
    pts = speedup[speedup.system == "sail"]
    res = sweep(sail.with_overrides(overrides), pts[KEYS].reset_index(drop=True), group_size=group_size, prt=prt)
    return float((res.tokens_per_s.to_numpy() / pts.cpu_tokens_per_s.to_numpy()).max())


def region_summary(region: pd.DataFrame) -> str:
    """Parameter values at which at least one grid point reaches the threshold (batch excluded)."""
    holds_ = region[(region.share_at_or_above > 0) & (region.parameter != "batch")]
    return "; ".join(f"{p} in {{{', '.join(g.value)}}}" for p, g in holds_.groupby("parameter", sort=True))


def _prt_range(rows: pd.DataFrame) -> str:
    # a saving of -1e-17 % is rounding noise of "no saving", not a loss
    lo, hi = (0.0 if abs(v) < 0.05 else v for v in (100 * rows.cycle_saving_fraction.min(),
                                                    100 * rows.cycle_saving_fraction.max()))
    return f"{lo:.1f} %" if f"{lo:.1f}" == f"{hi:.1f}" else f"{lo:.1f}..{hi:.1f} %"


def prt_claim(
    default_rows: pd.DataFrame,
    n_bw: int,
    a_bits: int,
    rel_tol: float = 0.1,
    other_setting: tuple[str, pd.DataFrame] | None = None,
) -> ClaimResult:
    """Verdict on the PRT's cycle saving, judged over every profiled batch and ``n_bw`` at SAIL's ``a_bits``.

    ``default_rows``: the aggregate (layer_type=all) rows of :func:`sail.sim.prt.prt_saving` at the default
    PRT point (:func:`sail.sim.prt.default_point`), one per (n_bw, a_bits, batch). The point claim is
    judged at each of them; ``holds_where`` names the (n_bw, batch) points within the tolerance or above.
    ``our_value`` gives the range over the region and at SAIL's own ``n_bw``. ``other_setting`` is
    ``(setting, rows)``: the same rows under the other value of a parameter that decides the claim
    (``csram.overlap_read_accumulate``); its range and verdict are reported beside the default's.
    """
    label = paper_label("prt_cycles")
    region = default_rows[default_rows.a_bits == a_bits].sort_values(["n_bw", "batch"])
    own = region[region.n_bw == n_bw]
    if own.empty:
        return ClaimResult(
            "prt_cycles",
            "n/a",
            "no default PRT point in the profile",
            NOT_TESTABLE,
            f"the profiling table has no twos_complement/lru/32-entry/no-zero-skip rows at n_bw={n_bw}, a_bits={a_bits}",
            holds_where="not evaluated",
        )
    values = 100 * region.cycle_saving_fraction.to_numpy()
    verdict = claim_verdict("prt_cycles", values, rel_tol)
    ok = region[claim_holds("prt_cycles", values, rel_tol)]
    per_n_bw = "; ".join(
        f"n_bw={nb}: " + (f"batch in {{{', '.join(str(int(b)) for b in sorted(g.batch))}}}" if len(g) else "never")
        for nb, g in ((nb, ok[ok.n_bw == nb]) for nb in sorted(region.n_bw.unique()))
    )
    where = f"{len(ok)} of {len(region)} (n_bw, batch) points: {per_n_bw}"
    r0 = own.iloc[0]
    cfg = (
        f"{r0.model} shapes, w_bits={r0.w_bits}, a_bits={a_bits}, n_bw in {sorted(region.n_bw.unique().tolist())} "
        f"(SAIL: {n_bw}), batch in {sorted(region.batch.unique().tolist())}, PRT 32 entries LRU, two's complement"
    )
    pv = point_verdicts(values, paper_value("prt_cycles"), rel_tol)
    counts = ", ".join(f"{v} at {int((pv == v).sum())}" for v in (REPRODUCED, EXCEEDED, NOT_REPRODUCED))
    why = (
        f"C-SRAM computation cycles (build + lookups + exposed accumulates) with vs without the PRT, at every "
        f"profiled batch and n_bw; a hit skips the SRAM read but still accumulates (assumption); "
        f"paper {label} +-{rel_tol:.0%}: {counts} of the {len(region)} points"
    )
    if other_setting is not None:
        setting, rows = other_setting
        rows = rows[rows.a_bits == a_bits]
        alt_own = rows[rows.n_bw == n_bw]
        alt_v = claim_verdict("prt_cycles", 100 * rows.cycle_saving_fraction.to_numpy(), rel_tol)
        why += (f". With {setting}: {_prt_range(rows)} over the region, {_prt_range(alt_own)} at n_bw={n_bw} "
                f"({alt_v}); the default setting's source says why it was chosen")
    our = f"{_prt_range(own)} at n_bw={n_bw}; {_prt_range(region)} over all n_bw"
    return ClaimResult("prt_cycles", our, cfg, verdict, why, holds_where=where)


def area_claim_from_readings(readings: dict[str, float], default: str, configuration: str,
                             rel_tol: float = 0.1, note: str = "") -> ClaimResult:
    """Verdict on the 2 % overhead over every reading of the hardware (placement of arrays, PRTs,
    accumulators): ``readings`` maps a reading's name to its overhead in % of the LLC; ``default`` is the
    description's own reading (our value). Judged at every reading; ``holds_where`` names those that reach it.
    """
    if default not in readings:
        raise ValueError(f"default reading {default!r} is not among {sorted(readings)}")
    names = list(readings)
    values = [readings[n] for n in names]
    verdict = claim_verdict("area_overhead", values, rel_tol)
    ok = [n for n, h in zip(names, claim_holds("area_overhead", values, rel_tol)) if h]
    where = ("; ".join(ok) + f" ({len(ok)} of {len(names)} readings)") if ok else f"none of the {len(names)} readings"
    listing = "; ".join(f"{readings[n]:.1f} % {n}" for n in names)
    why = (f"% of LLC area at CACTI 22 nm: {listing}. Peripheral (PRT, adder, controller) areas are assumptions; "
           f"the denominator of the paper's {paper_label('area_overhead')} is unknown")
    if note:
        why += f"; {note}"
    return ClaimResult("area_overhead", f"{readings[default]:.1f} %", configuration, verdict, why, holds_where=where)


def area_claim(sail: HwConfig, rel_tol: float = 0.1) -> ClaimResult:
    """The 2 % claim judged under every reading tab05 gives (arrays repurposed or added; PRT per array or per
    slice; accumulators for 1..64 tokens): every ``total, ...`` row of :func:`area_breakdown`. Our value is the
    description's own reading (:func:`overhead_pct`)."""
    df = area_breakdown(sail)
    totals = df[df.component.str.startswith("total")]
    readings = {str(c).removeprefix("total, "): float(v) for c, v in zip(totals.component, totals.pct_of_llc)}
    own = overhead_pct(sail)
    default = min(readings, key=lambda n: abs(readings[n] - own))
    cfg = (f"{int(sail.value('llc.slices'))} slices x {int(sail.value('csram.arrays_per_slice'))} arrays of "
           f"{int(sail.value('csram.rows'))}x{int(sail.value('csram.cols'))}; our value: {default}")
    return area_claim_from_readings(readings, default, cfg, rel_tol)


def benchmark_row(n_points: int, seconds: float, threads: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "n_points": n_points,
                "seconds": seconds,
                "points_per_s": n_points / seconds,
                "threads": threads,
                "under_60_s": bool(seconds < 60),
            }
        ]
    )


def best_workload(speedup: pd.DataFrame) -> dict:
    s = speedup[speedup.system == "sail"]
    best = s.loc[s.speedup_vs_cpu.idxmax()]
    return {k: (best[k] if k == "model" else int(best[k])) for k in ("model", "w_bits", "a_bits")}
