"""GPTQ weight quantisation (Frantar et al., ICLR 2023, arXiv 2210.17323, Algorithm 1), in torch.

GPTQ quantises the columns of ``W`` (M x K) one at a time and spreads each column's rounding error
over the not-yet-quantised columns, weighted by the inverse Hessian ``H = 2/N · Xᵀ X`` of the layer's
calibration inputs ``X`` (N x K), so that the layer *output* error ``‖X Wᵀ − X Ŵᵀ‖²`` — equivalently
``tr(ΔW H ΔWᵀ)`` — is small, not the weight error. It uses the same grid as RTN (shared
:func:`sail.quant.rtn.group_params`): scale and zero-point of a group are fixed when GPTQ reaches
the group's first column, from the already error-updated weights (the paper's "static groups off"
variant). With ``H = I`` GPTQ reduces to RTN exactly (tested).

**Where the Hessians come from (a design decision).** We collect ``H`` once, from the
*dequantised reference model* (non-sequential), and reuse it for every bit width and group size.
The paper's sequential variant re-collects each block's inputs from the already-quantised
preceding blocks; that needs one calibration forward pass per block *per configuration* (30 passes
x every grid row), which does not fit the 25-minute budget on 2 cores, while the non-sequential
variant costs one pass for the whole grid. The cost is that a layer's compensation ignores the
error of earlier quantised layers; at 3-4 bits the two variants are known to differ little
(GPTQ paper, section 4, and AutoGPTQ's `true_sequential` ablations), at 2 bits the sequential
variant would likely be somewhat better, so our 2-bit GPTQ rows are a conservative estimate.
"""

from __future__ import annotations

import numpy as np
import torch
from numba import njit

from sail.quant.core import QuantLinear, check_group_size, check_w_bits
from sail.quant.rtn import _check_weight, group_params

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


def quantize_gptq(w: np.ndarray, h: torch.Tensor | np.ndarray, w_bits: int, group_size: int | None,
                  symmetric: bool = False, damp: float = 0.01, block_size: int = 128) -> QuantLinear:
    """Quantise ``w`` (M, K) with GPTQ given the input Hessian ``h`` (K, K).

    Parameters
    ----------
    damp : fraction of the mean Hessian diagonal added to the diagonal (the paper's λ = 1 %),
        which keeps the Cholesky factorisation stable.
    block_size : columns per lazy-batch update (paper: 128); rounded up to a multiple of the group.

    Raises ValueError naming ``w_bits``, ``group_size``, ``damp`` or a mismatched Hessian shape.
    """
    w_bits = check_w_bits(w_bits)
    w_np = _check_weight(w)
    m, k = w_np.shape
    g = check_group_size(group_size, k)
    if not 0.0 <= damp < 1.0:
        raise ValueError(f"damp must be in [0, 1), got {damp!r}")
    h = torch.as_tensor(h, dtype=torch.float32)
    if tuple(h.shape) != (k, k):
        raise ValueError(f"Hessian must have shape ({k}, {k}) for K={k}, got {tuple(h.shape)}")
    maxq = (1 << w_bits) - 1
    block = g * max(1, block_size // g)

    W = torch.from_numpy(w_np.copy())
    H = h.clone()
    dead = torch.diag(H) == 0  # inputs that were always zero: their weights do not matter
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H += damp * torch.mean(torch.diag(H)) * torch.eye(k)
    L = torch.linalg.cholesky(H)
    Hinv = torch.cholesky_inverse(L)
    Hinv = torch.linalg.cholesky(Hinv, upper=True).numpy()  # rows of U: error-propagation weights

    # Work on Wᵀ (K, M) so that one column of W is one contiguous row for the njit kernel.
    Wt = np.ascontiguousarray(W.numpy().T)
    Qt = np.zeros((k, m), np.float32)
    scale = np.zeros((m, k // g), np.float32)
    zero = np.zeros((m, k // g), np.float32)
    for i1 in range(0, k, block):
        i2 = min(i1 + block, k)
        W1 = Wt[i1:i2].copy()  # (block, M)
        Err1 = np.zeros_like(W1)
        Hinv1 = np.ascontiguousarray(Hinv[i1:i2, i1:i2])
        for c0 in range(0, i2 - i1, g):
            # block is a multiple of g, so the whole group lies in W1, already error-updated.
            s, z = group_params(W1[c0:c0 + g].T, w_bits, symmetric)
            scale[:, (i1 + c0) // g], zero[:, (i1 + c0) // g] = s, z
            _gptq_columns(W1, Hinv1, Qt[i1:i2], Err1, c0, c0 + g, s, z, np.float32(maxq))
        Wt[i2:] -= Hinv[i1:i2, i2:].T @ Err1
    return QuantLinear(q=np.ascontiguousarray(Qt.T).astype(np.uint8), scale=scale, zero=zero, w_bits=w_bits,
                       group_size=g)


@njit(cache=True)
def _gptq_columns(W1, Hinv1, Q1, Err1, c0, c1, s, z, maxq):  # pragma: no cover - compiled
    """Quantise rows c0..c1 of the transposed block W1 (block, M) in order (GPTQ's inner loop).

    For column i: q = clip(round(w / s + z)); err = (w - s (q - z)) / U[i, i];
    then w_j -= err · U[i, j] for the later columns j of the block.
    """
    nb, m = W1.shape
    for i in range(c0, c1):
        d = Hinv1[i, i]
        for r in range(m):
            q = np.rint(W1[i, r] / s[r] + z[r])
            q = min(max(q, np.float32(0.0)), maxq)
            Q1[i, r] = q
            Err1[i, r] = (W1[i, r] - s[r] * (q - z[r])) / d
        for j in range(i + 1, nb):
            u = Hinv1[i, j]
            for r in range(m):
                W1[j, r] -= Err1[i, r] * u
