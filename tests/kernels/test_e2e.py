"""The end-to-end integer paths: LUT accumulators vs the integer reference, shared epilogue."""

from pathlib import Path

import numpy as np
import pytest
from conftest import random_quant_linear

from sail.kernels import lut_gemv_grouped
from sail.kernels.e2e import _Layer, epilogue, integer_reference_acc

GGUF = Path("resources/model/SmolLM2-135M-Instruct.Q4_1.gguf")


def _int_loops(q, x, g):
    n, k = x.shape
    out = np.zeros((n, q.shape[0], k // g), np.int64)
    for gi in range(k // g):
        out[:, :, gi] = x[:, gi * g:(gi + 1) * g].astype(np.int64) @ q[:, gi * g:(gi + 1) * g].T.astype(np.int64)
    return out


def test_reference_and_lut_accumulators_agree(rng):
    ql = random_quant_linear(rng, 24, 96, 4, 32)
    x = rng.integers(-128, 128, size=(5, 96))
    ref = integer_reference_acc(ql.q, x, 32)
    np.testing.assert_array_equal(ref, _int_loops(ql.q, x, 32))
    lut = lut_gemv_grouped(ql.q, x.T, 4, 8, 4, 32).transpose(2, 0, 1)
    np.testing.assert_array_equal(lut, ref)


def test_epilogue_is_the_dequantised_product(rng):
    ql = random_quant_linear(rng, 6, 64, 3, 32)
    x = rng.integers(-128, 128, size=(4, 64))
    s_x = rng.random(4).astype(np.float32) + np.float32(0.1)
    layer = _Layer(ql.q, ql.scale, ql.zero, 3, 32)
    y = epilogue(integer_reference_acc(ql.q, x, 32), x, s_x, layer)
    ref = (x * s_x[:, None]).astype(np.float64) @ ql.dequantize().astype(np.float64).T
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())
    # layout independence: a transposed (non-contiguous) accumulator gives bit-identical floats
    acc_t = np.ascontiguousarray(integer_reference_acc(ql.q, x, 32).transpose(2, 1, 0)).transpose(2, 1, 0)
    np.testing.assert_array_equal(epilogue(acc_t, x, s_x, layer), y)


@pytest.mark.model
def test_real_layer_activations_are_exact():
    if not GGUF.exists():
        pytest.skip(f"{GGUF} absent (fetch with `snakemake model_extract`)")
    import torch

    from sail.model import load_model, load_tokenizer
    from sail.quant.act import quantize_activations
    from sail.quant.rtn import quantize_rtn

    model = load_model(GGUF)
    tok = load_tokenizer(GGUF)
    captured = {}
    names = ["blocks.0.attn.q", "blocks.5.mlp.down"]

    def hook(name, x):
        if name in names and name not in captured:
            captured[name] = x.detach().numpy().copy()

    with torch.no_grad(), model.linear_input_hook(hook):
        model(torch.tensor([tok.encode("It is a truth universally acknowledged")]))
    for name in names:
        ql = quantize_rtn(model.get_linear_weight(name).numpy(), 3, 32)
        x_int, _ = quantize_activations(captured[name], 8)
        lut = lut_gemv_grouped(ql.q, x_int.T.astype(np.int64), 3, 8, 4, 32).transpose(2, 0, 1)
        np.testing.assert_array_equal(lut, _int_loops(ql.q, x_int, 32))
