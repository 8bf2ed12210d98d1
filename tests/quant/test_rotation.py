import numpy as np
import pytest
import torch

from sail.quant.evaluate import quantized_activations
from sail.quant.rotation import RotatedLlama, hadamard, random_hadamard
from small_llama import small_llama


@pytest.mark.parametrize("n", [1, 2, 12, 48, 576, 1536])
def test_hadamard_is_orthogonal(n):
    h = hadamard(n)
    assert set(np.unique(h)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(h @ h.T, n * np.eye(n))
    q = random_hadamard(n, seed=3).numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(n), atol=1e-12)


@pytest.mark.parametrize("n", [0, 9, 36])
def test_unsupported_order_named(n):
    with pytest.raises(ValueError, match=str(n)):
        hadamard(n)


def test_rotated_model_computes_the_same_logits():
    model = small_llama(outlier=20.0)
    rot = RotatedLlama(model, seed=1)
    ids = torch.randint(0, 64, (3, 17), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(rot(ids), model(ids), rtol=1e-4, atol=1e-4)
    assert sorted(rot.linear_names()) == sorted(model.linear_names())
    # The weights really are different (rotated), not the same model.
    assert not torch.allclose(rot.get_linear_weight("blocks.0.attn.q"), model.get_linear_weight("blocks.0.attn.q"))


def test_rotation_rescues_4bit_activations_with_outliers():
    model = small_llama(outlier=30.0)
    rot = RotatedLlama(model, seed=1)
    ids = torch.randint(0, 64, (4, 32), generator=torch.Generator().manual_seed(1))
    y = model(ids)
    with quantized_activations(model, 4):
        err_plain = (model(ids) - y).pow(2).mean().item()
    with quantized_activations(rot, 4):
        err_rot = (rot(ids) - y).pow(2).mean().item()
    assert err_rot < 0.5 * err_plain
