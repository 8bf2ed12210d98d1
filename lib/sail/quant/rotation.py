"""Hadamard rotation of the residual stream (QuaRot-style), exact in floating point, for A4.

Per-token 4-bit activations break the model (perplexity in the thousands) because a few channels
of every token carry outliers 10-100x the rest, and one scale per token spends the 15 levels on
them. QuaRot (Ashkboos et al., NeurIPS 2024, arXiv 2404.00456) multiplies the activations by an
orthogonal (randomised Hadamard) matrix ``Q`` and the weights by ``Qᵀ`` on the other side, which
leaves the fp model's function unchanged but spreads every outlier over all channels. We do the
same on the model's own weights:

* **residual stream**, rotated by ``Q`` (dim x dim): embedding ``E' = E Q``; every RMSNorm's gain
  ``γ`` is folded into the layers it feeds (``W' = W diag(γ) Q`` for q, k, v, gate, up; the norm
  itself then has gain 1 and commutes with ``Q``); the layers that write the residual (o, down)
  get ``W' = Qᵀ W`` on their output side; the LM head becomes ``E diag(γ_final) Q`` — no longer
  tied to the embedding, so :class:`RotatedLlama` carries it separately;
* **inputs of o and down** (attention output and SwiGLU product, not on the residual stream),
  rotated *online* by ``Q_o`` (dim) and ``Q_d`` (ffn_dim) right before the layer, with the inverse
  folded into its weight (``W' = … W Q``), as QuaRot does for the down projection (it folds a
  per-head Hadamard into V/O; we rotate the whole attention output, which is also exact).

So every linear layer's input — what activation quantisation and GPTQ see — is a rotated vector,
and ``RotatedLlama`` computes the same logits as the model it came from up to float rounding
(tested). ``Q = diag(±1) H / √n`` with ``H`` a Sylvester/Paley Hadamard matrix (n = 2^a·12^b:
576 = 12·12·4, 1536 = 12·128) and random signs from a fixed seed.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sail.model.llama import HookedLinear, Llama, rope_tables


def _paley12() -> np.ndarray:
    """Hadamard matrix of order 12 by Paley's construction I (q = 11 ≡ 3 mod 4)."""
    q = 11
    residues = {(i * i) % q for i in range(1, q)}
    chi = lambda a: 0 if a % q == 0 else (1 if a % q in residues else -1)  # noqa: E731
    jac = np.array([[chi(j - i) for j in range(q)] for i in range(q)], dtype=np.float64)
    s = np.zeros((q + 1, q + 1))
    s[0, 1:] = 1.0
    s[1:, 0] = -1.0
    s[1:, 1:] = jac
    return np.eye(q + 1) + s


def hadamard(n: int) -> np.ndarray:
    """An n x n matrix with entries ±1 and ``H Hᵀ = n I`` for n = 2^a · 12^b; ValueError otherwise."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"Hadamard order must be a positive integer, got {n!r}")
    rest = n
    while rest % 12 == 0:
        rest //= 12
    if rest & (rest - 1):
        raise ValueError(f"no Hadamard construction here for order {n} (need 2^a * 12^b)")
    if n & (n - 1) == 0:
        h = np.ones((1, 1))
        while h.shape[0] < n:
            h = np.block([[h, h], [h, -h]])
        return h
    return np.kron(_paley12(), hadamard(n // 12))


def random_hadamard(n: int, seed: int) -> torch.Tensor:
    """Orthogonal ``Q = diag(s) H / √n`` (float64) with random signs ``s`` from ``seed``."""
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=n)
    return torch.from_numpy(signs[:, None] * hadamard(n) / np.sqrt(n))


class OnlineRotatedLinear(HookedLinear):
    """A linear layer whose input is rotated by ``rotation`` (K x K) first; hooks see the rotated input."""

    def __init__(self, name: str, weight: torch.Tensor, hooks, rotation: torch.Tensor):
        super().__init__(name, weight, hooks)
        self.register_buffer("rotation", rotation.float())

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.rotation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.prepare(x))


class RotatedLlama(Llama):
    """:class:`sail.model.Llama` with the residual stream and the o/down inputs rotated (module
    docstring). Same linear layer names and hooks; an untied LM head ``head`` (vocab, dim)."""

    def __init__(self, model: Llama, seed: int = 0):
        cfg = model.config
        dim, ffn = cfg.dim, cfg.ffn_dim
        q = random_hadamard(dim, seed)  # residual
        q_o = random_hadamard(dim, seed + 1)
        q_d = random_hadamard(ffn, seed + 2)
        d = lambda t: t.detach().double()  # noqa: E731
        w = {"tok_embd": (d(model.tok_embd) @ q).float(), "norm": torch.ones(dim)}
        for i, blk in enumerate(model.blocks):
            ga, gm = d(blk.attn_norm.weight), d(blk.mlp_norm.weight)
            p = f"blocks.{i}"
            for part, lin in (("q", blk.attn.q), ("k", blk.attn.k), ("v", blk.attn.v)):
                w[f"{p}.{part}"] = ((d(lin.weight) * ga) @ q).float()
            for part, lin in (("gate", blk.mlp.gate), ("up", blk.mlp.up)):
                w[f"{p}.{part}"] = ((d(lin.weight) * gm) @ q).float()
            w[f"{p}.o"] = (q.T @ d(blk.attn.o.weight) @ q_o).float()
            w[f"{p}.down"] = (q.T @ d(blk.mlp.down.weight) @ q_d).float()
            w[f"{p}.attn_norm"] = torch.ones(dim)
            w[f"{p}.mlp_norm"] = torch.ones(dim)
        super().__init__(cfg, w)
        for i, blk in enumerate(self.blocks):
            blk.attn.o = OnlineRotatedLinear(blk.attn.o.name, blk.attn.o.weight.data, self._hooks, q_o)
            blk.mlp.down = OnlineRotatedLinear(blk.mlp.down.name, blk.mlp.down.weight.data, self._hooks, q_d)
        self._linears = {m.name: m for m in self.modules() if isinstance(m, HookedLinear)}
        self.head = torch.nn.Parameter(((d(model.tok_embd) * d(model.norm.weight)) @ q).float(), requires_grad=False)
        self.eval()

    @torch.inference_mode()
    def forward(self, ids: torch.Tensor, cache: list[dict] | None = None) -> torch.Tensor:
        if ids.ndim != 2:
            raise ValueError(f"ids must be (B, T), got shape {tuple(ids.shape)}")
        if cache is not None:
            raise ValueError("RotatedLlama scores windows only (no KV cache)")
        t = ids.shape[1]
        if t > self.config.context:
            raise ValueError(f"sequence of {t} tokens exceeds the context of {self.config.context}")
        cos, sin = rope_tables(self.config, torch.arange(t))
        x = F.embedding(ids, self.tok_embd)
        for block in self.blocks:
            x = block(x, cos, sin, None)
        return self.norm(x) @ self.head.T
