import numpy as np
import pytest
import torch

from sail.quant.gptq import capture_hessians, hessian_error, hessian_key, quantize_gptq
from sail.quant.rotation import RotatedLlama
from sail.quant.rtn import quantize_rtn
from sail.quant.sequential import sequential_quantize
from small_llama import small_llama

CALIB = torch.randint(0, 64, (6, 40), generator=torch.Generator().manual_seed(5))


def run(model, w_bits, group_size, act_order=True, true_sequential=True):
    gptq = lambda name, w, f: quantize_gptq(w, f, w_bits, group_size)  # noqa: E731
    rtn = lambda name, w: quantize_rtn(w, w_bits, group_size)  # noqa: E731
    return sequential_quantize(model, CALIB, gptq, act_order=act_order, true_sequential=true_sequential,
                               batch_windows=4, compare_rtn=rtn, progress=False)


@pytest.mark.parametrize("w_bits, group_size", [(2, 16), (3, -1), (4, 16)])
@pytest.mark.parametrize("act_order", [False, True])
def test_sequential_gptq_never_loses_to_rtn_on_layer_output_error(w_bits, group_size, act_order):
    qls, records = run(small_llama(seed=w_bits), w_bits, group_size, act_order)
    assert len(records) == len(qls) == 14
    for r in records:
        assert r["error"] <= r["error_rtn"] * (1 + 1e-6), r


@pytest.mark.parametrize("true_sequential", [True, False])
def test_each_layer_is_calibrated_on_the_quantised_model_before_it(true_sequential):
    """With true_sequential, every layer's recorded error is tr(ΔW H ΔWᵀ) with H taken from the
    finished quantised model: its inputs came from the already-quantised layers before it. Without
    it, that holds at block granularity only, so a later layer of a block differs."""
    model = small_llama(seed=9)
    orig = {n: model.get_linear_weight(n).clone().numpy() for n in model.linear_names()}
    qls, records = run(model, 3, 16, true_sequential=true_sequential)
    h_final = capture_hessians(model, CALIB, batch_windows=4, progress=False)  # model holds quantised weights
    for r in records:
        e_final = hessian_error(orig[r["layer"]], qls[r["layer"]].dequantize(), h_final[hessian_key(r["layer"])])
        first_in_block = r["layer"].endswith((".q", ".k", ".v"))
        if true_sequential or first_in_block:
            assert r["error"] == pytest.approx(e_final, rel=1e-3), r["layer"]
        elif r["layer"].endswith(".down"):
            assert r["error"] != pytest.approx(e_final, rel=1e-3), r["layer"]


def test_sequential_runs_on_the_rotated_model():
    model = RotatedLlama(small_llama(seed=2, outlier=10.0))
    ids = CALIB[:2]
    y = model(ids)
    qls, records = run(model, 4, 16)
    assert all(r["error"] <= r["error_rtn"] * (1 + 1e-6) for r in records)
    y_q = model(ids)  # the rotated model now holds its quantised weights
    assert 0 < (y_q - y).abs().max() < 0.5 * y.abs().max()


def test_bad_calibration_shape_named():
    with pytest.raises(ValueError, match=r"\(40,\)"):
        sequential_quantize(small_llama(), CALIB[0], lambda n, w, f: None, progress=False)
