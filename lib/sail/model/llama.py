"""Full definition of the Llama decoder we run (SmolLM2-135M), in plain torch, in this one file.

It follows Meta's reference ``llama/model.py`` and nanoGPT's layout: RMSNorm, rotary attention
with grouped-query heads, SwiGLU MLP, a block, the model. Weights come straight from the GGUF
(:mod:`sail.model.gguf_io`), so one detail differs from Hugging Face's code: llama.cpp stores the
Q and K projection rows permuted so that RoPE rotates *adjacent* pairs ``(2i, 2i+1)`` instead of
the two halves of a head. We apply RoPE to adjacent pairs on the GGUF rows; q·k is the same.

Every one of the 210 GEMV layers is a :class:`HookedLinear` with a stable name
(``blocks.{i}.attn.{q,k,v,o}``, ``blocks.{i}.mlp.{gate,up,down}``). Two context managers on the
model let the other stages see or replace them without touching this file:

- ``model.linear_input_hook(fn)``: ``fn(name, x)`` with the (N, K) input rows of every call
  (the profiling and GPTQ stages capture activations with it);
- ``model.linear_impl(fn)``: ``y = fn(name, x, w)`` instead of ``x @ w.T`` (activation
  quantisation and the LUT-GEMV functional run plug in here).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from sail.contracts import LAYER_TYPES as LINEAR_TYPES

InputHook = Callable[[str, torch.Tensor], None]
LinearImpl = Callable[[str, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ModelConfig:
    n_layers: int = 30  # SmolLM2-135M; every value is read from the GGUF metadata
    dim: int = 576
    ffn_dim: int = 1536  # SwiGLU hidden size
    n_heads: int = 9
    n_kv_heads: int = 3  # grouped-query attention: 3 query heads share each K/V head
    vocab: int = 49152
    rope_base: float = 100000.0
    norm_eps: float = 1e-5
    context: int = 8192

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(M, K) = (out, in) of each linear layer type."""
        kv = self.n_kv_heads * self.head_dim
        return {"q": (self.dim, self.dim), "k": (kv, self.dim), "v": (kv, self.dim), "o": (self.dim, self.dim),
                "gate": (self.ffn_dim, self.dim), "up": (self.ffn_dim, self.dim), "down": (self.dim, self.ffn_dim)}


class _Hooks:
    """Shared, mutable hook slots; not a Module so the linears don't hold the model in their tree."""

    def __init__(self):
        self.input_hook: InputHook | None = None
        self.impl: LinearImpl | None = None


class HookedLinear(nn.Module):
    def __init__(self, name: str, weight: torch.Tensor, hooks: _Hooks):
        super().__init__()
        self.name = name
        self.weight = nn.Parameter(weight, requires_grad=False)  # (M, K) = (out, in)
        self._hooks = hooks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1])  # (N, K)
        if self._hooks.input_hook is not None:
            self._hooks.input_hook(self.name, x2)
        if self._hooks.impl is not None:
            y = self._hooks.impl(self.name, x2, self.weight)
        else:
            y = x2 @ self.weight.T
        return y.reshape(*lead, self.weight.shape[0])


class RMSNorm(nn.Module):
    def __init__(self, weight: torch.Tensor, eps: float):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(cfg: ModelConfig, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    inv_freq = cfg.rope_base ** (-torch.arange(0, cfg.head_dim, 2, dtype=torch.float64) / cfg.head_dim)
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]  # (T, head_dim/2)
    return angles.cos().float(), angles.sin().float()


def apply_rope_adjacent(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate adjacent pairs (2i, 2i+1) of the last dim; x: (B, H, T, head_dim), cos/sin: (T, head_dim/2)."""
    x_even, x_odd = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x_even * cos - x_odd * sin, x_even * sin + x_odd * cos), dim=-1)
    return out.flatten(-2)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig, i: int, w: dict[str, torch.Tensor], hooks: _Hooks):
        super().__init__()
        self.cfg = cfg
        self.q = HookedLinear(f"blocks.{i}.attn.q", w["q"], hooks)
        self.k = HookedLinear(f"blocks.{i}.attn.k", w["k"], hooks)
        self.v = HookedLinear(f"blocks.{i}.attn.v", w["v"], hooks)
        self.o = HookedLinear(f"blocks.{i}.attn.o", w["o"], hooks)

    def forward(self, x, cos, sin, cache: dict | None):
        cfg = self.cfg
        b, t, _ = x.shape
        q = self.q(x).view(b, t, cfg.n_heads, cfg.head_dim).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k(x).view(b, t, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v(x).view(b, t, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        q, k = apply_rope_adjacent(q, cos, sin), apply_rope_adjacent(k, cos, sin)
        past = 0
        if cache is not None:
            if "k" in cache:
                past = cache["k"].shape[2]
                k = torch.cat((cache["k"], k), dim=2)  # (B, nkv, past+T, hd)
                v = torch.cat((cache["v"], v), dim=2)
            cache["k"], cache["v"] = k, v
        if past and t > 1:
            raise ValueError(f"chunked prefill is not supported: {t} new tokens after {past} cached ones")
        y = F.scaled_dot_product_attention(q, k, v, is_causal=(t > 1), enable_gqa=True)  # (B, nh, T, hd)
        return self.o(y.transpose(1, 2).reshape(b, t, cfg.dim))


class MLP(nn.Module):
    def __init__(self, i: int, w: dict[str, torch.Tensor], hooks: _Hooks):
        super().__init__()
        self.gate = HookedLinear(f"blocks.{i}.mlp.gate", w["gate"], hooks)
        self.up = HookedLinear(f"blocks.{i}.mlp.up", w["up"], hooks)
        self.down = HookedLinear(f"blocks.{i}.mlp.down", w["down"], hooks)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))  # SwiGLU


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, i: int, w: dict[str, torch.Tensor], hooks: _Hooks):
        super().__init__()
        self.attn_norm = RMSNorm(w["attn_norm"], cfg.norm_eps)
        self.attn = Attention(cfg, i, w, hooks)
        self.mlp_norm = RMSNorm(w["mlp_norm"], cfg.norm_eps)
        self.mlp = MLP(i, w, hooks)

    def forward(self, x, cos, sin, cache):
        x = x + self.attn(self.attn_norm(x), cos, sin, cache)
        return x + self.mlp(self.mlp_norm(x))


class Llama(nn.Module):
    """Decoder-only Llama with tied input/output embeddings. ``forward(ids) -> logits``."""

    def __init__(self, cfg: ModelConfig, weights: dict[str, torch.Tensor]):
        """``weights``: ``tok_embd`` (vocab, dim), ``norm`` (dim,), and per block ``blocks.{i}.<part>``
        with parts attn_norm, q, k, v, o, mlp_norm, gate, up, down (linear weights are (out, in))."""
        super().__init__()
        self.config = cfg
        self._hooks = _Hooks()
        self.tok_embd = nn.Parameter(weights["tok_embd"], requires_grad=False)  # (vocab, dim), also the LM head
        self.blocks = nn.ModuleList()
        for i in range(cfg.n_layers):
            w = {part: weights[f"blocks.{i}.{part}"] for part in
                 ("attn_norm", "q", "k", "v", "o", "mlp_norm", "gate", "up", "down")}
            self.blocks.append(Block(cfg, i, w, self._hooks))
        self.norm = RMSNorm(weights["norm"], cfg.norm_eps)
        self._linears = {m.name: m for m in self.modules() if isinstance(m, HookedLinear)}
        self.eval()

    # -- the stages' view of the GEMV layers ---------------------------------------------------
    def linear_names(self) -> list[str]:
        return list(self._linears)

    def get_linear_weight(self, name: str) -> torch.Tensor:
        return self._linear(name).weight.data

    def set_linear_weight(self, name: str, w) -> None:
        lin = self._linear(name)
        w = torch.as_tensor(w, dtype=torch.float32)
        if w.shape != lin.weight.shape:
            raise ValueError(f"{name}: weight shape {tuple(w.shape)} != {tuple(lin.weight.shape)}")
        lin.weight.data = w.contiguous()

    def _linear(self, name: str) -> HookedLinear:
        try:
            return self._linears[name]
        except KeyError:
            raise ValueError(f"unknown linear layer {name!r}; e.g. {self.linear_names()[:3]}") from None

    @contextlib.contextmanager
    def linear_input_hook(self, fn: InputHook) -> Iterator[None]:
        old, self._hooks.input_hook = self._hooks.input_hook, fn
        try:
            yield
        finally:
            self._hooks.input_hook = old

    @contextlib.contextmanager
    def linear_impl(self, fn: LinearImpl) -> Iterator[None]:
        old, self._hooks.impl = self._hooks.impl, fn
        try:
            yield
        finally:
            self._hooks.impl = old

    # -- forward ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def forward(self, ids: torch.Tensor, cache: list[dict] | None = None) -> torch.Tensor:
        """ids (B, T) int64 -> logits (B, T, vocab). With ``cache`` (one dict per block, from
        :meth:`new_cache`) positions continue after the cached tokens."""
        if ids.ndim != 2:
            raise ValueError(f"ids must be (B, T), got shape {tuple(ids.shape)}")
        start = cache[0]["k"].shape[2] if cache and "k" in cache[0] else 0
        t = ids.shape[1]
        if start + t > self.config.context:
            raise ValueError(f"sequence of {start + t} tokens exceeds the context of {self.config.context}")
        cos, sin = rope_tables(self.config, torch.arange(start, start + t))
        x = F.embedding(ids, self.tok_embd)  # (B, T, dim)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, cache[i] if cache is not None else None)
        return self.norm(x) @ self.tok_embd.T  # (B, T, vocab), tied LM head

    def new_cache(self) -> list[dict]:
        return [{} for _ in self.blocks]


def n_params(cfg: ModelConfig) -> int:
    per_block = sum(m * k for m, k in cfg.linear_shapes().values()) + 2 * cfg.dim
    return cfg.n_layers * per_block + cfg.vocab * cfg.dim + cfg.dim

