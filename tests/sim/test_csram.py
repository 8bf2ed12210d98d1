"""Event-level C-SRAM simulator: bit-exact results, PRT semantics shared with the profiling stage, and the
analytical model within 5 % of its cycle count on small shapes."""

import numpy as np
import pytest

from sail.profile.patterns import extract_patterns
from sail.profile.prt import simulate_prt
from sail.quant.act import quantize_activations
from sail.sim.csram import analytical_gemv_cycles, run_gemv

# A small chip so that small shapes exercise K splits, residency rounds, token passes and spills.
SMALL = {"llc.slices": 2.0, "csram.arrays_per_slice": 4.0, "csram.rows": 64.0}


def _data(rng, m, k, batch, w_bits, a_bits):
    Q = rng.integers(0, 1 << w_bits, size=(m, k), dtype=np.uint8)
    # heavy-tailed activations quantised per token, as the real ones are
    X, _ = quantize_activations(rng.standard_t(3, size=(batch, k)).astype(np.float32), a_bits)
    return Q, X


@pytest.mark.parametrize("n_bw", [2, 4])
@pytest.mark.parametrize("w_bits,a_bits", [(2, 8), (4, 8), (4, 4)])
@pytest.mark.parametrize("batch", [1, 8, 32])
@pytest.mark.parametrize("scope", ["per_array", "per_slice"])
def test_event_result_is_exact_and_the_model_agrees(load, n_bw, w_bits, a_bits, batch, scope):
    hw = load("sail")
    rng = np.random.default_rng(100 * n_bw + 10 * w_bits + batch)
    Q, X = _data(rng, 90, 70, batch, w_bits, a_bits)  # neither a multiple of the slab height nor of n_bw
    params = SMALL | {"csram.n_bw": float(n_bw)}
    ev = run_gemv(hw, Q, X, w_bits, a_bits, params=params, options={"prt_scope": scope})
    np.testing.assert_array_equal(ev.y, X.astype(np.int64) @ Q.astype(np.int64).T)
    assert ev.lookups == ev.prt_hits + ev.sram_reads + ev.zero_skips
    an = analytical_gemv_cycles(hw, 90, 70, w_bits, a_bits, batch, ev.zero_skips / ev.lookups,
                                ev.prt_hits / ev.lookups, params, {"prt_scope": scope})
    assert an["cycles"] == pytest.approx(ev.cycles, rel=0.05)


@pytest.mark.parametrize("batch", [1, 8, 32])
def test_bit_serial_build_with_transpose_is_exact_and_agrees(load, batch):
    hw = load("sail")
    Q, X = _data(np.random.default_rng(7 + batch), 250, 200, batch, 4, 8)
    opts = {"table_build": "bit_serial"}
    ev = run_gemv(hw, Q, X, 4, 8, params=SMALL | {"csram.rows": 128.0}, options=opts)
    np.testing.assert_array_equal(ev.y, X.astype(np.int64) @ Q.astype(np.int64).T)
    assert ev.mapping["resident_blocks"] == (128 - 16 * 6) // 16  # the vertical working area takes 96 rows
    an = analytical_gemv_cycles(hw, 250, 200, 4, 8, batch, ev.zero_skips / ev.lookups, ev.prt_hits / ev.lookups,
                                SMALL | {"csram.rows": 128.0}, opts)
    assert an["cycles"] == pytest.approx(ev.cycles, rel=0.05)
    assert an["build"] == pytest.approx(ev.components["build"])


def test_bit_serial_build_does_not_fit_large_tables(load):
    hw = load("sail")
    Q, X = _data(np.random.default_rng(8), 40, 64, 1, 4, 8)
    with pytest.raises(ValueError, match="working rows"):
        run_gemv(hw, Q, X, 4, 8, params={"csram.n_bw": 8.0}, options={"table_build": "bit_serial"})


def test_spills_and_token_passes_are_exercised(load):
    hw = load("sail")
    Q, X = _data(np.random.default_rng(1), 250, 200, 40, 4, 8)
    ev = run_gemv(hw, Q, X, 4, 8, params=SMALL)
    assert ev.mapping["token_passes"] > 1 and ev.mapping["rounds"] > 1
    assert ev.components["spill"] > 0 and ev.components["reduce"] > 0
    np.testing.assert_array_equal(ev.y, X.astype(np.int64) @ Q.astype(np.int64).T)


@pytest.mark.parametrize("batch", [1, 4, 8])
def test_per_array_prt_equals_the_profiling_stage(load, batch):
    # one token pass: each block's stream is the profile's (group, batch) stream; every slab repeats it
    hw = load("sail")
    rng = np.random.default_rng(batch)
    Q, X = _data(rng, 60, 64, 16, 4, 8)
    P = extract_patterns(X, 4, 8, "twos_complement", pad=True)
    hits = 0
    for b0 in range(0, 16, batch):
        ev = run_gemv(hw, Q, X[b0:b0 + batch], 4, 8, params=SMALL)
        hits += ev.prt_hits
        slabs = ev.mapping["slabs"]
    ref = simulate_prt(P, 4, batch, 32, "lru")
    assert hits == slabs * ref.prt_hits


def test_shared_prt_with_one_array_per_slice_is_per_array(load):
    hw = load("sail")
    Q, X = _data(np.random.default_rng(3), 50, 64, 8, 4, 8)
    p = SMALL | {"csram.arrays_per_slice": 1.0, "llc.slices": 4.0}
    a = run_gemv(hw, Q, X, 4, 8, params=p, options={"prt_scope": "per_array"})
    s = run_gemv(hw, Q, X, 4, 8, params=p, options={"prt_scope": "per_slice"})
    assert a.prt_hits == s.prt_hits and a.cycles == s.cycles


def test_shared_prt_hits_less_than_private_ones(load):
    hw = load("sail")
    Q, X = _data(np.random.default_rng(4), 200, 256, 8, 4, 8)
    a = run_gemv(hw, Q, X, 4, 8, params=SMALL, options={"prt_scope": "per_array"})
    s = run_gemv(hw, Q, X, 4, 8, params=SMALL, options={"prt_scope": "per_slice"})
    assert s.prt_hits < a.prt_hits and s.cycles > a.cycles


def test_zero_skip_avoids_reads(load):
    hw = load("sail")
    Q, X = _data(np.random.default_rng(5), 40, 64, 4, 4, 8)
    X[:, :32] = 0
    ev = run_gemv(hw, Q, X, 4, 8, zero_skip=True, params=SMALL)
    assert ev.zero_skips > 0
    np.testing.assert_array_equal(ev.y, X.astype(np.int64) @ Q.astype(np.int64).T)


def test_bad_inputs_are_named(load):
    hw = load("sail")
    Q, X = _data(np.random.default_rng(6), 8, 8, 1, 4, 8)
    with pytest.raises(ValueError, match="weight codes"):
        run_gemv(hw, Q + 16, X, 4, 8)
    with pytest.raises(ValueError, match="activations"):
        run_gemv(hw, Q, X.astype(np.int16) * 4, 4, 4)
    with pytest.raises(ValueError, match="same K"):
        run_gemv(hw, Q, X[:, :4], 4, 8)
    with pytest.raises(ValueError, match="sail description"):
        run_gemv(load("graviton2"), Q, X, 4, 8)
