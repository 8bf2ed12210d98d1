"""Per-layer sensitivity to weight quantisation that accounts for the loss (for mixed precision).

Two estimates of what quantising layer ``l`` at ``b`` bits costs:

* **Hessian proxy** (the stage's former choice, kept as a baseline): ``e_l(b) = tr(ΔW H ΔWᵀ)``, the
  layer's output error ``2/N Σ_n ‖Δy_n‖²`` on the calibration inputs. It sums absolute output
  errors of layers whose outputs live on very different scales (the residual stream grows with
  depth), and says nothing about how much the *loss* cares about each output channel.
* **Fisher-weighted error** (default): a second-order Taylor expansion of the calibration loss
  ``L`` in the layer output ``y`` with the empirical Fisher as the curvature, diagonal over output
  channels: ``ΔL ≈ ½ Σ_n Σ_c F_c (Δy_{n,c})²`` with ``F_c = mean_n (∂L/∂y_{n,c})²``. Since
  ``Δy_n = ΔW x_n``, this is ``e_l(b) = Σ_c F_c · (ΔW H ΔWᵀ)_cc`` (up to a constant shared by all
  layers), with ``H = 2/N XᵀX`` the same input Hessian as GPTQ's. ``F`` comes from one backward
  pass of the full-precision model over the calibration tokens (the loss summed over each
  window's tokens). This is the diagonal-Fisher sensitivity of HAWQ-V3-style and "Fisher
  information" mixed-precision methods (e.g. Kim et al., SqueezeLLM, ICML 2024, arXiv 2306.07629,
  which weight by the same squared-gradient Fisher), here applied per output channel.

Both ignore interactions between layers; the allocation (:mod:`sail.quant.mixed`) assumes the
errors add, and the perplexity rows check the result.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

SENSITIVITIES = ("fisher", "hessian")


def check_sensitivity(kind: str) -> str:
    if kind not in SENSITIVITIES:
        raise ValueError(f"unknown sensitivity {kind!r}; choose one of {SENSITIVITIES}")
    return kind


def capture_fisher(model, windows: torch.Tensor, batch_windows: int = 1, progress: bool = True) -> dict[str, torch.Tensor]:
    """``{layer name: F (M,) float32}``, ``F_c = mean over tokens of (∂L/∂y_c)²`` for every linear
    layer's output channel ``c``, ``L`` = the summed next-token NLL of each window.

    Runs the model's own modules (embedding, blocks, final norm, tied head) with gradients enabled
    (``Llama.forward`` is inference-only); gradients w.r.t. the layer outputs are read with tensor
    hooks, so no weight gradient is ever formed.
    """
    from sail.model.llama import rope_tables

    if windows.ndim != 2:
        raise ValueError(f"windows must be (n_windows, T) token ids, got shape {tuple(windows.shape)}")
    if batch_windows < 1:
        raise ValueError(f"batch_windows must be >= 1, got {batch_windows}")
    cfg = model.config
    n, t = windows.shape
    acc: dict[str, torch.Tensor] = {}
    count = 0

    def impl(name, x, w):
        y = x @ w.T
        if y.requires_grad:
            def grad_hook(g, _name=name):
                g2 = g.detach().pow(2).sum(0)
                acc[_name] = acc[_name] + g2 if _name in acc else g2
            y.register_hook(grad_hook)
        return y

    cos, sin = rope_tables(cfg, torch.arange(t))
    batches = range(0, n, batch_windows)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="calibration (Fisher)", unit="batch")
    with torch.enable_grad(), model.linear_impl(impl):
        for b0 in batches:
            ids = windows[b0:b0 + batch_windows]
            x = F.embedding(ids, model.tok_embd).detach().requires_grad_(True)
            for block in model.blocks:
                x = block(x, cos, sin, None)
            logits = model.norm(x) @ model.tok_embd.T
            # Summed, not averaged over the batch: a window's outputs only reach its own loss, so
            # F does not depend on batch_windows.
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                                   reduction="sum")
            loss.backward()
            count += ids.numel()
    return {k: (v / count).float() for k, v in sorted(acc.items())}


def channel_errors(w: np.ndarray, w_hat: np.ndarray, h: torch.Tensor) -> torch.Tensor:
    """``diag(ΔW H ΔWᵀ)`` (M,) float64: each output channel's share of the layer output error.
    The product runs in float32 (the dominant cost), the row sums in float64."""
    d = torch.as_tensor(np.asarray(w, np.float32) - np.asarray(w_hat, np.float32))
    return ((d @ torch.as_tensor(h, dtype=torch.float32)).double() * d.double()).sum(1)


def layer_sensitivity(w: np.ndarray, w_hat: np.ndarray, h: torch.Tensor, fisher: torch.Tensor | None,
                      per_channel: torch.Tensor | None = None) -> float:
    """``Σ_c F_c (ΔW H ΔWᵀ)_cc`` (``fisher`` given) or ``tr(ΔW H ΔWᵀ)`` (``fisher`` None).
    ``per_channel``: :func:`channel_errors` when the caller has it already."""
    if per_channel is None:
        per_channel = channel_errors(w, w_hat, h)
    if fisher is None:
        return float(per_channel.sum())
    f = torch.as_tensor(fisher).double()
    if f.shape != per_channel.shape:
        raise ValueError(f"Fisher has shape {tuple(f.shape)}, expected {tuple(per_channel.shape)} (one per output)")
    return float((f * per_channel).sum())
