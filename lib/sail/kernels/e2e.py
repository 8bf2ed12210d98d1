"""Functional end to end: SmolLM2 with every linear layer computed by the weight-LUT ``lut_gemv``.

For each linear call with input rows ``x`` (N, K):

1. activations are quantised per token, ``X, s_x = quantize_activations(x, a_bits)``
   (:mod:`sail.quant.act`);
2. the integer accumulators ``acc[n, r, g] = sum_{k in group g} Q[r, k] X[n, k]`` come either from
   the **integer reference** (numpy int64 matmul per group) or from the **weight-LUT**
   (:func:`sail.kernels.lut_gemv_grouped`);
3. both paths share one float epilogue, ``y = s_x sum_g s_g (acc_g - z_g sum_{k in g} X)``.

So the logits, the perplexity and the generated text of the two paths are identical if and only if
every accumulator is identical, which is what :func:`run_e2e` records. Weights are RTN-quantised
(:func:`sail.quant.rtn.quantize_rtn`) from the GGUF's dequantised Q4_1 weights (model caveat).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from sail.kernels.lut_gemv import lut_gemv_grouped

log = logging.getLogger("sail.kernels.e2e")


@dataclass
class _Layer:
    q: np.ndarray  # (M, K) uint8
    scale: np.ndarray  # (M, ng) float32
    zero: np.ndarray  # (M, ng) float32
    w_bits: int
    group_size: int
    q_f32: np.ndarray | None = None  # (ng, M, G) float32 codes, cached for the float32 reference


def integer_reference_acc(q: np.ndarray, x: np.ndarray, group_size: int, q_f32: np.ndarray | None = None) -> np.ndarray:
    """(N, M, ng) int64 accumulators, one plain matmul per quantisation group.

    Computed with float32 BLAS for speed; exact, because every product and partial sum is an integer
    of magnitude <= group_size * 255 * 128 < 2**24, the float32 integer range (checked).
    """
    n, k = x.shape
    ng = k // group_size
    if group_size * 255 * 128 >= 2**24:
        raise ValueError(f"group_size={group_size} too large for an exact float32 reference (max 513)")
    qg = q_f32 if q_f32 is not None else grouped_f32(q, group_size)  # (ng, M, G)
    xg = x.reshape(n, ng, group_size).transpose(1, 2, 0).astype(np.float32)  # (ng, G, N)
    acc = np.matmul(qg, xg)  # (ng, M, N)
    return np.ascontiguousarray(acc.transpose(2, 1, 0)).astype(np.int64)


def grouped_f32(q: np.ndarray, group_size: int) -> np.ndarray:
    m, k = q.shape
    return np.ascontiguousarray(q.reshape(m, k // group_size, group_size).transpose(1, 0, 2), dtype=np.float32)


def epilogue(acc: np.ndarray, x_int: np.ndarray, s_x: np.ndarray, layer: _Layer) -> np.ndarray:
    """The shared float epilogue (float64, then float32): ``s_x sum_g s_g (acc_g - z_g sum X_g)``."""
    # contiguous first: numpy's float reductions sum in a layout-dependent order, and the LUT path
    # hands over a transposed view; without this the two paths differ in the last float bit.
    acc = np.ascontiguousarray(acc, dtype=np.int64)
    n, k = x_int.shape
    ng = k // layer.group_size
    xsum = x_int.reshape(n, ng, layer.group_size).astype(np.int64).sum(axis=2)  # (N, ng)
    corr = acc.astype(np.float64) - layer.zero[None].astype(np.float64) * xsum[:, None, :]
    y = (corr * layer.scale[None].astype(np.float64)).sum(axis=2) * s_x[:, None].astype(np.float64)
    return y.astype(np.float32)


class IntegerLinears:
    """``linear_impl`` callables for one quantised model: ``.reference`` and ``.lut``, plus bookkeeping."""

    def __init__(self, layers: dict[str, _Layer], a_bits: int, n_bw: int):
        from sail.quant.act import quantize_activations

        self._quantize = quantize_activations
        self.layers = layers
        self.a_bits = a_bits
        self.n_bw = n_bw
        self.record: dict[str, list[np.ndarray]] | None = None  # name -> accumulators, when recording
        self.calls = 0
        self.seconds = 0.0

    def _impl(self, use_lut: bool):
        def fn(name, x, w):
            layer = self.layers[name]
            xn = x.detach().cpu().numpy().astype(np.float32, copy=False)
            x_int, s_x = self._quantize(xn, self.a_bits)
            t0 = time.perf_counter()
            if use_lut:
                acc = lut_gemv_grouped(layer.q, x_int.T.astype(np.int64), layer.w_bits, self.a_bits, self.n_bw,
                                       layer.group_size).transpose(2, 0, 1)
            else:
                if layer.q_f32 is None:
                    layer.q_f32 = grouped_f32(layer.q, layer.group_size)
                acc = integer_reference_acc(layer.q, x_int, layer.group_size, layer.q_f32)
            self.seconds += time.perf_counter() - t0
            self.calls += 1
            if self.record is not None:
                self.record.setdefault(name, []).append(acc)
            return torch.from_numpy(epilogue(acc, x_int, s_x, layer))
        return fn

    @property
    def reference(self):
        return self._impl(False)

    @property
    def lut(self):
        return self._impl(True)


def quantize_model_layers(model, w_bits: int, group_size: int) -> dict[str, _Layer]:
    from sail.quant.rtn import quantize_rtn

    layers = {}
    for name in model.linear_names():
        w = model.get_linear_weight(name).detach().cpu().numpy().astype(np.float32)
        ql = quantize_rtn(w, w_bits, group_size)
        layers[name] = _Layer(ql.q, ql.scale, ql.zero, ql.w_bits, ql.group_size)
    return layers


def run_e2e(model, tok, ids: np.ndarray, w_bits_list, a_bits: int, n_bw: int, group_size: int, window: int,
            prompt: str, max_new_tokens: int) -> list[dict]:
    """One row per ``w_bits``: accumulators / logits / perplexity / generated text, LUT vs integer reference.

    Each path runs one forward pass over the first ``window`` tokens of ``ids`` (recording every
    linear layer's accumulators and the logits; the perplexity is computed from those logits the way
    :func:`sail.model.perplexity` does for one window) and one greedy generation.
    """
    import torch.nn.functional as F

    from sail.model import greedy_generate

    if len(ids) < window:
        raise ValueError(f"need at least window={window} tokens, got {len(ids)}")
    chunk = torch.from_numpy(np.asarray(ids[:window], dtype=np.int64)[None, :])
    rows = []
    for w_bits in w_bits_list:
        t_start = time.perf_counter()
        layers = quantize_model_layers(model, w_bits, group_size)
        impls = IntegerLinears(layers, a_bits, n_bw)
        logits, accs, nll, text, gemv_s = {}, {}, {}, {}, {}
        for path in ("reference", "lut"):
            impls.record, impls.seconds = {}, 0.0
            with torch.no_grad(), model.linear_impl(getattr(impls, path)):
                lg = model(chunk)
                accs[path], impls.record = impls.record, None
                text[path] = greedy_generate(model, tok, tok.chat_prompt(prompt), max_new_tokens)
            logits[path] = lg.numpy()
            nll[path] = float(F.cross_entropy(lg[:, :-1].reshape(-1, lg.shape[-1]).double(), chunk[:, 1:].reshape(-1),
                                              reduction="sum"))
            gemv_s[path] = impls.seconds
        names = sorted(accs["reference"])
        n_acc = sum(a.size for v in accs["reference"].values() for a in v)
        n_calls = sum(len(v) for v in accs["reference"].values())
        diff = max(int(np.abs(a - b).max()) for name in names for a, b in zip(accs["reference"][name], accs["lut"][name]))
        same_acc = diff == 0 and names == sorted(accs["lut"])
        del accs
        n_tok = window - 1
        row = {
            "w_bits": w_bits, "a_bits": a_bits, "n_bw": n_bw, "group_size": group_size,
            "n_linear_layers": len(layers), "n_linear_calls_checked": n_calls, "n_accumulators_checked": n_acc,
            "accumulators_identical": bool(same_acc), "max_abs_accumulator_diff": diff,
            "logits_identical": bool(np.array_equal(logits["reference"], logits["lut"])),
            "logits_max_abs_diff": float(np.abs(logits["reference"] - logits["lut"]).max()),
            "ppl_reference": float(np.exp(nll["reference"] / n_tok)), "ppl_lut": float(np.exp(nll["lut"] / n_tok)),
            "ppl_identical": bool(nll["reference"] == nll["lut"]), "ppl_tokens": n_tok,
            "text_reference": text["reference"], "text_lut": text["lut"],
            "text_identical": bool(text["reference"] == text["lut"]),
        }
        # timings go to the log only, so e2e.csv is byte-identical across runs
        log.info("w_bits=%d: %s; GEMV seconds reference %.1f, LUT %.1f; wall %.1f s", w_bits,
                 {k: v for k, v in row.items() if not k.startswith("text")}, gemv_s["reference"], gemv_s["lut"],
                 time.perf_counter() - t_start)
        rows.append(row)
    return rows
