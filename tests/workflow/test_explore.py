"""The live explorer's arithmetic (sail.plots.explore) against a stub simulator with a known answer, and
its choice of baselines and start point on a hand-made decode table."""

from __future__ import annotations

import types

import pandas as pd
import pytest

from sail.plots import explore
from sail.plots.explore import Explorer, cpu_baselines, instance_prices, interesting_start


def _decode(rows):
    return pd.DataFrame(rows, columns=["system", "hw", "model", "w_bits", "a_bits", "batch", "context", "tokens_per_s"])


DECODE = _decode([
    *[("sail", "sail", "m", 4, 8, b, 512, 10.0 * b) for b in (1, 8, 64)],
    *[("cpu", "graviton2", "m", 4, 8, b, 512, 5.0) for b in (1, 8, 64)],  # SAIL/CPU: 2x, 16x, 128x
    *[("cpu", "altra", "m", 4, 8, b, 512, 20.0 * b) for b in (1, 8, 64)],  # 0.5x everywhere
    *[("v100", "v100", "m", 4, 8, b, 512, 1e3) for b in (1, 8, 64)],
])


def test_baselines_are_the_cpu_descriptions_of_the_decode_table():
    assert cpu_baselines(DECODE) == ["altra", "graviton2"]
    with pytest.raises(ValueError, match="no CPU baseline"):
        cpu_baselines(DECODE[DECODE.system != "cpu"])


def test_start_is_where_the_speedup_crosses_the_papers_factor():
    start = interesting_start(DECODE, ["altra", "graviton2"])
    assert start["baseline"] == "graviton2" and start["model"] == "m" and start["w_bits"] == 4
    assert "crosses the paper's 10.7x at batch 8" in start["why"]
    # no crossing anywhere: the largest speedup, and it says so
    assert "not reached" in interesting_start(DECODE, ["altra"])["why"]


def test_curves_price_sail_on_its_instance_with_the_overhead(monkeypatch):
    def fake(hw, model, w_bits, a_bits, batch, context, overrides=None, group_size=128, prt=None):
        arrays = (overrides or {}).get("csram.arrays_per_slice", 1)
        t = 100.0 * arrays * batch / w_bits if hw == "SAIL" else 20.0 / w_bits
        return types.SimpleNamespace(tokens_per_s=t)

    monkeypatch.setattr(explore, "simulate", fake)
    tpd = pd.DataFrame({"hw": ["sail", "graviton2"], "instance": ["i", "i"], "usd_per_hour": [2.04, 2.0],
                        "price_overhead_fraction": [0.02, 0.0]})
    prices = instance_prices(tpd)
    assert prices["sail"] == ("i", pytest.approx(2.0)) and prices["graviton2"] == ("i", 2.0)
    ex = Explorer(sail_hw="SAIL", baselines={"graviton2": "CPU"}, prices=prices, prt=None, group_size=128)
    df, note = ex.curves("m", 4, 8, 512, "graviton2", 4, 0.02, 1.0, batches=[1, 2])
    # SAIL 100*4*b/4 = 100b tok/s, CPU 5 tok/s: speedup 20b; TPD ratio = speedup / 1.02
    assert df.speedup.tolist() == pytest.approx([20.0, 40.0])
    assert df.tpd_ratio.tolist() == pytest.approx([20.0 / 1.02, 40.0 / 1.02])
    assert note == ""
    with pytest.raises(ValueError, match="unknown baseline"):
        ex.curves("m", 4, 8, 512, "nope", 4, 0.02, 1.0, batches=[1])
    unpriced = Explorer(sail_hw="SAIL", baselines={"x": "CPU"}, prices=prices, prt=None, group_size=128)
    df, note = unpriced.curves("m", 4, 8, 512, "x", 4, 0.02, 1.0, batches=[1])
    assert df.tpd_ratio.isna().all() and "no price for x" in note
