"""Decode engine: reference twins, breakdown consistency, roofline invariants, bad input."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sail.sim import MODELS, NotModelled, simulate, sweep

import sim_naive as naive

SYSTEMS = ["graviton2", "sail", "v100", "neural_cache", "bfree", "dram_pim"]


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("batch", [1, 16])
@pytest.mark.parametrize("w_bits", [2, 4])
def test_sail_matches_naive_twin(load, model, batch, w_bits):
    hw = load("sail")
    r = simulate(hw, model=model, w_bits=w_bits, a_bits=8, batch=batch, context=512)
    assert r.step_s == pytest.approx(naive.sail_step_s(hw, model, w_bits, 8, batch, 512), rel=1e-9)


@pytest.mark.parametrize("model", ["smollm2-135m", "llama2-7b"])
@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("w_bits", [3, 8])
def test_cpu_matches_naive_twin(load, model, batch, w_bits):
    hw = load("graviton2")
    r = simulate(hw, model=model, w_bits=w_bits, a_bits=8, batch=batch, context=128)
    assert r.step_s == pytest.approx(naive.cpu_step_s(hw, model, w_bits, 8, batch, 128), rel=1e-9)


def test_cpu_batch1_is_the_textbook_memory_bound(load):
    # 7B, 4-bit: tokens/s ~= eta * 204.8 GB/s / bytes per token (memory bound), up to attention and scales
    hw = load("graviton2")
    r = simulate(hw, model="llama2-7b", w_bits=4, a_bits=8, batch=1, context=0)
    expected = 0.8 * 204.8e9 / r.weight_bytes
    assert r.tokens_per_s == pytest.approx(expected, rel=0.02)
    assert 3.5e9 < r.weight_bytes < 4.0e9


@pytest.mark.parametrize("name", SYSTEMS)
def test_breakdown_sums_to_step(load, name):
    r = simulate(load(name), model="llama2-13b", w_bits=3, a_bits=8, batch=8, context=2048)
    assert sum(r.breakdown_s.values()) == pytest.approx(r.step_s, rel=1e-12)
    assert all(v >= 0 for v in r.breakdown_s.values())
    assert r.tokens_per_s == pytest.approx(8 / r.step_s)


def test_sweep_equals_simulate_point_by_point(load):
    hw = load("sail")
    pts = pd.DataFrame(
        [
            dict(model=m, w_bits=w, a_bits=8, batch=b, context=c, **{"csram.arrays_per_slice": n})
            for m in ("llama2-7b", "smollm2-135m")
            for w in (2, 4)
            for b in (1, 32)
            for c in (512,)
            for n in (4, 16)
        ]
    )
    got = sweep(hw, pts)
    for i, row in pts.iterrows():
        r = simulate(
            hw,
            model=row.model,
            w_bits=int(row.w_bits),
            a_bits=8,
            batch=int(row.batch),
            context=int(row.context),
            overrides={"csram.arrays_per_slice": row["csram.arrays_per_slice"]},
        )
        assert got.tokens_per_s[i] == pytest.approx(r.tokens_per_s, rel=1e-12)
        assert got.dram_s[i] == pytest.approx(r.breakdown_s["dram_s"], rel=1e-12, abs=1e-15)


# ---- invariants (docs/simulator.md) ------------------------------------------------------------------------
point = st.fixed_dictionaries(
    {
        "model": st.sampled_from(sorted(MODELS)),
        "w_bits": st.sampled_from([2, 3, 4, 8]),
        "batch": st.integers(1, 64),
        "context": st.sampled_from([0, 512, 2048]),
    }
)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("name", SYSTEMS)
@SETTINGS
@given(
    pt=point,
    profile=st.sampled_from(["neural_cache", "pimeval_bitsimd_v", "gem_forge"]),
    acc=st.sampled_from(["near_array", "bit_serial"]),
    overlap=st.sampled_from([0, 1]),
)
def test_nothing_beats_its_bounds(load, name, pt, profile, acc, overlap):
    hw = load(name)
    ov = {}
    if name == "sail":
        ov = {
            "op_profile": profile,
            "accumulate_style": acc,
            "csram.overlap_load_compute": overlap,
            "csram.overlap_read_accumulate": overlap,
        }
    r = simulate(hw, a_bits=8, overrides=ov, **pt)
    assert r.tokens_per_s <= r.memory_bound_tokens_per_s * (1 + 1e-9)
    assert r.tokens_per_s <= r.compute_bound_tokens_per_s * (1 + 1e-9)


@pytest.mark.parametrize("name", SYSTEMS)
@SETTINGS
@given(pt=point)
def test_bytes_conserved_between_layers_and_model(load, name, pt):
    from sail.sim import get_model

    r = simulate(load(name), a_bits=8, **pt)
    assert sum(r.layer_dram_bytes.values()) + r.kv_bytes == pytest.approx(r.dram_bytes, rel=1e-12)
    spec = get_model(pt["model"])
    # weights: every GEMV's codes plus its group scales, counted once per block
    codes = spec.gemv_params * pt["w_bits"] / 8
    assert r.weight_bytes == pytest.approx(codes + spec.gemv_params / 128 * 4, rel=1e-12)


MONO = {
    "graviton2": ["memory.dram_bw_gbps", "cpu.cores"],
    "sail": ["memory.dram_bw_gbps", "csram.arrays_per_slice", "csram.clock_ghz", "llc.slices"],
    "v100": ["gpu.hbm_bw_gbps"],
    "neural_cache": ["memory.dram_bw_gbps", "pim.arrays_per_slice"],
    "bfree": ["memory.dram_bw_gbps", "pim.arrays_per_slice"],
    "dram_pim": ["pim.bank_bw_gbps", "pim.banks"],
}


@pytest.mark.parametrize("name", SYSTEMS)
@SETTINGS
@given(pt=point, factor=st.floats(1.01, 8.0))
def test_more_bandwidth_or_arrays_never_slower(load, name, pt, factor):
    hw = load(name)
    base = simulate(hw, a_bits=8, **pt).tokens_per_s
    for key in MONO[name]:
        more = simulate(hw, a_bits=8, overrides={key: hw.value(key) * factor}, **pt).tokens_per_s
        assert more >= base * (1 - 1e-12), key


def test_vectorised_sweep_is_monotone_in_arrays(load):
    hw = load("sail")
    n = np.arange(1, 257)
    pts = pd.DataFrame(
        {
            "model": "llama2-7b",
            "w_bits": 4,
            "a_bits": 8,
            "batch": 64,
            "context": 512,
            "csram.arrays_per_slice": n,
        }
    )
    t = sweep(hw, pts).tokens_per_s.to_numpy()
    assert np.all(np.diff(t) >= -1e-9 * t[:-1])


# ---- bad input ----------------------------------------------------------------------------------------
def test_unknown_model_is_named(load):
    with pytest.raises(ValueError, match="'gpt-9'"):
        simulate(load("sail"), model="gpt-9", w_bits=4, a_bits=8, batch=1, context=512)


@pytest.mark.parametrize("arg", ["w_bits", "a_bits", "batch"])
@pytest.mark.parametrize("bad", [0, -3])
def test_zero_or_negative_workload_is_named(load, arg, bad):
    kw = dict(model="llama2-7b", w_bits=4, a_bits=8, batch=1, context=512) | {arg: bad}
    with pytest.raises(ValueError, match=arg):
        simulate(load("sail"), **kw)


def test_negative_context_is_named(load):
    with pytest.raises(ValueError, match="context"):
        simulate(load("sail"), model="llama2-7b", w_bits=4, a_bits=8, batch=1, context=-1)


def test_cpu_rejects_unmodelled_bit_width(load):
    with pytest.raises(NotModelled, match="w_bits"):
        simulate(load("graviton2"), model="llama2-7b", w_bits=5, a_bits=8, batch=1, context=512)


def test_sail_handles_any_weight_bits(load):
    # arbitrary precision is the point of LUT-GEMV: w=5 works and costs no more lookups than w=4
    hw = load("sail")
    r4, r5 = (simulate(hw, model="llama2-7b", w_bits=w, a_bits=8, batch=8, context=512) for w in (4, 5))
    assert r5.breakdown_s["lookup_s"] >= r4.breakdown_s["lookup_s"]  # wider entries, fewer per row
    assert r5.weight_bytes > r4.weight_bytes
