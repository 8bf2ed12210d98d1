"""GPTQ weight quantisation (Frantar et al., ICLR 2023, arXiv 2210.17323, Algorithm 1).

GPTQ quantises the columns of ``W`` (M x K) one at a time and spreads each column's rounding error
over the not-yet-quantised columns, weighted by the inverse Hessian ``H = 2/N · Xᵀ X`` of the layer's
calibration inputs ``X`` (N x K), so that the layer *output* error ``‖X Wᵀ − X Ŵᵀ‖²`` — equivalently
``tr(ΔW H ΔWᵀ)`` — is small, not the weight error. Hessian algebra (Cholesky) runs in torch, the
column loop is a numba kernel. It uses the same grid as RTN (shared
:func:`sail.quant.rtn.group_params`): scale and zero-point of a group are fixed when GPTQ reaches
the group's first column, from the already error-updated weights (as the authors' reference code
does without act-order). With ``H = I`` GPTQ reduces to RTN exactly (tested).

**Where the Hessians come from (a design decision).** We collect ``H`` once, from the
*dequantised reference model* (non-sequential), and reuse it for every bit width and group size.
The paper's sequential variant re-collects each block's inputs from the already-quantised
preceding blocks; that needs a calibration pass per block *per configuration* (every grid row),
which does not fit the 25-minute budget on 2 cores, while the non-sequential variant costs one
pass for the whole grid. The price: a layer's compensation ignores the error that earlier
quantised layers put into its input. We did not measure the sequential variant; we expect the gap
to be small at 3-4 bits and larger at 2 bits, so our 2-bit GPTQ rows are, if anything, pessimistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numba import njit

from sail.quant.core import QuantLinear, check_group_size, check_w_bits
from sail.quant.rtn import check_weight, group_params

# Layer types (names end in .q/.k/...) whose inputs are the same tensor, so one Hessian serves them.
SHARED_INPUT = {"q": "qkv", "k": "qkv", "v": "qkv", "gate": "gate_up", "up": "gate_up"}


def hessian_key(name: str) -> str:
    """Name of the Hessian that layer ``name`` uses (q/k/v share one, gate/up share one)."""
    prefix, kind = name.rsplit(".", 1)
    return f"{prefix}.{SHARED_INPUT.get(kind, kind)}"


class HessianAccumulator:
    """Running ``H = 2/N · Σ xᵀx`` over batches of input rows ``x`` (n, K)."""

    def __init__(self, k: int):
        self.h = torch.zeros((k, k), dtype=torch.float32)
        self.n = 0

    def add(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).to(torch.float32)
        self.h.addmm_(x.T, x)
        self.n += x.shape[0]

    def value(self) -> torch.Tensor:
        if self.n == 0:
            raise ValueError("no calibration rows were accumulated")
        return self.h * (2.0 / self.n)


def capture_hessians(model, windows: torch.Tensor, batch_windows: int = 8, progress: bool = True) -> dict:
    """Hessians of every linear layer's input on ``windows`` (n_windows, T) token ids.

    Returns ``{hessian_key(name): H (K, K) float32 tensor}``; uses ``model.linear_input_hook``.
    """
    acc: dict[str, HessianAccumulator] = {}
    seen_in_call: set[str] = set()

    def hook(name, x):
        key = hessian_key(name)
        # q, k and v (gate and up) see the same rows; count them once per forward.
        if key in seen_in_call:
            return
        seen_in_call.add(key)
        if key not in acc:
            acc[key] = HessianAccumulator(x.shape[-1])
        acc[key].add(x.detach())

    batches = range(0, windows.shape[0], batch_windows)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="calibration (Hessians)", unit="batch")
    with torch.inference_mode(), model.linear_input_hook(hook):
        for i in batches:
            seen_in_call.clear()
            model(windows[i:i + batch_windows])
    return {k: acc[k].value() for k in sorted(acc)}


def hessian_error(w, w_hat, h: torch.Tensor) -> float:
    """Hessian-weighted output error ``tr(ΔW H ΔWᵀ)`` = ``2/N ‖X ΔWᵀ‖²`` of replacing ``w`` by ``w_hat``.

    ``w``, ``w_hat``: (M, K) arrays or tensors; ``h``: (K, K). Computed in float64.
    """
    d = torch.as_tensor(np.asarray(w, np.float64) - np.asarray(w_hat, np.float64))
    return float(torch.einsum("mk,kl,ml->", d, torch.as_tensor(h).double(), d))


@dataclass(frozen=True)
class HessianFactor:
    """What GPTQ needs from a Hessian: the upper Cholesky factor ``U`` of ``(H + λI)⁻¹`` and the
    dead-input mask. Computing it is the expensive part for small layers, and q/k/v (gate/up)
    share one, so callers may compute it once with :func:`factor_hessian` and pass it on."""

    u: np.ndarray  # (K, K) float32, upper triangular
    dead: np.ndarray  # (K,) bool, inputs that were always zero
    damp: float


def factor_hessian(h: torch.Tensor | np.ndarray, damp: float = 0.01) -> HessianFactor:
    """``U = chol((H + λ·mean(diag H)·I)⁻¹, upper)`` with dead inputs given ``H_ii = 1`` (GPTQ's recipe)."""
    if not 0.0 <= damp < 1.0:
        raise ValueError(f"damp must be in [0, 1), got {damp!r}")
    H = torch.as_tensor(h, dtype=torch.float32).clone()
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"Hessian must be square (K, K), got {tuple(H.shape)}")
    k = H.shape[0]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    if not bool(torch.isfinite(H).all()):
        raise ValueError("Hessian contains non-finite values (NaN or inf)")
    H += damp * torch.mean(torch.diag(H)) * torch.eye(k)
    try:
        L = torch.linalg.cholesky(H)
        hinv = torch.cholesky_inverse(L)
        u = torch.linalg.cholesky(hinv, upper=True)
    except torch.linalg.LinAlgError as err:
        raise ValueError(f"Hessian is not positive definite even with damp={damp}: {err}") from None
    return HessianFactor(u=u.numpy(), dead=dead.numpy(), damp=damp)


def quantize_gptq(w: np.ndarray, h: torch.Tensor | np.ndarray | HessianFactor, w_bits: int,
                  group_size: int | None, symmetric: bool = False, damp: float = 0.01,
                  block_size: int = 128) -> QuantLinear:
    """Quantise ``w`` (M, K) with GPTQ given the input Hessian ``h`` (K, K) or its :class:`HessianFactor`.

    Parameters
    ----------
    damp : fraction of the mean Hessian diagonal added to the diagonal (the paper's λ = 1 %),
        which keeps the Cholesky factorisation stable (ignored when ``h`` is already factored).
    block_size : columns per lazy-batch update (paper: 128); adjusted so groups align with blocks.

    Raises ValueError naming ``w_bits``, ``group_size``, ``damp`` or a mismatched Hessian shape.
    """
    w_bits = check_w_bits(w_bits)
    w_np = check_weight(w)
    m, k = w_np.shape
    g = check_group_size(group_size, k)
    f = h if isinstance(h, HessianFactor) else factor_hessian(h, damp)
    if f.u.shape != (k, k):
        raise ValueError(f"Hessian must have shape ({k}, {k}) for K={k}, got {f.u.shape}")
    Hinv = f.u
    maxq = (1 << w_bits) - 1
    block = _block_for(g, block_size)

    W = w_np.copy()
    W[:, f.dead] = 0.0
    Q = np.zeros((m, k), np.float32)
    scale = np.zeros((m, k // g), np.float32)
    zero = np.zeros((m, k // g), np.float32)
    s = z = None
    for i1 in range(0, k, block):
        i2 = min(i1 + block, k)
        W1 = np.ascontiguousarray(W[:, i1:i2])
        Q1 = np.zeros_like(W1)
        Err1 = np.zeros_like(W1)
        Hinv1 = np.ascontiguousarray(Hinv[i1:i2, i1:i2])
        for c0 in range(0, i2 - i1, min(g, block)):
            col = i1 + c0
            if col % g == 0:
                # Fix the group's grid from the weights as GPTQ has updated them so far: a group
                # inside the block is current in W1; a group spanning blocks starts at this block,
                # and W[:, col:col+g] already holds every earlier block's lazy update.
                cur = W1[:, c0:c0 + g] if g <= block else W[:, col:col + g]
                s, z = group_params(cur, w_bits, symmetric)
                scale[:, col // g], zero[:, col // g] = s, z
            _gptq_columns(W1, Hinv1, Q1, Err1, c0, c0 + min(g, block), s, z, np.float32(maxq))
        Q[:, i1:i2] = Q1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    return QuantLinear(q=Q.astype(np.uint8), scale=scale, zero=zero, w_bits=w_bits, group_size=g)


def _block_for(g: int, block_size: int) -> int:
    """Lazy-batch width: a multiple of ``g`` (if g ≤ block_size) or the largest divisor of ``g``
    not above block_size, so every group starts at a column where its weights are up to date."""
    if g <= block_size:
        return g * (block_size // g)
    return max(d for d in range(1, block_size + 1) if g % d == 0)


@njit(cache=True)
def _gptq_columns(W1, Hinv1, Q1, Err1, c0, c1, s, z, maxq):  # pragma: no cover - compiled
    """GPTQ's inner loop over columns c0..c1 of the block W1 (M, block); rows are independent.

    For column i of row r: q = clip(round(w / s + z)); err = (w - s (q - z)) / U[i, i];
    then w_j -= err · U[i, j] for the later columns j of the block.
    """
    m, nb = W1.shape
    for r in range(m):
        sr = s[r]
        zr = z[r]
        for i in range(c0, c1):
            q = np.rint(W1[r, i] / sr + zr)
            q = min(max(q, np.float32(0.0)), maxq)
            Q1[r, i] = q
            e = (W1[r, i] - sr * (q - zr)) / Hinv1[i, i]
            Err1[r, i] = e
            for j in range(i + 1, nb):
                W1[r, j] -= e * Hinv1[i, j]
