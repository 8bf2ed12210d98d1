"""Round trip and layout of the packed storage format (sail.quant.packing)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sail.quant.core import QuantLinear
from sail.quant.packing import (PackedLinear, load_packed, pack_codes, pack_linear, save_packed,
                                unpack_linear)


def _random_ql(rng, m, k, w_bits, group_size):
    q = rng.integers(0, 1 << w_bits, size=(m, k), dtype=np.uint8)
    ng = k // group_size
    scale = rng.random((m, ng), dtype=np.float32) + np.float32(0.01)
    zero = rng.integers(0, 1 << w_bits, size=(m, ng)).astype(np.float32)
    return QuantLinear(q=q, scale=scale, zero=zero, w_bits=w_bits, group_size=group_size)


@settings(max_examples=40, deadline=None)
@given(w_bits=st.integers(1, 8), m=st.integers(1, 9), groups=st.integers(1, 4),
       group_size=st.sampled_from([1, 3, 8, 16, 32]), seed=st.integers(0, 2**31))
def test_round_trip_is_exact(w_bits, m, groups, group_size, seed):
    rng = np.random.default_rng(seed)
    ql = _random_ql(rng, m, groups * group_size, w_bits, group_size)
    back = unpack_linear(pack_linear(ql))
    np.testing.assert_array_equal(back.q, ql.q)
    np.testing.assert_array_equal(back.scale, ql.scale)
    np.testing.assert_array_equal(back.zero, ql.zero)
    assert (back.w_bits, back.group_size) == (ql.w_bits, ql.group_size)


def test_layout_matches_docstring():
    # Plane b, byte j, bit t is bit b of code Q[r, 8j+t]; checked against a hand-written loop.
    rng = np.random.default_rng(1)
    q = rng.integers(0, 8, size=(3, 13), dtype=np.uint8)
    planes = pack_codes(q, 3)
    assert planes.shape == (3, 3, 2)
    for b in range(3):
        for r in range(3):
            for k in range(13):
                assert (planes[b, r, k // 8] >> (k % 8)) & 1 == (q[r, k] >> b) & 1
    assert planes[0, 0, 1] >> 5 == 0  # padding channels are zero


def test_storage_is_w_bits_per_weight():
    rng = np.random.default_rng(2)
    for w_bits in (1, 2, 3, 5, 8):
        p = pack_linear(_random_ql(rng, 16, 256, w_bits, 64))
        assert p.code_bytes == 16 * 256 * w_bits // 8
        assert p.nbytes == p.code_bytes + 2 * 16 * 4 * 4


def test_save_load_round_trip(tmp_path):
    ql = _random_ql(np.random.default_rng(3), 5, 40, 3, 8)
    p = pack_linear(ql)
    save_packed(p, tmp_path / "layer.npz")
    back = load_packed(tmp_path / "layer.npz")
    np.testing.assert_array_equal(back.planes, p.planes)
    np.testing.assert_array_equal(unpack_linear(back).q, ql.q)


def test_bad_codes_rejected():
    with pytest.raises(ValueError, match="w_bits=2"):
        pack_codes(np.array([[0, 4]]), 2)
    with pytest.raises(ValueError, match="-1"):
        pack_codes(np.array([[0, -1]]), 2)


def test_inconsistent_record_rejected():
    ql = _random_ql(np.random.default_rng(4), 2, 16, 2, 8)
    p = pack_linear(ql)
    with pytest.raises(ValueError, match="w_bits=3"):
        PackedLinear(planes=p.planes, scale=p.scale, zero=p.zero, w_bits=3, group_size=8, k=16)
    with pytest.raises(ValueError, match="k=24"):
        PackedLinear(planes=p.planes, scale=p.scale, zero=p.zero, w_bits=2, group_size=8, k=24)
