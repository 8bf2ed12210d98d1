import numpy as np
import pytest

from sail.quant.rtn import quantize_rtn

hqq = pytest.importorskip("hqq", reason="optional peer quantiser: pip install --no-deps -r requirements-peers.txt")


@pytest.mark.parametrize("w_bits", [2, 3, 4])
def test_hqq_without_optimiser_is_our_float_minimum_rtn(w_bits):
    """Someone else's code for the Q4_1-shaped grid gives our rtn_fmin weights (to float rounding)."""
    from sail.quant.peer import quantize_hqq

    w = np.random.default_rng(w_bits).standard_normal((16, 64)).astype(np.float32)
    ours = quantize_rtn(w, w_bits, 32, float_min=True).dequantize()
    theirs = quantize_hqq(w, w_bits, 32, optimize=False)
    step = (w.max() - w.min()) / (2**w_bits - 1)
    assert np.mean(np.abs(ours - theirs) > 1e-3 * step) < 0.01
    # With its optimiser HQQ is a different quantiser, but not a worse one by much on the weights.
    opt = quantize_hqq(w, w_bits, 32, optimize=True)
    assert np.linalg.norm(opt - w) < 1.5 * np.linalg.norm(ours - w)


def test_bad_width_named():
    from sail.quant.peer import quantize_hqq

    with pytest.raises(ValueError, match="got 7"):
        quantize_hqq(np.zeros((2, 32), np.float32), 7, 32)
