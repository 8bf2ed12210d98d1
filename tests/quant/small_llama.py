"""A small random Llama with the real architecture (sail.model.Llama), for tests that walk blocks."""

import torch

from sail.model.llama import Llama, ModelConfig


def small_llama(seed=0, n_layers=2, dim=48, ffn_dim=96, n_heads=4, n_kv_heads=2, vocab=64, outlier=0.0):
    """Random weights of a plausible scale; ``outlier`` > 0 makes a few residual channels large
    (as in real LLMs) through the embedding, so per-token activation quantisation suffers."""
    cfg = ModelConfig(n_layers=n_layers, dim=dim, ffn_dim=ffn_dim, n_heads=n_heads, n_kv_heads=n_kv_heads,
                      vocab=vocab, rope_base=10000.0, context=256)
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    emb = r(vocab, dim) * 0.5
    if outlier:
        emb[:, :2] *= outlier
    w = {"tok_embd": emb, "norm": 1.0 + 0.1 * r(dim)}
    for i in range(n_layers):
        for part, (m, k) in cfg.linear_shapes().items():
            w[f"blocks.{i}.{part}"] = r(m, k) / k ** 0.5
        w[f"blocks.{i}.attn_norm"] = 1.0 + 0.2 * r(dim)
        w[f"blocks.{i}.mlp_norm"] = 1.0 + 0.2 * r(dim)
    return Llama(cfg, w)
