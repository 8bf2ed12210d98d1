"""Decoder shapes of the simulated models. Each block has seven GEMV layers."""

from __future__ import annotations

from dataclasses import dataclass

LAYER_TYPES = ("q", "k", "v", "o", "gate", "up", "down")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    n_layers: int  # decoder blocks
    dim: int  # hidden size
    ffn_dim: int  # SwiGLU intermediate size
    n_heads: int
    n_kv_heads: int  # < n_heads means grouped-query attention
    vocab: int
    head_dim: int

    def gemv_layers(self) -> list[tuple[str, int, int, int]]:
        """``(layer_type, M, K, count)`` for every GEMV of one decode step; W is M (out) x K (in)."""
        kv = self.n_kv_heads * self.head_dim
        qd = self.n_heads * self.head_dim
        n = self.n_layers
        return [
            ("q", qd, self.dim, n),
            ("k", kv, self.dim, n),
            ("v", kv, self.dim, n),
            ("o", self.dim, qd, n),
            ("gate", self.ffn_dim, self.dim, n),
            ("up", self.ffn_dim, self.dim, n),
            ("down", self.dim, self.ffn_dim, n),
            # The output projection runs once per step; quantised like the blocks (a simplification:
            # llama.cpp often keeps it at 6 bits).
            ("lm_head", self.vocab, self.dim, 1),
        ]

    @property
    def gemv_params(self) -> int:
        return sum(m * k * c for _, m, k, c in self.gemv_layers())


MODELS: dict[str, ModelSpec] = {
    # Llama-2 paper (Touvron et al. 2023) / HF config.json; Llama-3 model card; SmolLM2 GGUF metadata.
    "llama2-7b": ModelSpec("llama2-7b", 32, 4096, 11008, 32, 32, 32000, 128),
    "llama2-13b": ModelSpec("llama2-13b", 40, 5120, 13824, 40, 40, 32000, 128),
    "llama2-70b": ModelSpec("llama2-70b", 80, 8192, 28672, 64, 8, 32000, 128),
    "llama3-8b": ModelSpec("llama3-8b", 32, 4096, 14336, 32, 8, 128256, 128),
    "smollm2-135m": ModelSpec("smollm2-135m", 30, 576, 1536, 9, 3, 49152, 64),
}


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; known: {sorted(MODELS)}") from None
