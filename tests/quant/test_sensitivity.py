import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sail.quant.gptq import hessian_error
from sail.quant.sensitivity import capture_fisher, check_sensitivity, layer_sensitivity
from small_llama import small_llama


def test_fisher_matches_the_gradient_of_a_leaf_output():
    """Second path: make one layer's output a leaf tensor, backprop the same loss, square its grad."""
    from sail.model.llama import rope_tables

    model = small_llama(seed=4)
    ids = torch.randint(0, 64, (3, 20), generator=torch.Generator().manual_seed(2))
    fisher = capture_fisher(model, ids, batch_windows=2, progress=False)
    target = "blocks.1.mlp.gate"
    total = torch.zeros(model.get_linear_weight(target).shape[0], dtype=torch.float64)
    cos, sin = rope_tables(model.config, torch.arange(20))
    for i in range(3):
        leaf = {}

        def impl(name, x, w):
            y = x @ w.T
            if name == target:
                leaf["y"] = y.detach().requires_grad_(True)
                return leaf["y"]
            return y

        with torch.enable_grad(), model.linear_impl(impl):
            x = F.embedding(ids[i:i + 1], model.tok_embd)
            for block in model.blocks:
                x = block(x, cos, sin, None)
            logits = model.norm(x) @ model.tok_embd.T
            F.cross_entropy(logits[0, :-1], ids[i, 1:], reduction="sum").backward()
        total += leaf["y"].grad.double().pow(2).sum(0)
    np.testing.assert_allclose(fisher[target].numpy(), (total / ids.numel()).numpy(), rtol=1e-4, atol=1e-12)
    assert sorted(fisher) == sorted(model.linear_names())


def test_layer_sensitivity_weights_output_channels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8))
    h = torch.from_numpy(2 / 200 * x.T @ x)
    w = rng.standard_normal((3, 8))
    w_hat = w + 0.1 * rng.standard_normal((3, 8))
    assert layer_sensitivity(w, w_hat, h, None) == pytest.approx(hessian_error(w, w_hat, h), rel=1e-5)
    assert layer_sensitivity(w, w_hat, h, torch.ones(3)) == pytest.approx(hessian_error(w, w_hat, h), rel=1e-5)
    only_first = w.copy()
    only_first[0] = w_hat[0]
    # Fisher zero on channel 0: an error there costs nothing.
    assert layer_sensitivity(w, only_first, h, torch.tensor([0.0, 1.0, 1.0])) == 0.0
    with pytest.raises(ValueError, match=r"\(2,\)"):
        layer_sensitivity(w, w_hat, h, torch.ones(2))


def test_unknown_sensitivity_named():
    with pytest.raises(ValueError, match="'kl'"):
        check_sensitivity("kl")
