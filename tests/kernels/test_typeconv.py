"""Bit-serial type conversion equals numpy bit for bit."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sail.kernels import reference
from sail.kernels.typeconv import (PlaneOps, dequantize_bitserial, float_to_int_bitserial, int_to_float_bitserial,
                                   quantize_bitserial)


def _rint_clip(y, a_bits):
    return np.clip(np.rint(y.astype(np.float64)), -(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1).astype(np.int64)


@pytest.mark.parametrize("a_bits", [1, 2, 4, 8])
def test_float_to_int_edge_cases(a_bits):
    y = np.array([0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 126.5, 127.5, -128.5, -127.5, 1e-30,
                  -1e-30, 3e38, -3e38, 2.0**23 + 1, -(2.0**24), 0.75, 7.5, -7.5, -8.0, 8.0], np.float32)
    np.testing.assert_array_equal(float_to_int_bitserial(y, a_bits), _rint_clip(y, a_bits))


@settings(max_examples=40, deadline=None)
@given(a_bits=st.integers(1, 8), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 2**31))
def test_float_to_int_random(a_bits, scale, seed):
    rng = np.random.default_rng(seed)
    y = (rng.standard_normal(300) * scale).astype(np.float32)
    y[:20] = np.round(y[:20]) + np.float32(0.5)  # exact ties
    np.testing.assert_array_equal(float_to_int_bitserial(y, a_bits), _rint_clip(y, a_bits))


def test_quantize_matches_reference():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 50)).astype(np.float32)
    inv = (127 / np.abs(x).max(axis=1)).astype(np.float32)
    np.testing.assert_array_equal(quantize_bitserial(x, inv, 8), reference.quantize_to_int(x, inv[:, None], 8))


@settings(max_examples=40, deadline=None)
@given(bits=st.integers(1, 46), seed=st.integers(0, 2**31))
def test_int_to_float_random(bits, seed):
    rng = np.random.default_rng(seed)
    acc = rng.integers(-(1 << bits), 1 << bits, size=200)
    np.testing.assert_array_equal(int_to_float_bitserial(acc).view(np.uint32), reference.int_to_float(acc).view(np.uint32))


def test_int_to_float_edge_cases():
    acc = np.array([0, 1, -1, 2**24, 2**24 + 1, 2**24 + 3, -(2**24 + 3), 2**25 + 2, 2**25 + 6, 2**46 - 1,
                    -(2**47), 2**47 - 1, 16777217, 33554435])
    np.testing.assert_array_equal(int_to_float_bitserial(acc).view(np.uint32), reference.int_to_float(acc).view(np.uint32))


def test_dequantize_and_op_counts():
    acc = np.arange(-500, 500).reshape(10, 100) * 12345
    ops = PlaneOps()
    y = dequantize_bitserial(acc, np.float32(0.01), ops=ops)
    np.testing.assert_array_equal(y, (acc.astype(np.float32) * np.float32(0.01)).astype(np.float32))
    assert ops.total > 0
    # plane operations do not depend on the number of elements (bit-parallel across columns)
    ops2 = PlaneOps()
    dequantize_bitserial(acc[:1], np.float32(0.01), ops=ops2)
    assert ops2.total == ops.total


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        float_to_int_bitserial(np.array([np.nan], np.float32), 8)
    with pytest.raises(ValueError, match="width=8"):
        int_to_float_bitserial(np.array([300]), width=8)
    with pytest.raises(ValueError, match="a_bits"):
        float_to_int_bitserial(np.array([1.0], np.float32), 0)
