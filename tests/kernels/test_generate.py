"""`sail generate`: the LUT engine computes what separate layers compute, and bad input is named."""

import numpy as np
import pytest
import torch

from sail.cli import main
from sail.kernels.generate import LutLinears, _forward, greedy_decode


def test_fused_stacks_are_bit_identical_and_every_layer_runs_on_the_kernel(real_model, real_tokenizer):
    # the LM head (49152 x 576) only in the fused one: it is not stacked, and it is the slow part to prepare
    fused = LutLinears(real_model, 3, 32, impl="portable", fuse=True)
    plain = LutLinears(real_model, 3, 32, impl="portable", fuse=False, lm_head=False)
    ids = torch.tensor([real_tokenizer.encode("The capital of France is")])
    lf = _forward(real_model, ids, real_model.new_cache(), fused)
    hidden = {}
    hook = real_model.norm.register_forward_hook(lambda m, i, o: hidden.setdefault("h", o))
    try:
        with real_model.linear_impl(plain.impl):  # the plain stacks' hidden state before the (fp32) head
            real_model(ids)
    finally:
        hook.remove()  # the model is a shared fixture
    assert torch.equal(lf, fused.head(hidden["h"]))  # same hidden state through the same LUT head
    n_blocks = len(real_model.blocks)
    assert plain.calls == 7 * n_blocks and fused.calls == 4 * n_blocks + 2  # + the LM head, twice
    # the LUT logits are those of a W3 model, not of the fp32 one, yet correlated with them
    ref = real_model(ids)
    assert not torch.equal(lf, ref)
    assert torch.corrcoef(torch.stack([lf[0, -1], ref[0, -1]]))[0, 1] > 0.5  # W3 RTN of a 135M model: ~0.75 measured; a broken kernel gives ~0


def test_greedy_decode_counts_tokens_and_splits_time(real_model, real_tokenizer):
    lin = LutLinears(real_model, 4, 32, impl="portable", lm_head=False)
    r = greedy_decode(real_model, real_tokenizer, "Hi", 3, lin)
    assert r["new_tokens"] == 3 and len(r["ids"]) == 3
    assert r["gemv_s"] > 0 and r["head_s"] > 0
    np.testing.assert_allclose(r["gemv_s"] + r["head_s"] + r["other_s"], r["decode_s"])
    with pytest.raises(ValueError, match="new_tokens"):
        greedy_decode(real_model, real_tokenizer, "Hi", 0, lin)


def test_cli_names_bad_arguments(capsys, tmp_path):
    assert main(["generate", "--w-bits", "4,x"]) == 2
    assert "--w-bits" in capsys.readouterr().err
    assert main(["generate", "--gguf", str(tmp_path / "missing.gguf")]) == 2
    assert "GGUF not found" in capsys.readouterr().err
