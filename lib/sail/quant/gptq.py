"""GPTQ weight quantisation (Frantar et al., ICLR 2023, arXiv 2210.17323, Algorithm 1).

GPTQ quantises the columns of ``W`` (M x K) one at a time and spreads each column's rounding error
over the not-yet-quantised columns, weighted by the inverse Hessian ``H = 2/N · Xᵀ X`` of the layer's
calibration inputs ``X`` (N x K), so that the layer *output* error ``‖X Wᵀ − X Ŵᵀ‖²`` — equivalently
``tr(ΔW H ΔWᵀ)`` — is small, not the weight error. Hessian algebra (Cholesky) runs in torch, the
column loop is a numba kernel. This module follows the authors' reference implementation
(IST-DASLab/gptq, ``gptq.py`` ``GPTQ.fasterquant`` and ``quant.py`` ``Quantizer``) in every choice
that changes the codes:

* **damping** ``λ = damp · mean(diag H)`` added to the diagonal (``percdamp``, default 1 %), after
  **dead inputs** (``H_ii = 0``: the channel was always zero) got ``H_ii = 1`` and their weights 0;
  if the Cholesky factorisation still fails, we retry with 10x the damping (the reference simply
  fails) and record the damping actually used;
* **lazy batch updates** over blocks of ``block_size`` = 128 columns;
* **act-order** (``actorder``): columns in order of descending ``diag H``, with **static groups**
  (``static_groups``): every group's scale and zero-point are computed from the *original* weights
  of its ``group_size`` consecutive channels before any update, so the codes keep the plain
  ``W ~ s (Q − z)`` per-group layout of :mod:`sail.quant.packing` and no permutation is stored;
* **group parameters without act-order**, as the reference computes them: for the group starting
  at column ``c``, min/max of ``W[:, c:c+g]`` as it stands at the start of the lazy block that
  contains ``c`` — i.e. with the updates of all earlier blocks, but *not* the updates from earlier
  columns of the same block (the reference reads the block-level ``W``, not its working copy
  ``W1``). Per-channel (one group of all K) therefore uses the original weights.

The grid is the same as RTN's (:func:`sail.quant.rtn.group_params`: asymmetric min/max with 0
inside the range and an integer zero-point, the reference ``Quantizer(sym=False)``), so with
``H = I`` and no damping GPTQ reduces to RTN exactly (tested). Where the Hessians come from —
the fp model (one calibration pass for every configuration) or, as the reference does, each
block's inputs from the already-quantised preceding blocks — is the business of
:mod:`sail.quant.sequential`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from numba import njit, prange

from sail.quant.core import QuantLinear, check_group_size, check_w_bits
from sail.quant.rtn import check_weight, group_params

# Layer types (names end in .q/.k/...) whose inputs are the same tensor, so one Hessian serves them.
SHARED_INPUT = {"q": "qkv", "k": "qkv", "v": "qkv", "gate": "gate_up", "up": "gate_up"}

BLOCK_SIZE = 128  # the reference's lazy-batch width (``blocksize``)
DAMP_RETRIES = 4  # failed Cholesky: retry with 10x, 100x, ... the damping (cap below 1.0)


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
    """Hessians of every linear layer's input on ``windows`` (n_windows, T) token ids, from the
    model as it is (the non-sequential variant: every layer sees the fp model's inputs).

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


def check_hessian(h, k: int | None = None) -> torch.Tensor:
    """The Hessian as a float32 (K, K) tensor; raises ValueError for a wrong shape or non-finite entries."""
    H = torch.as_tensor(h, dtype=torch.float32)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"Hessian must be square (K, K), got {tuple(H.shape)}")
    if k is not None and H.shape[0] != k:
        raise ValueError(f"Hessian must have shape ({k}, {k}) for K={k}, got {tuple(H.shape)}")
    bad = ~torch.isfinite(H)
    if bool(bad.any()):
        i, j = (int(v) for v in bad.nonzero()[0])
        raise ValueError(f"Hessian has {int(bad.sum())} non-finite entries, e.g. H[{i}, {j}] = {float(H[i, j])}")
    return H


@contextlib.contextmanager
def single_thread():
    """Run torch (and its LAPACK) on one thread inside the block, then restore the thread count."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@dataclass(frozen=True)
class HessianFactor:
    """What GPTQ needs from a Hessian: the upper Cholesky factor ``U`` of ``(H + λI)⁻¹`` in the
    processing order ``perm``, and the dead-input mask. Computing it is the expensive part for
    small layers, and q/k/v (gate/up) share one, so callers may compute it once with
    :func:`factor_hessian` and pass it on."""

    u: np.ndarray  # (K, K) float32, upper triangular, rows/columns in processing order
    dead: np.ndarray  # (K,) bool, inputs that were always zero (original order)
    perm: np.ndarray  # (K,) int64, processing order of the original columns (arange without act-order)
    damp: float  # the damping actually used (larger than asked if a Cholesky failed)
    act_order: bool


def check_damp(damp: float) -> float:
    if isinstance(damp, bool) or not isinstance(damp, (int, float, np.floating)) or not 0.0 <= damp < 1.0:
        raise ValueError(f"damp must be a fraction in [0, 1), got {damp!r}")
    return float(damp)


def factor_hessian(h: torch.Tensor | np.ndarray, damp: float = 0.01, act_order: bool = False) -> HessianFactor:
    """``U = chol((H + λ·mean(diag H)·I)⁻¹, upper)`` with dead inputs given ``H_ii = 1`` (the reference's
    recipe), columns permuted by descending ``diag H`` when ``act_order``.

    A Cholesky failure (H not positive definite after damping, e.g. too few calibration rows and
    ``damp = 0``) is retried with 10x the damping up to :data:`DAMP_RETRIES` times; the damping
    used is in the result. Raises ValueError for a bad ``damp``, a non-square or non-finite ``h``.
    """
    damp = check_damp(damp)
    H = check_hessian(h).clone()
    k = H.shape[0]
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0  # check_hessian rejected non-finite entries already
    if act_order:
        perm = torch.argsort(torch.diag(H), descending=True, stable=True)
        H = H[perm][:, perm]
    else:
        perm = torch.arange(k)
    mean_diag = torch.mean(torch.diag(H))
    tried = []
    d = damp
    with single_thread():  # LAPACK's factorisations round differently at another thread count
        for _ in range(DAMP_RETRIES + 1):
            tried.append(d)
            L, info = torch.linalg.cholesky_ex(H + d * mean_diag * torch.eye(k))
            if int(info) == 0:
                # (H + λI)⁻¹ from its Cholesky factor. cholesky_solve against I rather than
                # cholesky_inverse: the same inverse (to float32 rounding), but torch's cholesky_inverse
                # took 0.2-3 s at K = 1536 here against 0.09 s (LAPACK potri vs a blocked solve).
                hinv = torch.cholesky_solve(torch.eye(k), L)
                U, info2 = torch.linalg.cholesky_ex(hinv, upper=True)
                if int(info2) == 0 and bool(torch.isfinite(U).all()):
                    return HessianFactor(u=U.numpy(), dead=dead.numpy(), perm=perm.numpy().astype(np.int64),
                                         damp=d, act_order=bool(act_order))
            d = min(max(d, 1e-6) * 10.0, 0.99)
    raise ValueError(f"Hessian is not positive definite even with damp {tried}")


def quantize_gptq(w: np.ndarray, h: torch.Tensor | np.ndarray | HessianFactor, w_bits: int,
                  group_size: int | None, symmetric: bool = False, damp: float = 0.01,
                  act_order: bool = False, block_size: int = BLOCK_SIZE) -> QuantLinear:
    """Quantise ``w`` (M, K) with GPTQ given the input Hessian ``h`` (K, K) or its :class:`HessianFactor`.

    Parameters
    ----------
    damp : fraction of the mean Hessian diagonal added to the diagonal (reference default 1 %);
        ignored when ``h`` is already factored.
    act_order : process columns by descending ``diag H`` (static groups, module docstring); the
        reference's default is off. Ignored when ``h`` is already factored (the factor knows).
    block_size : columns per lazy-batch update (reference: 128).

    Raises ValueError naming ``w_bits``, ``group_size`` (also with act-order: it must divide K),
    ``damp``, a mismatched or non-finite Hessian.
    """
    w_bits = check_w_bits(w_bits)
    w_np = check_weight(w)
    m, k = w_np.shape
    try:
        g = check_group_size(group_size, k)
    except ValueError as e:
        if act_order:
            raise ValueError(f"act_order needs static groups that tile K: {e}") from None
        raise
    if not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"block_size must be a positive integer, got {block_size!r}")
    if isinstance(h, HessianFactor):
        f = h
        if f.u.shape != (k, k):
            raise ValueError(f"Hessian must have shape ({k}, {k}) for K={k}, got {f.u.shape}")
    else:
        f = factor_hessian(check_hessian(h, k), damp, act_order)
    maxq = (1 << w_bits) - 1
    n_groups = k // g

    W = w_np.copy()
    W[:, f.dead] = 0.0
    scale = np.zeros((m, n_groups), np.float32)
    zero = np.zeros((m, n_groups), np.float32)
    # Group of the column processed at each position.
    gidx = (f.perm // g).astype(np.int64)
    static = f.act_order
    if static:
        # Static groups: every group's grid from the original (dead-zeroed) weights.
        s, z = group_params(W.reshape(m, n_groups, g), w_bits, symmetric)
        scale[:], zero[:] = s, z
    W = np.ascontiguousarray(W[:, f.perm])
    Hinv = f.u
    Q = np.zeros((m, k), np.float32)
    for i1 in range(0, k, block_size):
        i2 = min(i1 + block_size, k)
        if not static:
            # Groups that start in this block: grid from W as the block starts (the reference
            # reads the block-level W, which carries only earlier blocks' lazy updates).
            for col in range(i1 - i1 % g + (g if i1 % g else 0), i2, g):
                s, z = group_params(W[:, col:col + g], w_bits, symmetric)
                scale[:, col // g], zero[:, col // g] = s, z
        W1 = np.ascontiguousarray(W[:, i1:i2])
        Q1 = np.zeros_like(W1)
        Err1 = np.zeros_like(W1)
        Hinv1 = np.ascontiguousarray(Hinv[i1:i2, i1:i2])
        _gptq_block(W1, Hinv1, Q1, Err1, np.ascontiguousarray(gidx[i1:i2]), scale, zero, np.float32(maxq))
        Q[:, i1:i2] = Q1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    inv = np.argsort(f.perm)
    return QuantLinear(q=Q[:, inv].astype(np.uint8), scale=scale, zero=zero, w_bits=w_bits, group_size=g)


@njit(cache=True, parallel=True)
def _gptq_block(W1, Hinv1, Q1, Err1, gidx, scale, zero, maxq):  # pragma: no cover - compiled
    """GPTQ's inner loop over the columns of one lazy block W1 (M, nb); rows are independent.

    For column i of row r (group gidx[i]): q = clip(round(w / s + z)); err = (w − s (q − z)) / U[i, i];
    then w_j −= err · U[i, j] for the later columns j of the block.
    """
    m, nb = W1.shape
    for r in prange(m):
        for i in range(nb):
            sr = scale[r, gidx[i]]
            zr = zero[r, gidx[i]]
            q = np.rint(W1[r, i] / sr + zr)
            q = min(max(q, np.float32(0.0)), maxq)
            Q1[r, i] = q
            e = (W1[r, i] - sr * (q - zr)) / Hinv1[i, i]
            Err1[r, i] = e
            for j in range(i + 1, nb):
                W1[r, j] -= e * Hinv1[i, j]
