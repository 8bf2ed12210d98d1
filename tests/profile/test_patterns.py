"""Pattern extraction (sail.profile.patterns) against profile_naive.py, with the LUT-GEMV edge cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sail.profile import patterns

import profile_naive as naive


def random_codes(rng, n, k, a_bits, encoding):
    hi = 2 ** (a_bits - 1) - 1
    lo = -hi - 1 if encoding == "twos_complement" else -hi
    return rng.integers(lo, hi + 1, size=(n, k)).astype(np.int8)


@settings(max_examples=40, deadline=None)
@given(n_bw=st.integers(1, 8), a_bits=st.integers(1, 8), n=st.integers(1, 5), k=st.integers(1, 19),
       encoding=st.sampled_from(patterns.ENCODINGS), seed=st.integers(0, 2**16))
def test_extract_patterns_matches_naive(n_bw, a_bits, n, k, encoding, seed):
    X = random_codes(np.random.default_rng(seed), n, k, a_bits, encoding)
    P = patterns.extract_patterns(X, n_bw, a_bits, encoding, pad=True)
    assert P.dtype == np.uint8 and P.shape == (n, -(-k // n_bw), a_bits)
    assert P.tolist() == naive.extract_patterns(X, n_bw, a_bits, encoding)


@pytest.mark.parametrize("a_bits", [2, 4, 8])
def test_twos_complement_patterns_rebuild_the_dot_product(a_bits):
    # LUT-GEMV identity: sum over planes of sign_i 2^i T[p_i] equals Q @ X exactly
    rng = np.random.default_rng(a_bits)
    n_bw, k = 4, 16
    X = random_codes(rng, 3, k, a_bits, "twos_complement")
    q = rng.integers(0, 16, size=k)
    P = patterns.extract_patterns(X, n_bw, a_bits)
    for n in range(3):
        acc = 0
        for j in range(k // n_bw):
            table = [sum(((p >> t) & 1) * int(q[j * n_bw + t]) for t in range(n_bw)) for p in range(2**n_bw)]
            for i in range(a_bits):
                sign = -1 if i == a_bits - 1 else 1
                acc += sign * 2**i * table[P[n, j, i]]
        assert acc == int(q @ X[n].astype(np.int64))


def test_sign_magnitude_puts_the_sign_on_the_top_plane():
    X = np.array([[-1, 1, 0, -3]], np.int8)
    P = patterns.extract_patterns(X, 4, 3, "sign_magnitude")
    # |X| = 1 1 0 3 -> plane 0 bits 1,1,0,1 = 0b1011; plane 1 bits 0,0,0,1 = 0b1000; sign 1,0,0,1 = 0b1001
    assert P[0, 0].tolist() == [0b1011, 0b1000, 0b1001]
    T = patterns.extract_patterns(X, 4, 3, "twos_complement")
    # -1 = 111, 1 = 001, 0 = 000, -3 = 101 -> planes: 1,1,0,1 / 1,0,0,0 / 1,0,0,1
    assert T[0, 0].tolist() == [0b1011, 0b0001, 0b1001]


def test_a_bits_1_two_complement_is_minus_one_or_zero():
    X = np.array([[-1, 0, -1, -1]], np.int8)
    assert patterns.extract_patterns(X, 2, 1).tolist() == [[[0b01], [0b11]]]
    with pytest.raises(ValueError, match="value 1 does not fit 1-bit twos_complement"):
        patterns.extract_patterns(np.ones((1, 2), np.int8), 2, 1)


def test_k_not_multiple_of_n_bw_is_rejected_or_padded():
    X = np.ones((2, 10), np.int8)
    with pytest.raises(ValueError, match="K=10 is not a multiple of n_bw=4; pass pad=True"):
        patterns.extract_patterns(X, 4, 4)
    P = patterns.extract_patterns(X, 4, 4, pad=True)
    assert P.shape == (2, 3, 4)
    assert P[:, 2, 0].tolist() == [0b0011, 0b0011]  # the two padded channels present zero bits


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_bw=0), "n_bw must be an integer in 1..8, got 0"),
    (dict(n_bw=9), "n_bw must be an integer in 1..8, got 9"),
    (dict(a_bits=0), "a_bits must be an integer in 1..8, got 0"),
    (dict(encoding="ones_complement"), "encoding must be one of"),
])
def test_bad_arguments_are_named(kwargs, match):
    args = dict(n_bw=4, a_bits=4, encoding="twos_complement") | kwargs
    with pytest.raises(ValueError, match=match):
        patterns.extract_patterns(np.zeros((1, 8), np.int8), **args)


def test_out_of_range_values_are_named():
    with pytest.raises(ValueError, match="value -8 does not fit 4-bit sign_magnitude"):
        patterns.extract_patterns(np.array([[-8, 0, 0, 0]], np.int8), 4, 4, "sign_magnitude")
    with pytest.raises(ValueError, match="value 8 does not fit 4-bit twos_complement"):
        patterns.extract_patterns(np.array([[8, 0, 0, 0]], np.int16), 4, 4)
    with pytest.raises(ValueError, match="must hold integers"):
        patterns.extract_patterns(np.zeros((1, 4), np.float32), 4, 4)


def test_histogram_and_entropy():
    rng = np.random.default_rng(0)
    P = rng.integers(0, 8, size=(5, 4, 3)).astype(np.uint8)
    h = patterns.plane_histogram(P, 3)
    assert h.shape == (3, 8) and h.sum() == P.size
    for i in range(3):
        assert h[i].tolist() == np.bincount(P[:, :, i].ravel(), minlength=8).tolist()
        assert patterns.entropy_bits(h[i]) == pytest.approx(naive.entropy_bits(h[i].tolist()))
    assert patterns.entropy_bits(np.array([0, 0])) == 0.0
    assert patterns.entropy_bits(np.array([5, 5, 5, 5])) == pytest.approx(2.0)
