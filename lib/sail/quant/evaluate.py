"""Apply the quantisers to the real model and measure what they cost in perplexity.

Arrays-in/results-out glue between :mod:`sail.quant` and :mod:`sail.model` (its documented API:
``linear_names``, ``get_linear_weight``, ``set_linear_weight``, ``linear_impl``). No config, no paths.
"""

from __future__ import annotations

import contextlib
import logging
import time
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
            try:
                factor = factor_hessian(hessians[key], damp)
            except ValueError as err:
                raise ValueError(f"layer {name} (Hessian {key!r}): {err}") from None
        for b in w_bits:
            if method == "rtn":
                out[b][name] = quantize_rtn(w, b, group_size, symmetric=symmetric)
            else:
                out[b][name] = quantize_gptq(w, factor, b, group_size, symmetric=symmetric)
    return {b: dict(sorted(d.items())) for b, d in out.items()}


def weight_error_stats(weights: dict[str, np.ndarray], qlinears: dict[str, QuantLinear]) -> dict[str, float]:
    """How far the quantised weights are from the originals, over all layers.

    ``w_exact_frac``: share of weights reproduced exactly (to 1e-6 of the layer's max |w|), which
    shows whether a grid coincides with the source's Q4_1 grid; ``w_rel_rmse``: ‖ΔW‖ / ‖W‖.
    """
    exact = total = 0
    d2 = w2 = 0.0
    for name in sorted(qlinears):
        w = np.asarray(weights[name], np.float64)
        d = qlinears[name].dequantize().astype(np.float64) - w
        exact += int(np.count_nonzero(np.abs(d) <= 1e-6 * np.abs(w).max()))
        total += w.size
        d2 += float(np.sum(d * d))
        w2 += float(np.sum(w * w))
    return {"w_exact_frac": exact / total, "w_rel_rmse": float(np.sqrt(d2 / w2))}


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


def timed_perplexity(model, ids, window: int, batch_windows: int, max_windows: int):
    """``sail.model.perplexity`` plus the wall-clock seconds of the whole evaluation."""
    from sail.model import perplexity

    t0 = time.perf_counter()
    with torch.inference_mode():
        res = perplexity(model, ids, window=window, batch_windows=batch_windows, max_windows=max_windows)
    return res, time.perf_counter() - t0


def reference_perplexity(model, ids, window: int, batch_windows: int, matched_windows: int, total_windows: int):
    """Reference perplexity on ``total_windows`` windows, and separately on the first
    ``matched_windows`` (the windows every other row is scored on, so deltas compare like with like).

    Returns ``(matched, total, eval_s)``; ``total`` is a dict in ``PerplexityResult.as_row`` form
    combining both passes (windows are independent, so NLL sums add).
    """
    import math

    if not 1 <= matched_windows <= total_windows:
        raise ValueError(f"need 1 <= matched_windows <= total_windows, got {matched_windows}, {total_windows}")
    first, s1 = timed_perplexity(model, ids, window, batch_windows, matched_windows)
    rows = [first.as_row()]
    eval_s = s1
    if total_windows > matched_windows:
        rest, s2 = timed_perplexity(model, np.asarray(ids)[matched_windows * window:], window, batch_windows,
                                    total_windows - matched_windows)
        rows.append(rest.as_row())
        eval_s += s2
    nll = sum(r["nll_sum"] for r in rows)
    n_tok = sum(r["n_tokens"] for r in rows)
    n_win = sum(r["n_windows"] for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    total = {"ppl": math.exp(nll / n_tok), "nll_sum": nll, "n_tokens": n_tok, "n_windows": n_win,
             "seconds": seconds, "tokens_per_s": n_win * window / seconds}
    return first, total, eval_s
