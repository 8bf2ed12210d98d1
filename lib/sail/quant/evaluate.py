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
from sail.quant.gptq import factor_hessian, hessian_key, quantize_gptq
from sail.quant.rtn import quantize_rtn

log = logging.getLogger("sail")

METHODS = ("fp", "rtn", "rtn_fmin", "gptq")
# fp: weights untouched (the dequantised Q4_1 reference); rtn_fmin: RTN on the Q4_1-shaped grid
# with a float minimum per group (sail.quant.rtn), a comparison row only.
METHOD_LABELS = {"fp": "fp32", "rtn": "RTN", "rtn_fmin": "RTN, float-minimum grid", "gptq": "GPTQ"}


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown quantisation method {method!r}; choose one of {METHODS}")
    return method


def quantize_layers(model, method: str, w_bits: Sequence[int], group_size: int | None,
                    symmetric: bool = False, hessians: dict | None = None, damp: float = 0.01,
                    act_order: bool = False, names: Sequence[str] | None = None,
                    progress: bool = True) -> dict[int, dict[str, QuantLinear]]:
    """Quantise the linear layers of ``model`` (left unmodified) at every width in ``w_bits``,
    each layer on its own (RTN, or GPTQ with ``hessians`` from the fp model: the non-sequential
    variant; :func:`sail.quant.sequential.sequential_quantize` is the reference's sequential one).

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
                factor = factor_hessian(hessians[key], damp, act_order)
            except ValueError as err:
                raise ValueError(f"layer {name} (Hessian {key!r}): {err}") from None
        for b in w_bits:
            if method == "gptq":
                out[b][name] = quantize_gptq(w, factor, b, group_size, symmetric=symmetric)
            else:
                out[b][name] = quantize_rtn(w, b, group_size, symmetric=symmetric, float_min=method == "rtn_fmin")
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


@contextlib.contextmanager
def quantized_activations(model, a_bits: int | None):
    """Inside the block every linear layer sees per-token ``a_bits`` activations (None: unchanged)."""
    if a_bits is None:
        yield
        return
    a_bits = check_a_bits(a_bits)
    last = {}  # q/k/v (and gate/up) read one tensor: quantise it once

    def impl(name, x, w):
        # Holding the input keeps its memory alive, so no other tensor can take its address; an in-place
        # change shows in the version counter. Inference-mode tensors have none: sail.model.llama never
        # changes a linear layer's input in place, so there the address and layout identify it.
        key = (x.data_ptr(), tuple(x.shape), x.stride(), None if x.is_inference() else x._version)
        if last.get("key") != key:
            last.update(key=key, x=x, xq=fake_quantize_activations_torch(x, a_bits))
        return last["xq"] @ w.T

    with model.linear_impl(impl):
        yield


def spread_windows(ids, window: int, n_windows: int) -> np.ndarray:
    """``n_windows`` non-overlapping windows of ``window`` tokens spread evenly over all of ``ids``
    (first window at the start, last at the end), as an (n_windows, window) int64 array.

    Scoring the first pages only would weight one part of a book (title page, first chapters);
    evenly spaced windows sample the whole text. ValueError if the text is too short.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if window < 2:
        raise ValueError(f"window must be >= 2 tokens, got {window}")
    if n_windows < 1:
        raise ValueError(f"n_windows must be >= 1, got {n_windows}")
    if len(ids) < n_windows * window:
        raise ValueError(f"{len(ids)} tokens cannot hold {n_windows} windows of {window}")
    if n_windows == 1:
        starts = np.array([0])
    else:
        starts = (np.arange(n_windows) * (len(ids) - window)) // (n_windows - 1)
    return np.stack([ids[s:s + window] for s in starts])


def window_perplexity(model, windows: np.ndarray, batch_windows: int, progress: bool = True):
    """Perplexity of ``model`` on the (n, T) ``windows``: each window predicts its tokens 1..T-1.

    The same definition as :func:`sail.model.perplexity` (tested equal), for arbitrary windows;
    the log-softmax runs in float32 and the NLL sum in float64 (the float64 log-softmax over the
    49,152-token vocabulary cost a fifth of the evaluation time). Returns
    ``(PerplexityResult, eval_s)``: ``seconds`` is the forward passes, ``eval_s`` everything.
    """
    import math

    import torch.nn.functional as F

    from sail.model.eval import PerplexityResult

    if batch_windows < 1:
        raise ValueError(f"batch_windows must be >= 1, got {batch_windows}")
    w = torch.from_numpy(np.asarray(windows, dtype=np.int64))
    if w.ndim != 2 or w.shape[1] < 2:
        raise ValueError(f"windows must be (n, T >= 2) token ids, got shape {tuple(w.shape)}")
    batches = range(0, len(w), batch_windows)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc="perplexity", unit="batch")
    t_start = time.perf_counter()
    nll, n_tok, seconds = 0.0, 0, 0.0
    with torch.inference_mode():
        for b0 in batches:
            chunk = w[b0:b0 + batch_windows]
            t0 = time.perf_counter()
            logits = model(chunk)
            seconds += time.perf_counter() - t0
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1),
                                   reduction="none")
            nll += float(loss.double().sum())
            n_tok += chunk[:, 1:].numel()
            del logits, loss
    res = PerplexityResult(ppl=math.exp(nll / n_tok), nll_sum=nll, n_tokens=n_tok, n_windows=len(w),
                           seconds=seconds, tokens_per_s=w.numel() / seconds if seconds else float("nan"))
    return res, time.perf_counter() - t_start
