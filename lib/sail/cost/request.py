"""Cost of whole requests (prompt + generated tokens) and tokens per joule beside tokens per dollar.

``request_cost`` prices the simulator's ``request.csv`` (sail.sim.prefill): a request of ``batch``
sequences with ``prompt_tokens`` each and ``generated_tokens`` each occupies the instance for
``request_s``; its price is ``usd_per_hour x request_s / 3600``. Two tokens-per-dollar figures:
``generated_per_dollar`` (only the new tokens count, the usual serving metric) and
``request_tokens_per_dollar`` (prompt + generated). The decode-only tokens per dollar stays in
``tpd.csv``. ``attach_energy`` adds tokens per joule to the decode cost table.
"""

from __future__ import annotations

import pandas as pd

from sail.cost.prices import usd_per_hour
from sail.cost.tpd import DECODE_KEYS, SECONDS_PER_HOUR, SystemPrice, sail_usd_per_hour

REQUEST_KEYS = ["model", "w_bits", "a_bits", "batch", "prompt_tokens", "generated_tokens"]
REQUEST_COLUMNS = ["system", "hw", *REQUEST_KEYS, "prefill_s", "ttft_s", "decode_s", "request_s"]


def attach_energy(cost: pd.DataFrame, energy: pd.DataFrame) -> pd.DataFrame:
    """``cost`` (tpd.csv rows) with ``energy_per_token_j`` and ``tokens_per_j`` from the simulator's
    energy.csv, matched on the hardware description and the decode point; rows without an energy model
    keep NaN. Raises ``ValueError`` if energy.csv lacks a column."""
    need = ["hw", *DECODE_KEYS, "energy_per_token_j", "tokens_per_j"]
    missing = [c for c in need if c not in energy.columns]
    if missing:
        raise ValueError(f"energy table lacks column(s) {missing}")
    out = cost.drop(columns=[c for c in ("energy_per_token_j", "tokens_per_j") if c in cost.columns])
    merged = out.merge(energy[need], on=["hw", *DECODE_KEYS], how="left", validate="many_to_one")
    return merged


def request_cost(request: pd.DataFrame, prices: pd.DataFrame, systems: list[SystemPrice],
                 overhead_fraction: float, multiplier: float = 1.0) -> pd.DataFrame:
    """One row per (priced system, request point): price, USD per request, tokens per dollar, TTFT."""
    missing = [c for c in REQUEST_COLUMNS if c not in request.columns]
    if missing:
        raise ValueError(f"request table lacks column(s) {missing}")
    bad = request[~(request["request_s"] > 0)]
    if len(bad):
        raise ValueError(f"request_s must be > 0; bad rows:\n{bad[REQUEST_COLUMNS].head()}")
    frames = []
    for sp in sorted(systems, key=lambda s: s.system):
        rows = request[request["hw"] == sp.hw_name].copy()
        if rows.empty:
            raise ValueError(f"hw {sp.hw_name!r} (priced as {sp.system!r}) has no rows in the request table")
        # each request is priced on the instance that holds it (several GPUs when it needs them)
        n_dev = rows["n_devices"].astype(int) if "n_devices" in rows.columns else pd.Series(1, index=rows.index)
        instances = {n: sp.instance_for(n) for n in sorted(set(n_dev))}
        base = n_dev.map({n: usd_per_hour(prices, i) for n, i in instances.items()}).astype(float)
        price = base.map(lambda b: sail_usd_per_hour(b, overhead_fraction, multiplier)) if sp.add_overhead else base
        rows["system"] = sp.system
        rows["instance"] = n_dev.map(instances)
        rows["usd_per_hour"] = price.to_numpy()
        rows["usd_per_request"] = price * rows["request_s"] / SECONDS_PER_HOUR
        rows["generated_per_dollar"] = rows["batch"] * rows["generated_tokens"] / rows["usd_per_request"]
        rows["request_tokens_per_dollar"] = (rows["batch"] * (rows["prompt_tokens"] + rows["generated_tokens"])
                                             / rows["usd_per_request"])
        frames.append(rows)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["system", *REQUEST_KEYS], kind="mergesort").reset_index(drop=True)


def request_ratios(cost: pd.DataFrame, system: str, baseline: str, match_on: list[str]) -> pd.DataFrame:
    """``system`` over ``baseline`` per request point: generated tokens per dollar, per joule, and TTFT.

    ``match_on`` is a subset of :data:`REQUEST_KEYS` (the mix columns are always matched); when several
    baseline rows match (a V100 at several precisions), the one with the best generated tokens per
    dollar is used, so the ratio never flatters ``system``.
    """
    on = sorted(set(match_on) | {"prompt_tokens", "generated_tokens"}, key=REQUEST_KEYS.index)
    ours, theirs = cost[cost["system"] == system], cost[cost["system"] == baseline]
    for name, rows in ((system, ours), (baseline, theirs)):
        if rows.empty:
            raise ValueError(f"system {name!r} has no rows in the request cost table")
    best = theirs.loc[theirs.groupby(on, sort=True)["generated_per_dollar"].idxmax().to_numpy()]
    cols = ["generated_per_dollar", "ttft_s", "request_s"] + (["generated_per_j"] if "generated_per_j" in best else [])
    best = best[on + cols].rename(columns={c: f"baseline_{c}" for c in cols})
    m = ours.merge(best, on=on, how="inner", validate="many_to_one")
    if m.empty:
        raise ValueError(f"no request of {system!r} matches {baseline!r} on {on}")
    m.insert(0, "baseline", baseline)
    m["generated_per_dollar_ratio"] = m["generated_per_dollar"] / m["baseline_generated_per_dollar"]
    m["ttft_ratio"] = m["baseline_ttft_s"] / m["ttft_s"]  # > 1: SAIL answers first
    if "generated_per_j" in m and "baseline_generated_per_j" in m:
        m["generated_per_j_ratio"] = m["generated_per_j"] / m["baseline_generated_per_j"]
    return m.sort_values(REQUEST_KEYS, kind="mergesort").reset_index(drop=True)
