"""Tokens per dollar, SAIL's price mapping, ratios and the TPD claim verdicts, checked against plain arithmetic."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sail.claims import PAPER_CLAIMS
from sail.cost import (
    DECODE_KEYS,
    SystemPrice,
    cost_table,
    overhead_from_area,
    paper_factor,
    price_sensitivity,
    sail_usd_per_hour,
    tokens_per_dollar,
    tpd_claim,
    tpd_ratios,
)

SYSTEMS = [SystemPrice("cpu", "m6g.16xlarge", hw="graviton2"), SystemPrice("sail", "m6g.16xlarge", add_overhead=True),
           SystemPrice("v100", "p3.2xlarge", hw="v100")]
HW = {"cpu": "graviton2"}
MATCH = {"cpu": ["model", "w_bits", "a_bits", "batch", "context"], "v100": ["model", "batch", "context"]}


def test_tokens_per_dollar_worked_example_from_the_reference_note():
    # by hand: "at 10 tok/s, TPD is 14,610 tokens/$ on m6g.16xlarge ... 11,765 on p3.2xlarge"
    assert tokens_per_dollar(10.0, 2.464) == pytest.approx(14610, abs=1)
    assert tokens_per_dollar(10.0, 3.06) == pytest.approx(11765, abs=1)


@settings(max_examples=50, deadline=None)
@given(t=st.floats(0, 1e6), p=st.floats(1e-3, 1e3), k=st.floats(0.1, 10))
def test_tokens_per_dollar_is_linear_in_throughput_and_inverse_in_price(t, p, k):
    assert tokens_per_dollar(k * t, p) == pytest.approx(k * tokens_per_dollar(t, p), rel=1e-12, abs=1e-9)
    assert tokens_per_dollar(t, k * p) == pytest.approx(tokens_per_dollar(t, p) / k, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("t, p", [(1.0, 0.0), (1.0, -2.0), (-1.0, 1.0), (float("nan"), 1.0)])
def test_tokens_per_dollar_rejects_bad_inputs(t, p):
    with pytest.raises(ValueError):
        tokens_per_dollar(t, p)


def test_sail_price_mapping():
    assert sail_usd_per_hour(2.464, 0.02) == pytest.approx(2.464 * 1.02)
    assert sail_usd_per_hour(2.464, 0.02, multiplier=3) == pytest.approx(2.464 * 1.06)
    assert sail_usd_per_hour(2.464, 0.0) == 2.464
    for bad in ({"overhead_fraction": -0.1}, {"overhead_fraction": 1.0}, {"multiplier": -1}):
        kw = {"cpu_usd_per_hour": 2.0, "overhead_fraction": 0.02, "multiplier": 1.0} | bad
        with pytest.raises(ValueError, match=str(next(iter(bad.values())))):
            sail_usd_per_hour(**kw)


def test_overhead_from_area_contract(area):
    assert overhead_from_area(area) == 0.02
    assert overhead_from_area(pd.DataFrame({"overhead_fraction": [0.03]})) == 0.03
    with pytest.raises(ValueError, match="overhead_fraction"):
        overhead_from_area(pd.DataFrame({"fraction": [0.03]}))
    with pytest.raises(ValueError, match="exactly one"):
        overhead_from_area(pd.DataFrame({"overhead_fraction": [0.01, 0.02]}))


def test_cost_table_matches_a_row_by_row_reference(decode, prices):
    cost = cost_table(decode, prices, SYSTEMS, overhead_fraction=0.02, multiplier=1.0)
    assert set(cost["system"]) == {"cpu", "sail", "v100"}  # neural_cache has no price mapping: left out
    assert len(cost) == decode["hw"].isin(["graviton2", "sail", "v100"]).sum()  # unpriced hw are left out
    price = {"cpu": 2.464, "sail": 2.464 * 1.02, "v100": 3.06}
    for _, r in cost.iterrows():  # the obvious twin: one multiplication and one division per row
        assert r["usd_per_hour"] == pytest.approx(price[r["system"]])
        assert r["tokens_per_dollar"] == pytest.approx(3600 * r["tokens_per_s"] / price[r["system"]])
        assert r["usd_per_million_tokens"] * r["tokens_per_dollar"] == pytest.approx(1e6)


def test_cost_table_rejects_missing_system_and_columns(decode, prices):
    with pytest.raises(ValueError, match="'tpu'"):
        cost_table(decode, prices, [*SYSTEMS, SystemPrice("tpu", "p3.2xlarge")], 0.02)
    # the decode table's own `system` column (gpu, pim_bitserial) is not what selects rows: hw is
    with pytest.raises(ValueError, match="'gpu'"):
        cost_table(decode, prices, [SystemPrice("gpu", "p3.2xlarge")], 0.02)
    with pytest.raises(ValueError, match="tokens_per_s"):
        cost_table(decode.drop(columns="tokens_per_s"), prices, SYSTEMS, 0.02)
    with pytest.raises(ValueError, match="tokens_per_s must be > 0"):
        cost_table(decode.assign(tokens_per_s=0.0), prices, SYSTEMS, 0.02)


def _naive_ratios(cost, system, baseline, match_on):
    out = []
    for _, r in cost[cost["system"] == system].iterrows():
        cands = cost[(cost["system"] == baseline)]
        for k in match_on:
            cands = cands[cands[k] == r[k]]
        if len(cands):
            out.append(r["tokens_per_dollar"] / cands["tokens_per_dollar"].max())
    return sorted(out)


@pytest.mark.parametrize("baseline", ["cpu", "v100"])
def test_tpd_ratios_match_naive_twin(decode, prices, baseline):
    cost = cost_table(decode, prices, SYSTEMS, 0.02)
    r = tpd_ratios(cost, "sail", baseline, MATCH[baseline])
    np.testing.assert_allclose(sorted(r["tpd_ratio"]), _naive_ratios(cost, "sail", baseline, MATCH[baseline]))
    np.testing.assert_allclose(r["tpd_ratio"], r["tokens_per_dollar"] / r["baseline_tokens_per_dollar"])


def test_tpd_ratio_vs_same_instance_cpu_is_speedup_over_price_factor(decode, prices):
    for mult in (0.0, 1.0, 3.0):
        r = tpd_ratios(cost_table(decode, prices, SYSTEMS, 0.02, mult), "sail", "cpu", MATCH["cpu"])
        np.testing.assert_allclose(r["tpd_ratio"], r["speedup"] / (1 + 0.02 * mult))
        assert (r["tpd_ratio"] <= r["speedup"] + 1e-12).all()


def test_v100_baseline_takes_its_best_precision(decode, prices):
    cost = cost_table(decode, prices, SYSTEMS, 0.02)
    r = tpd_ratios(cost, "sail", "v100", MATCH["v100"])
    # in the fixture the V100's w8a8 rows are faster than its fp16 rows, so every match picks w8a8
    assert set(r["baseline_w_bits"]) == {8}


def test_v100_claim_names_the_v100_precision(decode, prices):
    cost = cost_table(decode, prices, SYSTEMS, 0.02)
    claim = tpd_claim(tpd_ratios(cost, "sail", "v100", MATCH["v100"]), "tpd_v100", 0.1, speedup_claim_id=None)
    assert "vs v100 (w_bits=8 a_bits=8) on p3.2xlarge at 3.06 $/h" in claim.configuration
    assert "cannot both hold" not in claim.why


def test_cpu_claim_does_not_repeat_the_matched_precision(decode, prices):
    cost = cost_table(decode, prices, SYSTEMS, 0.02)
    r = tpd_ratios(cost, "sail", "cpu", MATCH["cpu"])
    claim = tpd_claim(r.assign(baseline_w_bits=np.nan, baseline_a_bits=np.nan), "tpd_cpu", 0.1)
    assert "nan" not in claim.configuration and "vs cpu on " in claim.configuration


def test_tpd_ratios_reject_bad_match(decode, prices):
    cost = cost_table(decode, prices, SYSTEMS, 0.02)
    with pytest.raises(ValueError, match="hw"):
        tpd_ratios(cost, "sail", "cpu", ["hw"])
    with pytest.raises(ValueError, match="no configuration"):
        tpd_ratios(cost, "sail", "v100", ["w_bits"])  # the V100 runs 8/16-bit, SAIL 2/4-bit


def _ratios(values):
    n = len(values)
    return pd.DataFrame({
        "model": ["m"] * n, "w_bits": list(range(1, n + 1)), "a_bits": [8] * n, "batch": [1] * n,
        "context": [128] * n, "hw": ["sail"] * n, "system": ["sail"] * n, "baseline": ["cpu"] * n,
        "instance": ["m6g.16xlarge"] * n, "baseline_instance": ["m6g.16xlarge"] * n,
        "usd_per_hour": [2.51] * n, "baseline_usd_per_hour": [2.464] * n, "price_overhead_fraction": [0.02] * n,
        "tpd_ratio": values, "speedup": [v * 1.02 for v in values]})


@pytest.mark.parametrize("values, verdict", [([1.0, 19.0, 3.0], "reproduced"), ([5.0, 30.0, 25.0], "holds only when"),
                                             ([5.0, 9.0], "not reproduced")])
def test_tpd_claim_verdicts(values, verdict):
    c = tpd_claim(_ratios(values), "tpd_cpu", rel_tol=0.1)
    assert c.verdict == verdict
    assert c.our_value == f"{max(values):.3g}x"
    assert f"w_bits={values.index(max(values)) + 1}" in c.configuration  # the argmax's configuration
    assert "cannot both hold" in c.why  # same instance: the consistency remark is always stated


def test_not_reproduced_says_what_speedup_the_paper_needs():
    c = tpd_claim(_ratios([5.0, 9.0]), "tpd_cpu", rel_tol=0.1)
    # price ratio 2.464 / 2.51; 19.9x TPD needs 19.9 * 2.51 / 2.464 = 20.3x speedup
    assert "would need a 20.3x speedup over cpu" in c.why


def test_tpd_claim_names_the_region_where_it_holds():
    c = tpd_claim(_ratios([5.0, 30.0, 25.0]), "tpd_cpu", rel_tol=0.1)
    assert "2 of 3 configurations: w_bits in {2, 3}" in c.why


def test_paper_factors_are_read_from_the_claims_registry():
    assert paper_factor("tpd_cpu") == float(PAPER_CLAIMS["tpd_cpu"][1].rstrip("x"))
    with pytest.raises(ValueError):
        paper_factor("prt_cycles")


def test_price_sensitivity_grid(decode, prices):
    grid = price_sensitivity(decode, prices, 0.02, [0.0, 1.0, 3.0], ["m6g.16xlarge", "r6g.16xlarge"],
                             ["c6g.16xlarge", "m6g.16xlarge"], "p3.2xlarge", MATCH, hw=HW)
    assert len(grid) == 2 * 2 * 3
    same = grid[grid["sail_instance"] == grid["cpu_instance"]]
    # same instance: the ratio vs the CPU falls as the overhead multiplier grows
    for _, g in same.groupby("cpu_instance"):
        assert g.sort_values("overhead_multiplier")["max_tpd_ratio_cpu"].is_monotonic_decreasing
    # a cheaper SAIL instance raises the ratio vs a dearer CPU instance by exactly the price ratio
    a = grid[(grid.sail_instance == "c6g.16xlarge") & (grid.cpu_instance == "r6g.16xlarge") & (grid.overhead_multiplier == 1)]
    b = grid[(grid.sail_instance == "m6g.16xlarge") & (grid.cpu_instance == "m6g.16xlarge") & (grid.overhead_multiplier == 1)]
    assert a["max_tpd_ratio_cpu"].item() == pytest.approx(b["max_tpd_ratio_cpu"].item() * (3.2256 / 2.464) * (2.464 / 2.176))
