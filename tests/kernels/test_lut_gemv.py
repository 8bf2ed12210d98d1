"""Exactness of SAIL's weight-LUT GEMV against the plain maths, and its PRT counters."""

import numpy as np
import pytest
from conftest import random_codes, random_quant_linear
from hypothesis import given, settings, strategies as st

from sail.kernels import lut_gemv, lut_gemv_grouped, lut_gemv_packed, lut_gemv_pattern_aware, reference
from sail.quant.packing import pack_linear
from sail.sim import opcount


@pytest.mark.parametrize("n_bw", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("a_bits", [1, 2, 8])
def test_reference_lut_is_the_integer_product(n_bw, a_bits, rng):
    # the oracle itself answers to Q @ X
    q, x = random_codes(rng, 3, 24, 4, a_bits, batch=2)
    np.testing.assert_array_equal(reference.weight_lut_gemv(q, x, n_bw, a_bits), reference.int_gemv(q, x))


@settings(max_examples=60, deadline=None)
@given(m=st.integers(1, 17), k=st.integers(1, 70), w_bits=st.integers(1, 8), a_bits=st.integers(1, 8),
       n_bw=st.integers(1, 8), batch=st.integers(1, 33), vec=st.booleans(), seed=st.integers(0, 2**31))
def test_lut_gemv_is_exact(m, k, w_bits, a_bits, n_bw, batch, vec, seed):
    rng = np.random.default_rng(seed)
    q, x = random_codes(rng, m, k, w_bits, a_bits, batch=None if vec else batch)
    y = lut_gemv(q, x, w_bits, a_bits, n_bw)
    assert y.dtype == np.int64 and y.shape == ((m,) if vec else (m, batch))
    np.testing.assert_array_equal(y, reference.int_gemv(q, x))


def test_extreme_values_are_exact(rng):
    # all codes at max and activations at the two's complement minimum: the MSB plane's sign
    for a_bits in (1, 2, 8):
        q = np.full((3, 16), 255)
        x = np.full((16, 2), -(1 << (a_bits - 1)))
        x[:, 1] = (1 << (a_bits - 1)) - 1
        np.testing.assert_array_equal(lut_gemv(q, x, 8, a_bits, 4), reference.int_gemv(q, x))


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 9), groups=st.integers(1, 3), w_bits=st.integers(1, 8), a_bits=st.integers(1, 8),
       n_bw=st.integers(1, 8), batch=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_packed_path_is_exact(m, groups, w_bits, a_bits, n_bw, batch, seed):
    rng = np.random.default_rng(seed)
    ql = random_quant_linear(rng, m, 8 * groups, w_bits, 8)
    _, x = random_codes(rng, 1, 8 * groups, 1, a_bits, batch=batch)
    np.testing.assert_array_equal(lut_gemv_packed(pack_linear(ql), x, a_bits, n_bw), reference.int_gemv(ql.q, x))


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 6), groups=st.integers(1, 6), a_bits=st.integers(1, 8), n_bw=st.integers(1, 8),
       batch=st.integers(1, 12), prt_entries=st.sampled_from([0, 1, 2, 4, 32]), skip=st.booleans(),
       sparse=st.booleans(), seed=st.integers(0, 2**31))
def test_pattern_aware_is_exact_and_counts_match_reference(m, groups, a_bits, n_bw, batch, prt_entries, skip,
                                                           sparse, seed):
    rng = np.random.default_rng(seed)
    k = groups * n_bw
    q, x = random_codes(rng, m, k, 4, a_bits, batch=batch)
    if sparse:  # small activations: high planes all-zero / all-one, many repeats
        x = np.clip(x, -2, 1)
    y, c = lut_gemv_pattern_aware(q, x, 4, a_bits, n_bw, prt_entries=prt_entries, skip_zeros=skip)
    np.testing.assert_array_equal(y, reference.int_gemv(q, x))
    zs, hits, reads = reference.prt_stream_counts(x, n_bw, a_bits, prt_entries, skip_zeros=skip)
    assert (c.zero_skips, c.prt_hits, c.sram_reads) == (m * zs, m * hits, m * reads)
    assert c.sram_reads == c.lookups - c.zero_skips - c.prt_hits
    ops = opcount.lut_gemv(m, k, n_bw, a_bits, batch)
    assert (c.table_build_adds, c.lookups) == (ops.table_build_adds, ops.lookups)
    assert c.shift_accumulates == ops.after_reuse(c.zero_skips + c.prt_hits).shift_accumulates


def test_counters_without_reuse_equal_opcount(rng):
    q, x = random_codes(rng, 5, 32, 3, 6, batch=4)
    _, c = lut_gemv_pattern_aware(q, x, 3, 6, 4, prt_entries=0, skip_zeros=False)
    ops = opcount.lut_gemv(5, 32, 4, 6, 4)
    assert (c.table_build_adds, c.lookups, c.shift_accumulates) == (
        ops.table_build_adds, ops.lookups, ops.shift_accumulates)
    assert c.zero_skips == c.prt_hits == 0 and c.sram_reads == c.lookups


def test_prt_hits_on_a_known_stream():
    # one LUT group of 2 channels, one token, 4 planes: x = (5, 5) -> planes 11, 00, 11, 00
    q = np.array([[1, 2]])
    x = np.array([5, 5])
    _, c = lut_gemv_pattern_aware(q, x, 2, 4, 2, prt_entries=32)
    assert (c.zero_skips, c.prt_hits, c.sram_reads) == (2, 1, 1)
    _, c = lut_gemv_pattern_aware(q, x, 2, 4, 2, prt_entries=32, skip_zeros=False)
    assert (c.zero_skips, c.prt_hits, c.sram_reads) == (0, 2, 2)


def test_lru_eviction_order():
    # one channel (n_bw=1), values 0/1 so plane 1 is always zero: nonzero stream 1, 1, 1 -> miss hit hit
    _, c = lut_gemv_pattern_aware(np.array([[1]]), np.array([[1, 0, 1, 1, 0]]), 1, 2, 1, prt_entries=1)
    assert (c.prt_hits, c.sram_reads, c.zero_skips) == (2, 1, 7)
    # two channels, patterns per token 1, 2, 1, 3, 2 with a 2-entry LRU: miss miss hit miss(evicts 2) miss
    xs = np.array([[1, 0, 1, 1, 0], [0, 1, 0, 1, 1]])
    _, c = lut_gemv_pattern_aware(np.array([[3, 5]]), xs, 3, 2, 2, prt_entries=2)
    assert (c.prt_hits, c.sram_reads) == (1, 4)


def test_k_not_multiple_of_n_bw_is_padded(rng):
    q, x = random_codes(rng, 4, 10, 2, 4, batch=3)
    np.testing.assert_array_equal(lut_gemv(q, x, 2, 4, 4), reference.int_gemv(q, x))
    _, c = lut_gemv_pattern_aware(q, x, 2, 4, 4, prt_entries=0, skip_zeros=False)
    assert c.lookups == opcount.lut_gemv(4, 12, 4, 4, 3).lookups  # counters describe K_pad = 12


@pytest.mark.parametrize("kwargs, match", [
    (dict(w_bits=2, q=np.array([[0, 4]])), "w_bits=2"),
    (dict(w_bits=0), "w_bits"),
    (dict(a_bits=4, x=np.array([8, 0])), "a_bits=4"),
    (dict(a_bits=9), "a_bits"),
    (dict(n_bw=9), "n_bw"),
    (dict(n_bw=0), "n_bw"),
    (dict(x=np.array([1, 2, 3])), "K=2"),
    (dict(x=np.array([0.5, 1.0])), "integer"),
    (dict(q=np.array([0, 1])), "2-D"),
])
def test_bad_input_raises_value_error_naming_the_value(kwargs, match):
    args = dict(q=np.array([[0, 1]]), x=np.array([1, -1]), w_bits=2, a_bits=4, n_bw=2) | kwargs
    with pytest.raises(ValueError, match=match):
        lut_gemv(args["q"], args["x"], args["w_bits"], args["a_bits"], args["n_bw"])


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 7), groups=st.integers(1, 4), n_bw=st.sampled_from([1, 2, 4, 8]), mult=st.integers(1, 3),
       a_bits=st.integers(1, 8), batch=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_grouped_accumulators_are_exact(m, groups, n_bw, mult, a_bits, batch, seed):
    rng = np.random.default_rng(seed)
    g = n_bw * mult
    q, x = random_codes(rng, m, g * groups, 5, a_bits, batch=batch)
    acc = lut_gemv_grouped(q, x, 5, a_bits, n_bw, g)
    for gi in range(groups):
        sl = slice(gi * g, (gi + 1) * g)
        np.testing.assert_array_equal(acc[:, gi, :], reference.int_gemv(q[:, sl], x[sl]))


def test_grouped_rejects_group_not_multiple_of_n_bw(rng):
    q, x = random_codes(rng, 2, 12, 2, 4)
    with pytest.raises(ValueError, match="group_size=6"):
        lut_gemv_grouped(q, x, 2, 4, 4, 6)


@pytest.mark.parametrize("w_bits, a_bits, n_bw", [(8, 8, 8), (8, 8, 1), (8, 1, 4), (1, 8, 3)])
def test_two_rows_per_lookup_lanes_do_not_overflow(w_bits, a_bits, n_bw):
    # largest subset sums and partial sums: max codes, long K, extreme activations; odd M uses the single-row tail
    k = 8190 - 8190 % n_bw
    q = np.full((3, k), (1 << w_bits) - 1)
    x = np.stack([np.full(k, -(1 << (a_bits - 1))), np.full(k, (1 << (a_bits - 1)) - 1)], axis=1)
    np.testing.assert_array_equal(lut_gemv(q, x, w_bits, a_bits, n_bw), reference.int_gemv(q, x))
    np.testing.assert_array_equal(lut_gemv_packed(pack_linear(random_quant_linear(np.random.default_rng(0), 3, 64, 2, 8)),
                                                  x[:64], a_bits, n_bw).shape, (3, 2))
