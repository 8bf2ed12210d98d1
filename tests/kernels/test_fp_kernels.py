"""Activation-LUT and dequant control against the dequantised float64 product."""

import numpy as np
import pytest
from conftest import random_quant_linear
from hypothesis import given, settings, strategies as st

from sail.kernels import act_lut_gemv, dequant_gemv, reference
from sail.quant.packing import pack_linear

KERNELS = {
    "act_lut_g4": lambda p, x: act_lut_gemv(p, x, g=4),
    "act_lut_g8": lambda p, x: act_lut_gemv(p, x, g=8),
    "dequant": dequant_gemv,
}


def _rel_err(y, ref):
    return float(np.abs(y - ref).max() / max(np.abs(ref).max(), 1e-30))


@pytest.mark.parametrize("name", sorted(KERNELS))
@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 20), groups=st.integers(1, 4), group_size=st.sampled_from([8, 16, 32, 64]),
       w_bits=st.integers(1, 8), batch=st.integers(1, 9), vec=st.booleans(), seed=st.integers(0, 2**31))
def test_fp_kernel_matches_dequantised_product(name, m, groups, group_size, w_bits, batch, vec, seed):
    rng = np.random.default_rng(seed)
    k = groups * group_size
    ql = random_quant_linear(rng, m, k, w_bits, group_size)
    x = rng.standard_normal(k if vec else (k, batch)).astype(np.float32)
    ref = reference.dequant_linear(ql.q, ql.scale, ql.zero, group_size, x)
    y = KERNELS[name](pack_linear(ql), x)
    assert y.dtype == np.float32 and y.shape == ref.shape
    # fp32 accumulation of up to 256 codes x activations, then s (acc - z sum x) cancels part of it
    # (codes up to 255): errors of a few 1e-6 of the output scale; 5e-5 is still 10x below T-MAC's 5e-4 gate
    assert _rel_err(y, ref) < 5e-5


def test_kernels_use_every_bit_plane(rng):
    # flipping the top bit-plane of one weight must change exactly that row's output
    ql = random_quant_linear(rng, 4, 32, 3, 16)
    p = pack_linear(ql)
    x = rng.standard_normal(32).astype(np.float32)
    planes = p.planes.copy()
    planes[2, 1, 0] ^= 1
    p2 = type(p)(planes=planes, scale=p.scale, zero=p.zero, w_bits=3, group_size=16, k=32)
    for f in KERNELS.values():
        d = f(p2, x) - f(p, x)
        assert np.flatnonzero(np.abs(d) > 1e-6).tolist() == [1]
        np.testing.assert_allclose(d[1], ql.scale[1, 0] * 4 * x[0] * (1 if (ql.q[1, 0] >> 2) % 2 == 0 else -1),
                                   rtol=1e-4)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_bad_input(name, rng):
    p = pack_linear(random_quant_linear(rng, 2, 16, 2, 8))
    with pytest.raises(ValueError, match="K=16"):
        KERNELS[name](p, np.zeros(15, np.float32))
    with pytest.raises(ValueError, match="float"):
        KERNELS[name](p, np.zeros(16, np.int64))
    with pytest.raises(ValueError, match="PackedLinear"):
        KERNELS[name](object(), np.zeros(16, np.float32))


def test_act_lut_rejects_bad_group(rng):
    p = pack_linear(random_quant_linear(rng, 2, 12, 2, 4))
    with pytest.raises(ValueError, match="group_size"):
        act_lut_gemv(p, np.zeros(12, np.float32))
    with pytest.raises(ValueError, match="g must be 4 or 8, got 5"):
        act_lut_gemv(pack_linear(random_quant_linear(rng, 2, 16, 2, 8)), np.zeros(16, np.float32), g=5)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_several_row_tiles_and_a_partial_one(name, rng):
    # 130 rows = two full 64-row tiles of the act-LUT kernels plus a partial one
    ql = random_quant_linear(rng, 130, 128, 2, 64)
    x = rng.standard_normal((128, 3)).astype(np.float32)
    ref = reference.dequant_linear(ql.q, ql.scale, ql.zero, 64, x)
    assert _rel_err(KERNELS[name](pack_linear(ql), x), ref) < 1e-5


def test_spread_bits_puts_bit_i_in_byte_i():
    from sail.kernels.dequant import spread_bits

    for v in range(256):
        lanes = np.array([spread_bits(np.uint8(v))], dtype=np.uint64).view(np.uint8)
        assert lanes.tolist() == [(v >> i) & 1 for i in range(8)], v
