"""Apply the quantisers to the real model and measure what they cost in perplexity.

Arrays-in/results-out glue between :mod:`sail.quant` and :mod:`sail.model` (its documented API:
``linear_names``, ``get_linear_weight``, ``set_linear_weight``, ``linear_impl``). No config, no paths.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from sail.quant.act import check_a_bits, fake_quantize_activations_torch
from sail.quant.core import QuantLinear
from sail.quant.gptq import factor_hessian, hessian_error, hessian_key, quantize_gptq
from sail.quant.rtn import quantize_rtn

log = logging.getLogger("sail")

METHODS = ("fp", "rtn", "gptq")  # fp: weights untouched (the dequantised Q4_1 reference)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown quantisation method {method!r}; choose one of {METHODS}")
    return method


def token_windows(ids, window: int, n_windows: int) -> torch.Tensor:
    """The first ``n_windows`` non-overlapping windows of ``window`` tokens, (n_windows, window) int64."""
    ids = torch.as_tensor(ids, dtype=torch.long).reshape(-1)
    if window < 2 or n_windows < 1:
        raise ValueError(f"need window >= 2 and n_windows >= 1, got window={window}, n_windows={n_windows}")
    if ids.numel() < window * n_windows:
        raise ValueError(f"text has {ids.numel()} tokens, fewer than {n_windows} windows of {window}")
    return ids[: window * n_windows].reshape(n_windows, window)


def quantize_layers(model, method: str, w_bits: Sequence[int], group_size: int | None,
                    symmetric: bool = False, hessians: dict | None = None, damp: float = 0.01,
                    names: Sequence[str] | None = None, progress: bool = True) -> dict[int, dict[str, QuantLinear]]:
    """Quantise the linear layers of ``model`` (left unmodified) at every width in ``w_bits``.

    Returns ``{w_bits: {layer name: QuantLinear}}``. For GPTQ each Hessian is factored once and
    reused for the layers that share it and for every bit width.
    """
    check_method(method)
    if method == "fp":
        raise ValueError("method 'fp' has no quantised layers")
    if method == "gptq" and hessians is None:
        raise ValueError("method 'gptq' needs calibration Hessians")
    names = sorted(names if names is not None else model.linear_names(), key=lambda n: (hessian_key(n), n))
    it = names
    if progress:
        from tqdm import tqdm

        it = tqdm(names, desc=f"{method} w_bits={list(w_bits)} g={group_size}", unit="layer")
    out: dict[int, dict[str, QuantLinear]] = {b: {} for b in w_bits}
    key = factor = None
    for name in it:
        w = model.get_linear_weight(name).detach().cpu().numpy().astype(np.float32)
        if method == "gptq" and hessian_key(name) != key:
            key = hessian_key(name)
            factor = factor_hessian(hessians[key], damp)
        for b in w_bits:
            if method == "rtn":
                out[b][name] = quantize_rtn(w, b, group_size, symmetric=symmetric)
            else:
                out[b][name] = quantize_gptq(w, factor, b, group_size, symmetric=symmetric)
    return {b: dict(sorted(d.items())) for b, d in out.items()}


def set_quantized_weights(model, qlinears: dict[str, QuantLinear]) -> None:
    """Replace each layer's weight by its dequantised quantised version."""
    for name in sorted(qlinears):
        model.set_linear_weight(name, torch.from_numpy(qlinears[name].dequantize()))


def layer_errors(model, qlinears: dict[str, QuantLinear], hessians: dict) -> dict[str, float]:
    """``tr(ΔW H ΔWᵀ)`` for every quantised layer against the model's current weights."""
    return {name: hessian_error(model.get_linear_weight(name).detach().numpy(), ql.dequantize(),
                                hessians[hessian_key(name)])
            for name, ql in sorted(qlinears.items())}


@contextlib.contextmanager
def quantized_activations(model, a_bits: int | None):
    """Inside the block every linear layer sees per-token ``a_bits`` activations (None: unchanged)."""
    if a_bits is None:
        yield
        return
    a_bits = check_a_bits(a_bits)

    def impl(name, x, w):
        return fake_quantize_activations_torch(x, a_bits) @ w.T

    with model.linear_impl(impl):
        yield


@dataclass(frozen=True)
class RowResult:
    """One row of tab03."""

    method: str
    w_bits: int | None
    group_size: int | None  # None: per-channel (or not applicable for fp)
    a_bits: int | None
    ppl: float
    n_tokens: int
    tokens_per_s: float
    eval_s: float
    quant_s: float


def timed_perplexity(model, ids, window: int, batch_windows: int, max_windows: int):
    from sail.model import perplexity

    t0 = time.perf_counter()
    with torch.inference_mode():
        res = perplexity(model, ids, window=window, batch_windows=batch_windows, max_windows=max_windows)
    return res, time.perf_counter() - t0
