import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from quant_naive import act as naive_act
from sail.quant.act import dequantize_activations, fake_quantize_activations_torch, quantize_activations


@pytest.mark.parametrize("a_bits", [2, 4, 6, 8])
def test_matches_naive_twin(a_bits):
    x = np.random.default_rng(a_bits).standard_normal((5, 40)).astype(np.float32) * 3
    x[2] = 0.0  # an all-zero token
    codes, s_x = quantize_activations(x, a_bits)
    ref_codes, ref_s = naive_act(x, a_bits)
    np.testing.assert_array_equal(codes, ref_codes)
    np.testing.assert_allclose(s_x, ref_s, rtol=1e-7)
    assert codes.dtype == np.int8 and s_x.shape == (5,)


@settings(max_examples=40, deadline=None)
@given(a_bits=st.sampled_from([4, 6, 8]), seed=st.integers(0, 2**31 - 1), n=st.integers(1, 6))
def test_range_and_error_bound(a_bits, seed, n):
    r = np.random.default_rng(seed)
    x = (r.standard_normal((n, 33)) * r.uniform(1e-3, 100)).astype(np.float32)
    codes, s_x = quantize_activations(x, a_bits)
    qmax = 2 ** (a_bits - 1) - 1
    assert codes.min() >= -qmax - 1 and codes.max() <= qmax
    # The token's largest magnitude maps to the extreme code exactly.
    assert np.all(np.abs(codes).max(axis=1) == qmax)
    err = np.abs(dequantize_activations(codes, s_x) - x)
    assert np.all(err <= s_x[:, None] * (0.5 + 1e-4))


def test_torch_twin_equals_numpy():
    x = np.random.default_rng(1).standard_normal((7, 64)).astype(np.float32)
    for a_bits in (4, 6, 8):
        codes, s_x = quantize_activations(x, a_bits)
        got = fake_quantize_activations_torch(torch.from_numpy(x), a_bits).numpy()
        np.testing.assert_allclose(got, dequantize_activations(codes, s_x), rtol=1e-6, atol=1e-7)


def test_single_token_vector():
    x = np.array([0.5, -1.0, 0.25], np.float32)
    codes, s_x = quantize_activations(x, 8)
    np.testing.assert_array_equal(codes, [64, -127, 32])
    assert s_x.shape == (1,)


@pytest.mark.parametrize("a_bits", [0, 1, 9, 16, True])
def test_bad_a_bits_named(a_bits):
    with pytest.raises(ValueError, match=f"got {a_bits!r}"):
        quantize_activations(np.ones((1, 4), np.float32), a_bits)
