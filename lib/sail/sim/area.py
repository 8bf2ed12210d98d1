"""Area overhead of SAIL's additions from CACTI-derived array numbers (tab05, claim area_overhead).

The counts come from :class:`sail.sim.mapping.SailResources`, the same object the timing model maps GEMVs
onto: the number of PRTs follows ``prt_scope`` (one per array, or one per slice), the accumulator registers
follow ``dfm.acc_tokens x dfm.acc_lanes x dfm.acc_bits`` per array, the adders ``dfm.acc_lanes`` per array.
So the area is the area of the hardware the timing uses (tests/sim/test_mapping.py checks it).
"""

from __future__ import annotations

import pandas as pd

from sail.sim.hw import HwConfig
from sail.sim.mapping import PRT_SCOPES, SailResources, resources_from_params

# Accumulator provisioning shown in tab05 beside the description's own (tokens of accumulators per array).
ACC_TOKENS_SHOWN = (1, 8, 64)


def _components(hw: HwConfig, res: SailResources) -> dict[str, float]:
    v = hw.value
    bit = v("dfm.bit_area_mm2")
    return {
        "arrays": float(res.arrays * v("csram.array_area_mm2")),
        "prt": float(res.prt_bits * bit),
        "acc": float(res.acc_register_bits * bit),
        "adders": float(res.adders * v("dfm.adder_area_mm2_per_lane")),
        "ctrl": float(res.slices * v("dfm.controller_area_mm2_per_slice")),
    }


def _resources(hw: HwConfig, **over) -> SailResources:
    p = hw.values()
    opts = {k: o.value for k, o in hw.options.items()}
    if "acc_tokens" in over:
        p = p | {"dfm.acc_tokens": float(over["acc_tokens"])}
    if "prt_scope" in over:
        opts = opts | {"prt_scope": over["prt_scope"]}
    return resources_from_params(p, opts)


def area_breakdown(hw: HwConfig) -> pd.DataFrame:
    """Rows (component, mm2 for the chip, % of the LLC area): the description's own resources, its totals for
    both readings of 'the arrays', and the total under every PRT scope x accumulator provisioning.

    The paper's 2 % is against an unknown denominator (not in the abstract); we report it against the LLC
    area at the same CACTI node (22 nm), the only area we can compute consistently. ``arrays_repurposed = 1``
    means the C-SRAM arrays are LLC ways given compute peripherals, so they add no area; the row with extra
    arrays is reported beside it either way.
    """
    if hw.system != "sail":
        raise ValueError(f"area_breakdown needs a sail description, got {hw.system!r}")
    res = _resources(hw)
    llc = float(res.slices * hw.value("csram.slice_area_mm2"))
    c = _components(hw, res)
    n_prt = int(res.prt_tables)
    acc_t = int(res.acc_tokens)
    rows = [
        ("C-SRAM arrays (if added, not repurposed)", c["arrays"]),
        (f"PRT ({n_prt} tables, {res.prt_scope})", c["prt"]),
        (f"accumulator registers ({acc_t} tokens per array)", c["acc"]),
        ("near-array adders", c["adders"]),
        ("DFM controller", c["ctrl"]),
    ]
    peripherals = c["prt"] + c["acc"] + c["adders"] + c["ctrl"]
    rows += [
        ("total, arrays repurposed from LLC ways", peripherals),
        ("total, arrays added beside the slices", peripherals + c["arrays"]),
    ]
    for scope in PRT_SCOPES:
        for tokens in ACC_TOKENS_SHOWN:
            ci = _components(hw, _resources(hw, prt_scope=scope, acc_tokens=tokens))
            rows.append(
                (
                    f"total, arrays repurposed, PRT {scope}, accumulators for {tokens} tokens",
                    ci["prt"] + ci["acc"] + ci["adders"] + ci["ctrl"],
                )
            )
    rows.append(("LLC (denominator)", llc))
    df = pd.DataFrame(rows, columns=["component", "area_mm2"])
    df["pct_of_llc"] = 100 * df.area_mm2 / llc
    return df


def overhead_pct(hw: HwConfig) -> float:
    """The overhead under the description's own reading (``csram.arrays_repurposed``)."""
    df = area_breakdown(hw).set_index("component")
    key = (
        "total, arrays repurposed from LLC ways"
        if hw.value("csram.arrays_repurposed")
        else "total, arrays added beside the slices"
    )
    return float(df.loc[key, "pct_of_llc"])
