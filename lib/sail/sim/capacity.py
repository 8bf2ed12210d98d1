"""Capacity: does a decode configuration fit in its system's memory, and on how many devices.

Every system holds the model's weights (all GEMV layers plus the token-embedding table, at the
configuration's weight format), the KV cache of ``batch`` sequences of ``context`` tokens, and the
activations of one decode step. The CPU and SAIL hold them in host DRAM (``memory.capacity_gb``). A GPU
holds them in HBM (``gpu.memory_gb`` minus ``gpu.reserved_gb`` per device); a configuration that does not
fit one GPU is run tensor-parallel on the smallest multi-GPU instance that holds it, declared in the
description as ``gpu.tp_efficiency_x<N>`` (an N-GPU instance and the fraction of N x one GPU's bandwidth
and compute it sustains). A configuration that fits nowhere is infeasible: it gets no throughput and
no price, and :func:`require_fit` raises :class:`CapacityError` naming it.
"""

from __future__ import annotations

import re

import numpy as np

from sail.sim.hw import HwConfig
from sail.sim.models import ModelSpec

GIB = float(1 << 30)
TP_KEY = re.compile(r"^gpu\.tp_efficiency_x(\d+)$")
# Activation buffers of one decode step per token: hidden state, q/k/v/o, FFN gate/up/product and the
# logits, in fp32, times 2 for input/output buffers of a kernel. SHORTCUT(act-bytes): runtime scratch
# (cuBLAS workspace, ggml's compute buffer) beyond these is not modelled; it is small next to weights/KV.
ACT_BUFFERS = 2.0
ACT_BYTES_PER_ELEMENT = 4.0


class CapacityError(ValueError):
    """A configuration does not fit in any memory the description offers; the message names it."""


def footprint_bytes(model: ModelSpec, w_bits, batch, context, group_size: int, p: dict) -> dict:
    """Bytes resident during decode: ``weights``, ``kv`` and ``activations`` (arrays broadcast).

    Weights: every GEMV layer plus the embedding table at ``w_bits`` with one scale/zero record
    (``memory.scale_zero_bytes_per_group``) per ``group_size`` weights. KV cache: K and V of every block
    for ``context`` tokens of each of ``batch`` sequences at ``memory.kv_bytes_per_element``.
    """
    w_bits, batch, context = (np.asarray(x, dtype=float) for x in (w_bits, batch, context))
    n_w = float(model.gemv_params + model.vocab * model.dim)
    weights = n_w * w_bits / 8.0 + n_w / group_size * p["memory.scale_zero_bytes_per_group"]
    kvd = model.n_kv_heads * model.head_dim
    kv = batch * model.n_layers * 2.0 * kvd * context * p["memory.kv_bytes_per_element"]
    per_token = 2 * model.dim + model.n_heads * model.head_dim + 2 * kvd + 3 * model.ffn_dim + model.vocab
    act = ACT_BUFFERS * ACT_BYTES_PER_ELEMENT * batch * per_token
    zero = np.zeros(np.broadcast_shapes(w_bits.shape, batch.shape, context.shape))
    return {"weights": weights + zero, "kv": kv + zero, "activations": act + zero}


def device_options(hw: HwConfig) -> list[tuple[int, float]]:
    """``(devices, tensor-parallel efficiency)`` pairs this description can run on, smallest first.

    A GPU offers one device (efficiency 1) plus every ``gpu.tp_efficiency_x<N>`` it declares; any other
    system runs on its one host (devices 1).
    """
    opts = [(1, 1.0)]
    if hw.system == "gpu":
        for key in hw.params:
            m = TP_KEY.match(key)
            if m:
                opts.append((int(m.group(1)), hw.value(key)))
    return sorted(opts)


def device_capacity_bytes(hw: HwConfig) -> float:
    """Usable memory of one device: HBM minus the runtime's reservation (GPU) or the host's DRAM."""
    if hw.system == "gpu":
        return (hw.value("gpu.memory_gb") - hw.value("gpu.reserved_gb")) * GIB
    return hw.value("memory.capacity_gb") * GIB


def place(hw: HwConfig, model: ModelSpec, w_bits, batch, context, group_size: int) -> dict:
    """Smallest device count that holds each configuration (arrays broadcast).

    Tensor parallelism splits weights and KV cache evenly over the devices; activations are replicated.
    Returns ``memory_bytes`` (the total footprint), ``capacity_bytes`` (of the chosen devices; of the
    largest option when nothing fits), ``n_devices`` (0 when infeasible), ``tp_efficiency`` and ``fits``.
    """
    fp = footprint_bytes(model, w_bits, batch, context, group_size, hw.values())
    shared = fp["weights"] + fp["kv"]
    one = device_capacity_bytes(hw)
    n_dev = np.zeros(shared.shape)
    eff = np.ones(shared.shape)
    for n, e in reversed(device_options(hw)):  # largest first, so the smallest that fits wins
        ok = shared / n + fp["activations"] <= one
        n_dev = np.where(ok, n, n_dev)
        eff = np.where(ok, e, eff)
    n_max = device_options(hw)[-1][0]
    fits = n_dev > 0
    return {
        "memory_bytes": shared + fp["activations"],
        "weight_bytes_resident": fp["weights"],
        "kv_bytes_resident": fp["kv"],
        "capacity_bytes": np.where(fits, n_dev, n_max) * one,
        "n_devices": n_dev.astype(int),
        "tp_efficiency": eff,
        "fits": fits,
    }


def scaled_params(hw: HwConfig, n_devices, tp_efficiency) -> dict:
    """GPU rate parameters of ``n_devices`` GPUs in tensor parallel: N x one GPU's HBM bandwidth and peaks,
    times the declared efficiency. SHORTCUT(tp): the all-reduce per layer is folded into that efficiency,
    not modelled as a latency of its own."""
    if hw.system != "gpu":
        return {}
    scale = np.asarray(n_devices, dtype=float) * np.asarray(tp_efficiency, dtype=float)
    return {k: hw.value(k) * scale for k in ("gpu.hbm_bw_gbps", "gpu.fp16_tflops", "gpu.fp32_tflops")}


def require_fit(hw: HwConfig, model: ModelSpec, w_bits: int, batch: int, context: int, group_size: int) -> dict:
    """:func:`place` for one configuration; :class:`CapacityError` naming it when it fits nowhere."""
    r = {k: np.asarray(v).reshape(-1)[0] for k, v in place(hw, model, w_bits, batch, context, group_size).items()}
    if not r["fits"]:
        opts = ", ".join(f"{n} x" for n, _ in device_options(hw))
        raise CapacityError(
            f"{model.name} w_bits={w_bits} batch={batch} context={context} needs "
            f"{r['memory_bytes'] / GIB:.1f} GiB (weights {r['weight_bytes_resident'] / GIB:.1f}, KV cache "
            f"{r['kv_bytes_resident'] / GIB:.1f}); {hw.name} offers {device_capacity_bytes(hw) / GIB:.1f} GiB "
            f"per device on {opts} devices: it does not fit"
        )
    return r
