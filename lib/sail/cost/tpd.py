"""Tokens per dollar (TPD) of SAIL and its baselines, their ratios, and the two TPD claims (docs/sources.md).

``TPD = 3600 · tokens/s / price_per_hour`` (the cloud, on-demand form; arXiv 2404.14527 uses it).
Nobody rents SAIL, so it is priced as the CPU instance it extends times ``1 + multiplier · overhead``,
with ``overhead`` the area overhead fraction from the simulator's area model and ``multiplier`` the
area-to-price mapping (1 by default; :func:`price_sensitivity` sweeps it and the instances).

A consequence that the claims table states: when SAIL and the CPU baseline are priced on the same
instance, ``TPD ratio = speedup / (1 + multiplier · overhead) <= speedup`` for every configuration,
so a TPD ratio larger than the speedup cannot come out of this mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sail.claims import (
    EXCEEDED,
    NOT_REPRODUCED,
    REPRODUCED,
    ClaimResult,
    claim_holds,
    claim_verdict,
    describe_region,
    paper_claim,
    paper_value,
)
from sail.cost.prices import usd_per_hour

SECONDS_PER_HOUR = 3600.0

# Columns of the simulator's decode table (results/<exp>/sim/decode.csv) that the cost stage reads.
DECODE_KEYS = ["model", "w_bits", "a_bits", "batch", "context"]
DECODE_COLUMNS = ["system", "hw", *DECODE_KEYS, "tokens_per_s"]
# Optional capacity columns (sail.sim.capacity) carried into the cost table when the decode table has them.
CAPACITY_COLUMNS = ["memory_bytes", "capacity_bytes", "n_devices"]


def tokens_per_dollar(tokens_per_s, usd_per_hour_: float | np.ndarray):
    """``3600 · tokens_per_s / usd_per_hour`` (tokens per USD); arrays broadcast.

    Raises ``ValueError`` for a non-positive price or a negative / non-finite throughput.
    """
    t = np.asarray(tokens_per_s, dtype=float)
    p = np.asarray(usd_per_hour_, dtype=float)
    if np.any(~(p > 0)):
        raise ValueError(f"usd_per_hour must be > 0, got {usd_per_hour_!r}")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"tokens_per_s must be finite and >= 0, got {tokens_per_s!r}")
    out = SECONDS_PER_HOUR * t / p
    return float(out) if out.ndim == 0 else out


def sail_usd_per_hour(cpu_usd_per_hour: float, overhead_fraction: float, multiplier: float = 1.0) -> float:
    """SAIL's price: the CPU instance's ``usd_per_hour · (1 + multiplier · overhead_fraction)``.

    Parameters
    ----------
    cpu_usd_per_hour : price of the CPU instance SAIL extends (> 0).
    overhead_fraction : SAIL's area overhead as a fraction of the chip (0.02 for the paper's 2 %), in [0, 1).
    multiplier : area-to-price mapping; 1 means price grows like area, 3 that each % of area costs 3 % of price.
    """
    if not cpu_usd_per_hour > 0:
        raise ValueError(f"cpu_usd_per_hour must be > 0, got {cpu_usd_per_hour!r}")
    if not 0 <= overhead_fraction < 1:
        raise ValueError(f"overhead_fraction must be in [0, 1), got {overhead_fraction!r}")
    if not multiplier >= 0:
        raise ValueError(f"multiplier must be >= 0, got {multiplier!r}")
    return cpu_usd_per_hour * (1.0 + multiplier * overhead_fraction)


def overhead_from_area(area: pd.DataFrame) -> float:
    """SAIL's area overhead fraction from the simulator's ``area.csv``.

    Contract: a column ``overhead_fraction``; if a ``component`` column exists the row whose
    component is ``total`` is used, otherwise the table must have exactly one row.
    """
    if "overhead_fraction" not in area.columns:
        raise ValueError(f"area table has no 'overhead_fraction' column; columns: {list(area.columns)}")
    rows = area
    if "component" in area.columns:
        rows = area[area["component"].astype(str) == "total"]
    if len(rows) != 1:
        raise ValueError(f"area table must give exactly one total overhead_fraction, found {len(rows)} rows")
    value = float(rows["overhead_fraction"].iloc[0])
    if not 0 <= value < 1:
        raise ValueError(f"overhead_fraction must be in [0, 1), got {value!r}")
    return value


@dataclass(frozen=True)
class SystemPrice:
    """How one simulated system is priced: the instance it runs on, and whether SAIL's overhead applies.

    ``system`` is the label the cost tables use (``sail``, ``cpu``, ``v100``); ``hw`` names the
    hardware description whose rows of the decode table it takes (the ``hw`` column, e.g.
    ``graviton2`` for the CPU); it defaults to the label.
    """

    system: str
    instance: str
    add_overhead: bool = False
    hw: str | None = None
    # (devices, instance) for configurations the simulator placed on several devices (decode column
    # ``n_devices``, sail.sim.capacity), e.g. ((4, "p3.8xlarge"), (8, "p3.16xlarge")); ``instance`` is 1 device.
    scale_out: tuple = ()

    @classmethod
    def from_config(cls, systems: dict) -> list["SystemPrice"]:
        """The ``cost.systems`` block of config/config.yaml (name -> instance, add_overhead, hw,
        scale_out), one :class:`SystemPrice` per name in name order."""
        return [cls(name, s["instance"], s["add_overhead"], s["hw"],
                    tuple((o["devices"], o["instance"]) for o in s.get("scale_out", [])))
                for name, s in sorted(systems.items())]

    @property
    def hw_name(self) -> str:
        return self.hw if self.hw is not None else self.system

    def instance_for(self, n_devices: int) -> str:
        """The instance that holds ``n_devices`` devices; ``ValueError`` naming the count when none is priced."""
        table = {1: self.instance} | {int(n): str(i) for n, i in self.scale_out}
        try:
            return table[int(n_devices)]
        except KeyError:
            raise ValueError(
                f"{self.system}: a configuration needs {n_devices} devices but only {sorted(table)} are priced "
                f"(scale_out of the cost config)"
            ) from None


def check_decode(decode: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming missing columns or bad throughputs in the simulator's decode table."""
    missing = [c for c in DECODE_COLUMNS if c not in decode.columns]
    if missing:
        raise ValueError(f"decode table lacks column(s) {missing}; has {list(decode.columns)}")
    bad = decode[~(decode["tokens_per_s"] > 0)]
    if len(bad):
        raise ValueError(f"tokens_per_s must be > 0; bad rows:\n{bad[DECODE_COLUMNS].head()}")


def cost_table(
    decode: pd.DataFrame,
    prices: pd.DataFrame,
    systems: list[SystemPrice],
    overhead_fraction: float,
    multiplier: float = 1.0,
) -> pd.DataFrame:
    """Price every decode row of a priced system: one row per (system, configuration).

    Rows are taken by hardware description (``decode.hw == SystemPrice.hw_name``) and relabelled
    with ``SystemPrice.system``. Hardware in ``decode`` without an entry in ``systems`` (e.g. other
    PIM designs, which no cloud rents and whose overhead the simulator does not price) is left
    out. Raises ``ValueError`` if an entry of ``systems`` has no rows in ``decode``.
    """
    check_decode(decode)
    frames = []
    for sp in sorted(systems, key=lambda s: s.system):
        rows = decode[decode["hw"] == sp.hw_name]
        if rows.empty:
            raise ValueError(f"hw {sp.hw_name!r} (priced as {sp.system!r}) has no rows in the decode table; "
                             f"hw present: {sorted(decode['hw'].unique())}")
        overhead = overhead_fraction * multiplier if sp.add_overhead else 0.0
        extra = [c for c in CAPACITY_COLUMNS if c in rows.columns]
        out = rows[DECODE_COLUMNS + extra].copy()
        # Capacity: each row is priced on the instance that holds it (several GPUs when it needs them).
        n_dev = rows["n_devices"].astype(int) if "n_devices" in rows.columns else pd.Series(1, index=rows.index)
        instances = {n: sp.instance_for(n) for n in sorted(set(n_dev))}
        base = n_dev.map({n: usd_per_hour(prices, i) for n, i in instances.items()}).astype(float)
        if sp.add_overhead:  # validates the overhead and the multiplier
            sail_usd_per_hour(float(base.iloc[0]), overhead_fraction, multiplier)
        price = base * (1.0 + overhead) if sp.add_overhead else base
        out["system"] = sp.system
        out["instance"] = n_dev.map(instances)
        out["price_overhead_fraction"] = overhead
        out["usd_per_hour"] = price.to_numpy()
        out["tokens_per_dollar"] = tokens_per_dollar(out["tokens_per_s"].to_numpy(), out["usd_per_hour"].to_numpy())
        out["usd_per_million_tokens"] = 1e6 / out["tokens_per_dollar"]
        frames.append(out)
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["system", *DECODE_KEYS, "hw"], kind="mergesort").reset_index(drop=True)


def tpd_ratios(cost: pd.DataFrame, system: str, baseline: str, match_on: list[str]) -> pd.DataFrame:
    """TPD and speed ratio of ``system`` over ``baseline`` for every configuration of ``system``.

    Each ``system`` row is compared with the ``baseline`` rows that agree on ``match_on`` (a subset
    of model, w_bits, a_bits, batch, context); if several do (e.g. a V100 at several precisions),
    the baseline's best TPD among them is used, so the ratio never flatters ``system``. The chosen
    baseline row's configuration is kept in ``baseline_*`` columns. Rows of ``system`` without a
    match are dropped; ``ValueError`` if none match.
    """
    unknown = [c for c in match_on if c not in DECODE_KEYS]
    if unknown:
        raise ValueError(f"match_on may only use {DECODE_KEYS}, got {unknown}")
    if not match_on:
        raise ValueError("match_on must name at least one column")
    ours = cost[cost["system"] == system]
    theirs = cost[cost["system"] == baseline]
    for name, rows in ((system, ours), (baseline, theirs)):
        if rows.empty:
            raise ValueError(f"system {name!r} has no rows in the cost table")
    # Best baseline row per match key; ties broken by the sorted order of the cost table.
    best_idx = theirs.groupby(match_on, sort=True)["tokens_per_dollar"].idxmax()
    best = theirs.loc[best_idx.to_numpy()]
    keep = [*match_on, *[c for c in DECODE_KEYS if c not in match_on], "hw", "instance", "usd_per_hour",
            "tokens_per_s", "tokens_per_dollar"] + [c for c in CAPACITY_COLUMNS if c in theirs.columns]
    keep += [c for c in ("tokens_per_j",) if c in theirs.columns]  # energy, when the cost table carries it
    best = best[keep].rename(columns={c: f"baseline_{c}" for c in keep if c not in match_on})
    merged = ours.merge(best, on=match_on, how="inner", validate="many_to_one")
    if merged.empty:
        raise ValueError(f"no configuration of {system!r} matches {baseline!r} on {match_on}")
    merged.insert(0, "baseline", baseline)
    merged["speedup"] = merged["tokens_per_s"] / merged["baseline_tokens_per_s"]
    merged["tpd_ratio"] = merged["tokens_per_dollar"] / merged["baseline_tokens_per_dollar"]
    if "tokens_per_j" in merged.columns and "baseline_tokens_per_j" in merged.columns:
        merged["tpj_ratio"] = merged["tokens_per_j"] / merged["baseline_tokens_per_j"]
    return merged.sort_values([*DECODE_KEYS, "hw"], kind="mergesort").reset_index(drop=True)


def paper_factor(claim_id: str) -> float:
    """The paper's value of an "up to N x" claim (from :data:`sail.claims.PAPER_CLAIMS`)."""
    if paper_claim(claim_id).unit != "x":
        raise ValueError(f"claim {claim_id!r} is not an 'N x' factor")
    return paper_value(claim_id)


def configuration_string(row: pd.Series, keys: list[str] = DECODE_KEYS) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys)


def tpd_claim(
    ratios: pd.DataFrame,
    claim_id: str,
    rel_tol: float,
    speedup_claim_id: str | None = "speedup_cpu",
) -> ClaimResult:
    """Verdict on an "up to N x TPD" claim from a :func:`tpd_ratios` table, by :func:`sail.claims.verdict`.

    Our value is the maximum TPD ratio over all configurations (the paper's is a maximum too):
    ``reproduced`` within ``rel_tol``, ``exceeded`` above it, ``not reproduced`` below it. The row
    names the configurations where the ratio reaches the paper's factor minus the tolerance.
    ``speedup_claim_id`` (only for the CPU baseline) adds the consistency check between the paper's
    speedup and TPD claims, which the price mapping makes incompatible.
    """
    if ratios.empty:
        raise ValueError("ratio table is empty")
    paper = paper_factor(claim_id)
    top = ratios.loc[ratios["tpd_ratio"].idxmax()]
    ours = float(top["tpd_ratio"])
    baseline = str(top["baseline"])
    # The baseline's own precision when it was free to differ (a V100 matched on shape and batch only).
    # NaN: matched on that column, so it equals SAIL's and is not repeated.
    own = "".join(f" {k}={int(top[f'baseline_{k}'])}" for k in ("w_bits", "a_bits")
                  if f"baseline_{k}" in top.index and pd.notna(top[f"baseline_{k}"]))
    configuration = (
        f"{configuration_string(top)}; {top['system']} on {top['instance']} at {top['usd_per_hour']:.4g} $/h "
        f"(overhead x{1 + top['price_overhead_fraction']:.4g}) vs {baseline}{own and ' (' + own.strip() + ')'} "
        f"on {top['baseline_instance']} at {top['baseline_usd_per_hour']:.4g} $/h"
    )
    verdict = claim_verdict(claim_id, ours, rel_tol)
    where = describe_region(ratios[claim_holds(claim_id, ratios["tpd_ratio"].to_numpy(), rel_tol)], ratios, DECODE_KEYS)
    if verdict == REPRODUCED:
        why = f"our maximum is within {rel_tol:.0%} of the paper's."
    elif verdict == EXCEEDED:
        why = (f"our maximum is more than {rel_tol:.0%} above the paper's: the model is more favourable to SAIL "
               f"than the paper where the ratio reaches it (median over all configurations "
               f"{ratios['tpd_ratio'].median():.3g}x).")
    else:
        assert verdict == NOT_REPRODUCED
        price_ratio = top["baseline_usd_per_hour"] / top["usd_per_hour"]
        why = (f"our best TPD ratio is {ours:.3g}x at speedup {top['speedup']:.3g}x (price ratio {price_ratio:.3g}); "
               f"at these prices {paper:g}x would need a {paper / price_ratio:.3g}x speedup over {baseline}.")
    if speedup_claim_id is not None and (top["instance"] == top["baseline_instance"]):
        speedup_paper = paper_factor(speedup_claim_id)
        # With one instance for both, TPD ratio = speedup / (1 + overhead): the paper's pair of
        # numbers would need SAIL priced at this fraction of the CPU instance.
        needed = speedup_paper / paper
        why += (f" Pricing SAIL as the same instance x (1 + overhead) makes TPD ratio = speedup / "
                f"{1 + top['price_overhead_fraction']:.4g} <= speedup, so the paper's {paper:g}x TPD and "
                f"{speedup_paper:g}x speedup cannot both hold on one configuration; they would need SAIL "
                f"priced at {needed:.2f}x the CPU instance's price.")
        if verdict == REPRODUCED:
            # Agreement reached through a different speedup than the paper's is a coincidence of numbers.
            why += (f" Our speedup at that configuration is {top['speedup']:.3g}x, not the paper's "
                    f"{speedup_paper:g}x, so the agreement in TPD does not confirm the paper's pair of claims.")
    return ClaimResult(claim_id=claim_id, our_value=f"{ours:.3g}x", configuration=configuration,
                       verdict=verdict, why=why, holds_where=where)


def price_sensitivity(
    decode: pd.DataFrame,
    prices: pd.DataFrame,
    overhead_fraction: float,
    multipliers: list[float],
    cpu_instances: list[str],
    sail_instances: list[str],
    v100_instance: str,
    match_on: dict[str, list[str]],
    hw: dict[str, str] | None = None,
    v100_scale_out: tuple = (),
) -> pd.DataFrame:
    """Maximum TPD ratio of SAIL vs the CPU and the V100 for every price mapping in a grid.

    The grid is ``sail_instances x cpu_instances x multipliers``; SAIL on an instance different
    from the CPU baseline's is the "cheaper instance than the speed baseline" case of docs/sources.md
    (price mapping). One row per grid point, with the configuration of each maximum.
    ``hw`` maps the labels ``sail``, ``cpu``, ``v100`` to hardware descriptions (default: the labels).
    """
    sail_system, cpu_system, v100_system = "sail", "cpu", "v100"
    hw = {"sail": "sail", "cpu": "cpu", "v100": "v100"} | (hw or {})
    if not multipliers or not cpu_instances or not sail_instances:
        raise ValueError("multipliers, cpu_instances and sail_instances must be non-empty")
    rows = []
    for sail_inst in sorted(sail_instances):
        for cpu_inst in sorted(cpu_instances):
            for mult in sorted(multipliers):
                systems = [SystemPrice(sail_system, sail_inst, True, hw["sail"]),
                           SystemPrice(cpu_system, cpu_inst, False, hw["cpu"]),
                           SystemPrice(v100_system, v100_instance, False, hw["v100"], tuple(v100_scale_out))]
                cost = cost_table(decode, prices, systems, overhead_fraction, mult)
                row = {"sail_instance": sail_inst, "cpu_instance": cpu_inst, "overhead_multiplier": mult,
                       "sail_usd_per_hour": float(cost.loc[cost["system"] == sail_system, "usd_per_hour"].iloc[0])}
                for base in (cpu_system, v100_system):
                    r = tpd_ratios(cost, sail_system, base, match_on[base])
                    top = r.loc[r["tpd_ratio"].idxmax()]
                    row[f"max_tpd_ratio_{base}"] = float(top["tpd_ratio"])
                    row[f"at_{base}"] = configuration_string(top)
                rows.append(row)
    return pd.DataFrame(rows)
