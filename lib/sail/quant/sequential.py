"""Sequential GPTQ calibration: each block's Hessians from the already-quantised preceding blocks.

The reference implementation of GPTQ (IST-DASLab/gptq, ``llama.py`` ``llama_sequential``) does not
collect every layer's Hessian from the full-precision model. It runs the calibration tokens block
by block: block ``i`` sees the output of blocks ``0..i-1`` *after* they were quantised, so each
layer's error compensation also absorbs the error that earlier layers put into its input. With
``true_sequential`` (the reference's ``--true-sequential``) this goes on inside a block, in four
steps that follow the data flow of a Llama block::

    q, k, v   <- attn_norm(x)                     (one Hessian, shared)
    o         <- attention(q̂, k̂, v̂)              (inputs from the quantised q, k, v)
    gate, up  <- mlp_norm(x + ô(...))            (one Hessian, shared)
    down      <- silu(gate̅ h) * (up̅ h)           (inputs from the quantised gate and up)

Without it, the four Hessians of a block come from the block's full-precision weights (on the
already-quantised block input), and the block output is then recomputed with its quantised weights.

Cost: one forward pass of the blocks over the calibration tokens plus one Hessian accumulation
per layer group, per configuration (the price of sequential calibration: Hessians cannot be
shared between bit widths). This file walks the blocks of :class:`sail.model.Llama` directly
(``blocks[i].attn_norm/attn/mlp_norm/mlp``); attention itself runs through the model's own
``Attention.forward``, with the input of ``o`` captured by ``model.linear_input_hook``.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from sail.quant.core import QuantLinear
from sail.quant.gptq import HessianAccumulator, HessianFactor, factor_hessian
from sail.quant.sensitivity import channel_errors, layer_sensitivity

log = logging.getLogger("sail")

# (Hessian name suffix, layers that share it) in the order a block's data flows through them.
STEPS = (("attn.qkv", ("attn.q", "attn.k", "attn.v")), ("attn.o", ("attn.o",)),
         ("mlp.gate_up", ("mlp.gate", "mlp.up")), ("mlp.down", ("mlp.down",)))

QuantizeLayer = Callable[[str, np.ndarray, HessianFactor], QuantLinear]


def _hessian(x: torch.Tensor) -> torch.Tensor:
    acc = HessianAccumulator(x.shape[-1])
    acc.add(x)
    return acc.value()


def _down_input(mlp, h2: torch.Tensor) -> torch.Tensor:
    """The down projection's input rows as the layer sees them (after an online rotation, if any)."""
    a = F.silu(h2 @ mlp.gate.weight.T) * (h2 @ mlp.up.weight.T)
    prepare = getattr(mlp.down, "prepare", None)
    return prepare(a) if prepare is not None else a


def sequential_quantize(model, calib: torch.Tensor, quantize_layer: QuantizeLayer, damp: float = 0.01,
                        act_order: bool = False, true_sequential: bool = True, batch_windows: int = 8,
                        compare_rtn: Callable[[str, np.ndarray], QuantLinear] | None = None,
                        fisher: dict[str, torch.Tensor] | None = None,
                        progress: bool = True) -> tuple[dict[str, QuantLinear], list[dict]]:
    """Quantise every linear layer of ``model`` (a :class:`sail.model.Llama`) block by block.

    Parameters
    ----------
    calib : (n_windows, T) int64 calibration token ids.
    quantize_layer : ``(name, w (M, K) float32, factor) -> QuantLinear``, e.g. GPTQ at this
        configuration's (or this layer's) width; ``factor`` is the layer input's factored Hessian.
    damp, act_order : passed to :func:`sail.quant.gptq.factor_hessian`.
    compare_rtn : optional ``(name, w) -> QuantLinear`` (e.g. RTN at the same grid); when given,
        each record also holds that quantiser's ``tr(ΔW H ΔWᵀ)`` on the same Hessian.
    fisher : optional ``{name: F (M,)}`` (:func:`sail.quant.sensitivity.capture_fisher`); when
        given, each record also holds ``error_fisher`` = ``Σ_c F_c (ΔW H ΔWᵀ)_cc``.

    Returns ``(qlinears, records)``. The model is left holding the dequantised weights (ready to
    evaluate). ``records``: one dict per layer with ``layer``, ``damp`` (used) and ``error``
    = ``tr(ΔW H ΔWᵀ)`` on the Hessian this layer was quantised with (and ``error_rtn``).
    """
    if calib.ndim != 2:
        raise ValueError(f"calib must be (n_windows, T) token ids, got shape {tuple(calib.shape)}")
    if batch_windows < 1:
        raise ValueError(f"batch_windows must be >= 1, got {batch_windows}")
    from sail.model.llama import rope_tables

    cfg = model.config
    n, t = calib.shape
    qls: dict[str, QuantLinear] = {}
    records: list[dict] = []
    cos, sin = rope_tables(cfg, torch.arange(t))
    blocks = list(enumerate(model.blocks))
    if progress:
        from tqdm import tqdm

        blocks = tqdm(blocks, desc="sequential GPTQ", unit="block")

    def quantize_step(prefix: str, names: tuple[str, ...], h: torch.Tensor, apply: bool) -> list[tuple[str, torch.Tensor]]:
        factor = factor_hessian(h, damp, act_order)
        done = []
        for short in names:
            name = f"{prefix}.{short}"
            w = model.get_linear_weight(name).detach().cpu().numpy().astype(np.float32)
            ql = quantize_layer(name, w, factor)
            qls[name] = ql
            w_hat = ql.dequantize()
            per_channel = channel_errors(w, w_hat, h)
            rec = {"layer": name, "damp": factor.damp, "error": float(per_channel.sum())}
            if fisher is not None:
                rec["error_fisher"] = layer_sensitivity(w, w_hat, h, fisher[name], per_channel)
            if compare_rtn is not None:
                rec["error_rtn"] = float(channel_errors(w, compare_rtn(name, w).dequantize(), h).sum())
            records.append(rec)
            done.append((name, torch.from_numpy(w_hat)))
            if apply:
                model.set_linear_weight(name, done[-1][1])
        return done

    with torch.inference_mode():
        x = F.embedding(calib, model.tok_embd).reshape(n * t, cfg.dim)  # (N, dim) block input
        for i, block in blocks:
            prefix = f"blocks.{i}"
            pending = []  # without true_sequential: weights applied after the whole block
            ts = true_sequential
            # q, k, v
            h = block.attn_norm(x)
            pending += quantize_step(prefix, STEPS[0][1], _hessian(h), apply=ts)
            # o: its input is the attention output, computed with the (quantised) q, k, v
            captured = []

            def hook(name, xin, _o=f"{prefix}.attn.o"):
                if name == _o:
                    captured.append(xin.clone())

            with model.linear_input_hook(hook):
                for b0 in range(0, n, batch_windows):
                    b1 = min(b0 + batch_windows, n)
                    block.attn(h[b0 * t:b1 * t].reshape(b1 - b0, t, cfg.dim), cos, sin, None)
            y = torch.cat(captured)
            pending += quantize_step(prefix, STEPS[1][1], _hessian(y), apply=ts)
            x2 = x + y @ model.get_linear_weight(f"{prefix}.attn.o").T
            # gate, up
            h2 = block.mlp_norm(x2)
            pending += quantize_step(prefix, STEPS[2][1], _hessian(h2), apply=ts)
            mlp = block.mlp
            a = _down_input(mlp, h2)
            pending += quantize_step(prefix, STEPS[3][1], _hessian(a), apply=ts)
            if not ts:
                for name, w_hat in pending:
                    model.set_linear_weight(name, w_hat)
                # The block output with every weight quantised (the next block's input).
                captured.clear()
                with model.linear_input_hook(hook):
                    for b0 in range(0, n, batch_windows):
                        b1 = min(b0 + batch_windows, n)
                        block.attn(h[b0 * t:b1 * t].reshape(b1 - b0, t, cfg.dim), cos, sin, None)
                y = torch.cat(captured)
                x2 = x + y @ model.get_linear_weight(f"{prefix}.attn.o").T
                h2 = block.mlp_norm(x2)
                a = _down_input(mlp, h2)
            x = x2 + a @ mlp.down.weight.T
            del h, y, x2, h2, a, captured
    return dict(sorted(qls.items())), records
