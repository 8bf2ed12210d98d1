"""Request cost (prompt + generated tokens) and tokens per joule beside tokens per dollar, by plain arithmetic."""

import numpy as np
import pandas as pd
import pytest
from sail.cost import SystemPrice, cost_table, tpd_ratios
from sail.cost.request import attach_energy, request_cost, request_ratios

SYSTEMS = [SystemPrice("cpu", "m6g.16xlarge", False, "graviton2"), SystemPrice("sail", "m6g.16xlarge", True, "sail"),
           SystemPrice("v100", "p3.2xlarge", False, "v100")]


def _requests():
    rows = []
    for hw, sys_, s, w in (("graviton2", "cpu", 10.0, 4), ("sail", "sail", 4.0, 4), ("v100", "v100", 2.0, 8),
                           ("v100", "v100", 2.5, 16)):
        rows.append({"system": sys_, "hw": hw, "model": "m", "w_bits": w, "a_bits": 8, "batch": 2,
                     "prompt_tokens": 100, "generated_tokens": 10, "prefill_s": s / 2, "ttft_s": s / 2 + 0.1,
                     "decode_s": s / 2, "request_s": s, "generated_per_j": 1.0 / s})
    return pd.DataFrame(rows)


def test_request_cost_is_price_times_time(prices):
    c = request_cost(_requests(), prices, SYSTEMS, 0.02)
    cpu = c[c.system == "cpu"].iloc[0]
    assert cpu.usd_per_request == pytest.approx(2.464 * 10.0 / 3600)
    assert cpu.generated_per_dollar == pytest.approx(2 * 10 / cpu.usd_per_request)
    assert cpu.request_tokens_per_dollar == pytest.approx(2 * 110 / cpu.usd_per_request)
    sail = c[c.system == "sail"].iloc[0]
    assert sail.usd_per_hour == pytest.approx(2.464 * 1.02)


def test_request_ratios_take_the_baselines_best(prices):
    c = request_cost(_requests(), prices, SYSTEMS, 0.02)
    r = request_ratios(c, "sail", "v100", ["model", "batch"])
    assert len(r) == 1 and r.baseline_request_s.iloc[0] == 2.0  # the V100's cheaper of its two precisions
    assert r.ttft_ratio.iloc[0] == pytest.approx(1.1 / 2.1)
    assert r.generated_per_j_ratio.iloc[0] == pytest.approx(0.5)
    cpu = request_ratios(c, "sail", "cpu", ["model", "w_bits", "a_bits", "batch"])
    assert cpu.generated_per_dollar_ratio.iloc[0] == pytest.approx(10.0 / 4.0 / 1.02)


def test_bad_request_rows_are_named(prices):
    with pytest.raises(ValueError, match="request_s"):
        request_cost(_requests().assign(request_s=0.0), prices, SYSTEMS, 0.02)
    with pytest.raises(ValueError, match="ttft_s"):
        request_cost(_requests().drop(columns=["ttft_s"]), prices, SYSTEMS, 0.02)


def test_tokens_per_joule_sits_beside_tokens_per_dollar(decode, prices):
    cost = cost_table(decode, prices, SYSTEMS, 0.02)
    keys = ["hw", "model", "w_bits", "a_bits", "batch", "context"]
    energy = cost[keys].drop_duplicates().assign(energy_per_token_j=0.5, tokens_per_j=2.0)
    energy.loc[energy.hw == "graviton2", "tokens_per_j"] = 0.5
    with_e = attach_energy(cost, energy)
    assert len(with_e) == len(cost) and (with_e.tokens_per_j > 0).all()
    r = tpd_ratios(with_e, "sail", "cpu", ["model", "w_bits", "a_bits", "batch", "context"])
    assert np.allclose(r.tpj_ratio, 4.0)
    with pytest.raises(ValueError, match="tokens_per_j"):
        attach_energy(cost, energy.drop(columns=["tokens_per_j"]))
