"""Published decode measurements (data/calibration/published_decode.csv) and their predictions."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from sail.sim.calibration import (
    LLAMA_CPP_FORMATS,
    PUBLISHED_COLUMNS,
    effective_bits,
    published_predicted_vs_measured,
    validate_published,
)

from conftest import HW_DIR, ROOT

CSV = ROOT / "data" / "calibration" / "published_decode.csv"


@pytest.fixture(scope="module")
def published():
    return pd.read_csv(CSV)


@pytest.fixture(scope="module")
def predicted(published):
    return published_predicted_vs_measured(published, HW_DIR)


def test_csv_is_valid_and_every_row_is_sourced(published):
    validate_published(published)
    assert list(published.columns) == PUBLISHED_COLUMNS
    for _, r in published.iterrows():
        assert re.match(r"^https://\S+$", r.source_url), r.row_id
        assert len(str(r.note)) > 40, r.row_id  # the note quotes the measurement line
        assert (HW_DIR / f"{r.hw_description}.yaml").exists(), r.row_id


def test_at_least_two_graviton_class_cpu_rows(published, load):
    cpu = published[published.system == "cpu"]
    assert cpu.hw_description.isin(["graviton2", "graviton3", "graviton4", "altra_max"]).all()
    assert len(cpu) >= 2
    # Graviton-class: every CPU description inherits the Graviton2 kernel costs it is calibrating.
    g2 = load("graviton2")
    for name in sorted(set(cpu.hw_description)):
        hw = load(name)
        assert hw.params["cpu.kernel_efficiency"] == g2.params["cpu.kernel_efficiency"], name


def test_effective_bits_of_block_formats():
    # Q4_0: 32 4-bit codes + one fp16 scale = 18 bytes per 32 weights.
    assert effective_bits("Q4_0") == 18 * 8 / 32
    assert effective_bits("Q8_0") == 34 * 8 / 32
    assert effective_bits("Q4_1") == 20 * 8 / 32
    assert effective_bits("F16") == 16
    with pytest.raises(ValueError, match="Q3_X"):
        effective_bits("Q3_X")


@pytest.mark.parametrize(
    "column, bad, match",
    [
        ("source_url", "see paper", "source_url"),
        ("tokens_per_s", 0.0, "tokens_per_s"),
        ("threads", -1, "threads"),
        ("w_bits", 4.0, "w_bits"),  # Q4_0 is 4.5 bits/weight
    ],
)
def test_bad_rows_are_named(published, column, bad, match):
    t = published.copy()
    t[column] = t[column].astype(object)
    t.loc[0, column] = bad
    with pytest.raises(ValueError, match=match):
        validate_published(t)
    with pytest.raises(ValueError, match=str(t.loc[0, "row_id"])):
        validate_published(t)


def test_missing_column_is_named(published):
    with pytest.raises(ValueError, match="tokens_per_s"):
        validate_published(published.drop(columns=["tokens_per_s"]))


def test_every_row_is_predicted_with_finite_error(published, predicted):
    assert sorted(predicted.row_id) == sorted(published.row_id)
    assert np.isfinite(predicted.error_pct).all()
    assert (predicted.predicted_tokens_per_s > 0).all()
    m = predicted.set_index("row_id").measured_tokens_per_s
    assert (m == published.set_index("row_id").tokens_per_s.loc[m.index]).all()


def test_error_is_predicted_over_measured(predicted):
    ratio = predicted.predicted_tokens_per_s / predicted.measured_tokens_per_s
    assert np.allclose(predicted.error_pct, 100 * (ratio - 1))


def test_predictions_respect_bounds(predicted):
    assert (predicted.predicted_tokens_per_s <= predicted.memory_bound_tokens_per_s * (1 + 1e-9)).all()
    assert (predicted.predicted_tokens_per_s <= predicted.compute_bound_tokens_per_s * (1 + 1e-9)).all()


def test_memory_bound_rows_match_a_hand_roofline(published, predicted, load):
    """Slow twin: Q4_0 llama3-8b on Graviton3, weights only, 4.5 bits/weight over 0.8 x 307.2 GB/s."""
    from sail.sim import get_model

    spec = get_model("llama3-8b")
    weight_bytes = spec.gemv_params * 4.5 / 8
    bw = (
        load("graviton3").value("memory.dram_bw_gbps")
        * 1e9
        * load("graviton3").value("memory.dram_efficiency")
    )
    row = predicted.set_index("row_id").loc["g3_c7g16xl_llama31_8b_q4_0"]
    assert row.bound == "memory"
    # attention and elementwise work add < 1 % at this context
    assert row.predicted_tokens_per_s == pytest.approx(bw / weight_bytes, rel=0.01)


def test_implied_efficiency_reproduces_the_measurement(published, predicted, load):
    """Re-simulating with the implied efficiency gives back the measured tokens/s."""
    from sail.sim.api import simulate

    pub = published.set_index("row_id")
    for _, r in predicted.iterrows():
        key, val = (
            (r.bw_key, r.implied_bw_efficiency)
            if r.bound == "memory"
            else (r.kernel_key, r.implied_kernel_efficiency)
        )
        if not (0 < val <= 1):  # an implied efficiency above 1 is reported, not simulated
            continue
        p = pub.loc[r.row_id]
        bits, block, scale = LLAMA_CPP_FORMATS[p.quant_type]
        ov = {"memory.scale_zero_bytes_per_group": float(scale), key: float(val)}
        if p.system == "cpu":
            ov["cpu.cores"] = float(p.threads)
        res = simulate(
            load(p.hw_description),
            p.model,
            bits,
            int(p.a_bits),
            int(p.batch),
            int(p.context),
            overrides=ov,
            group_size=block,
        )
        assert res.tokens_per_s == pytest.approx(p.tokens_per_s, rel=0.02), r.row_id


def test_yaml_sources_cite_the_csv_rows(published, load):
    cited = {
        ("graviton2", "memory.dram_efficiency"),
        ("graviton2", "cpu.kernel_efficiency"),
        ("v100", "gpu.bw_efficiency"),
    }
    ids = set(published.row_id)
    for name, key in sorted(cited):
        src = load(name).params[key].source
        assert "data/calibration/published_decode.csv" in src, (name, key)
        named = {i for i in ids if i in src or i.rsplit("_", 1)[0] in src}
        assert named, (name, key, src)


def test_system_mismatch_is_named(published):
    t = published.copy()
    t.loc[0, "system"] = "gpu"
    with pytest.raises(ValueError, match=str(t.loc[0, "row_id"])):
        published_predicted_vs_measured(t.iloc[:1], HW_DIR)


def test_no_nan_where_a_bound_applies(predicted):
    for _, r in predicted.iterrows():
        v = r.implied_bw_efficiency if r.bound == "memory" else r.implied_kernel_efficiency
        assert math.isfinite(v) and v > 0, r.row_id
