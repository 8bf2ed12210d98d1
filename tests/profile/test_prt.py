"""PRT simulation (sail.profile.prt) against the plain-Python twin in profile_naive.py, on random patterns."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sail.profile import prt
from sail.profile.patterns import extract_patterns

import profile_naive as naive


def skewed_codes(rng, n, k, a_bits):
    """Small-magnitude codes (like real activations) so patterns repeat and tables evict."""
    hi = 2 ** (a_bits - 1) - 1
    x = np.round(rng.laplace(scale=max(hi / 6, 0.3), size=(n, k)))
    return np.clip(x, -hi - (a_bits == 1), hi).astype(np.int8)


def random_patterns(rng, n, groups, a_bits, n_bw):
    return rng.integers(0, 2**n_bw, size=(n, groups, a_bits)).astype(np.uint8)


@pytest.mark.parametrize("policy", prt.POLICIES)
@pytest.mark.parametrize("order", prt.ORDERS)
@pytest.mark.parametrize("zero_skip", [False, True])
@pytest.mark.parametrize("n_bw,a_bits,batch,entries", [(4, 8, 4, 8), (5, 4, 2, 16), (3, 6, 1, 2), (2, 1, 8, 1),
                                                       (6, 8, 8, 32), (8, 4, 4, 8)])
def test_simulate_prt_matches_naive(policy, order, zero_skip, n_bw, a_bits, batch, entries):
    rng = np.random.default_rng(n_bw * 100 + a_bits * 10 + batch)
    X = skewed_codes(rng, 16, 6 * n_bw, a_bits)
    P = extract_patterns(X, n_bw, a_bits)
    got = prt.simulate_prt(P, n_bw, batch, entries, policy, zero_skip, order)
    ref = naive.prt_counts(P.tolist(), batch, entries, policy, zero_skip, order)
    assert (got.lookups, got.zero_skips, got.prt_hits) == ref
    assert got.sram_reads == got.lookups - got.zero_skips - got.prt_hits >= 0


@settings(max_examples=25, deadline=None)
@given(n_bw=st.integers(1, 8), a_bits=st.integers(1, 8), log_b=st.integers(0, 3), seed=st.integers(0, 2**16),
       uniform=st.booleans())
def test_lru_sweep_matches_literal_simulation(n_bw, a_bits, log_b, seed, uniform):
    rng = np.random.default_rng(seed)
    batches = tuple(2**i for i in range(log_b + 1))
    n_tok = 2 * batches[-1]
    if uniform:
        P = random_patterns(rng, n_tok, 3, a_bits, n_bw)
    else:
        P = extract_patterns(skewed_codes(rng, n_tok, 3 * n_bw, a_bits), n_bw, a_bits)
    max_entries = 16
    sweep = prt.lru_sweep(P, n_bw, batches, max_entries)
    assert sweep.lookups == P.size
    assert sweep.zeros == int((P == 0).sum())
    Pl = P.tolist()
    for batch in batches:
        assert sweep.distinct_per_batch(batch) == naive.distinct_per_batch(Pl, batch)
        assert sweep.distinct_plane[batches.index(batch)].tolist() == naive.distinct_per_plane(Pl, batch)
        for zero_skip in (False, True):
            for entries in (1, 2, 3, 8, 16):
                got = sweep.counts(batch, entries, zero_skip)
                ref = naive.prt_counts(Pl, batch, entries, "lru", zero_skip)
                assert (got.lookups, got.zero_skips, got.prt_hits) == ref, (batch, entries, zero_skip)


@settings(max_examples=20, deadline=None)
@given(n_bw=st.integers(1, 6), a_bits=st.integers(1, 8), batch=st.sampled_from([1, 2, 4]),
       entries=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_fifo_equals_lru_when_no_eviction(n_bw, a_bits, batch, entries, seed):
    rng = np.random.default_rng(seed)
    P = random_patterns(rng, 4 * batch, 3, a_bits, n_bw)
    lru = prt.simulate_prt(P, n_bw, batch, entries, "lru")
    fifo = prt.simulate_prt(P, n_bw, batch, entries, "fifo")
    if prt.fifo_equals_lru(n_bw, a_bits, batch, entries):
        assert lru == fifo
        # no eviction: every presentation after a pattern's first in the batch hits
        assert lru.prt_hits == lru.lookups - naive.distinct_per_batch(P.tolist(), batch)


def test_lru_and_fifo_differ_on_a_known_stream():
    # one group, one token, 8 planes, 2 entries: stream 1 2 1 3 1 2 1 3
    # LRU keeps 1 hot: hits at t=2,4,6 -> 3; FIFO evicts 1 at t=3 -> hits at t=2 and t=6 (1 re-enters at 4) -> 2
    stream = [1, 2, 1, 3, 1, 2, 1, 3]
    P = np.array(stream, np.uint8).reshape(1, 1, 8)
    assert naive.prt_counts(P.tolist(), 1, 2, "lru", False)[2] == 3
    assert prt.simulate_prt(P, 2, 1, 2, "lru").prt_hits == 3
    assert prt.simulate_prt(P, 2, 1, 2, "fifo").prt_hits == naive.prt_counts(P.tolist(), 1, 2, "fifo", False)[2]
    assert prt.simulate_prt(P, 2, 1, 2, "fifo").prt_hits < 3


def test_prt_is_empty_at_every_batch():
    # the same pattern in two batches of one token: a miss each time, never a hit across batches
    P = np.full((2, 1, 1), 5, np.uint8)
    assert prt.simulate_prt(P, 3, 1, 32).prt_hits == 0
    assert prt.simulate_prt(P, 3, 2, 32).prt_hits == 1
    sweep = prt.lru_sweep(P, 3, (1, 2), 32)
    assert sweep.counts(1, 32, False).prt_hits == 0 and sweep.counts(2, 32, False).prt_hits == 1


def test_zero_skip_counts_every_zero_and_never_hits_it():
    P = np.zeros((4, 2, 3), np.uint8)
    c = prt.simulate_prt(P, 4, 2, 8, zero_skip=True)
    assert (c.lookups, c.zero_skips, c.prt_hits, c.sram_reads) == (24, 24, 0, 0)
    c = prt.simulate_prt(P, 4, 2, 8, zero_skip=False)
    assert (c.zero_skips, c.prt_hits, c.sram_reads) == (0, 24 - 4, 4)  # one miss per (group, batch): 2 x 2
    assert c.avoided_fraction == pytest.approx(20 / 24)


def test_order_changes_streams_not_their_content():
    rng = np.random.default_rng(1)
    P = random_patterns(rng, 8, 3, 4, 4)
    a = prt.presentation_streams(P, 4, "token_major")
    b = prt.presentation_streams(P, 4, "plane_major")
    assert a.shape == b.shape == (3, 32)
    seg = 4 * 4
    for g in range(3):
        for s in range(0, 32, seg):
            assert sorted(a[g, s:s + seg]) == sorted(b[g, s:s + seg])
    # token_major is the tokens' planes LSB->MSB one token after another
    assert a[1, :4].tolist() == P[0, 1, :].tolist()
    assert b[1, :4].tolist() == P[:4, 1, 0].tolist()


@pytest.mark.parametrize("bad,match", [
    (dict(batch=3), "not a multiple of batch=3"),
    (dict(batch=0), "batch must be a positive integer"),
    (dict(entries=0), "entries must be a positive integer"),
    (dict(policy="lfu"), "policy must be one of"),
    (dict(order="random"), "order must be one of"),
    (dict(n_bw=2), "does not fit n_bw=2"),
])
def test_simulate_prt_rejects_bad_arguments(bad, match):
    P = np.full((4, 2, 3), 7, np.uint8)
    kw = dict(n_bw=3, batch=2, entries=4, policy="lru", order="token_major") | bad
    with pytest.raises(ValueError, match=match):
        prt.simulate_prt(P, kw["n_bw"], kw["batch"], kw["entries"], kw["policy"], False, kw["order"])


def test_lru_sweep_rejects_non_nested_batches():
    P = np.zeros((12, 1, 2), np.uint8)
    with pytest.raises(ValueError, match="does not divide the largest batch 6"):
        prt.lru_sweep(P, 2, (4, 6), 8)
    with pytest.raises(ValueError, match="strictly increasing"):
        prt.lru_sweep(P, 2, (2, 1), 8)


@settings(max_examples=20, deadline=None)
@given(n_bw=st.integers(1, 5), a_bits=st.integers(1, 8), batch=st.sampled_from([1, 2, 4]),
       entries=st.integers(1, 40), seed=st.integers(0, 2**16), policy=st.sampled_from(prt.POLICIES))
def test_order_is_irrelevant_without_eviction(n_bw, a_bits, batch, entries, seed, policy):
    P = random_patterns(np.random.default_rng(seed), 2 * batch, 2, a_bits, n_bw)
    tm = prt.simulate_prt(P, n_bw, batch, entries, policy, False, "token_major")
    pm = prt.simulate_prt(P, n_bw, batch, entries, policy, False, "plane_major")
    if prt.fifo_equals_lru(n_bw, a_bits, batch, entries):
        assert tm == pm
