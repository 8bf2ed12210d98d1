"""Dequantise-and-multiply control (the llama.cpp analogue) on the same packed bit-plane layout.

Per row and quantisation group the codes are rebuilt from their bit-planes
(``Q = sum_b 2**b plane_b``), multiplied with the fp32 activations and combined as
``s (sum Q x - z sum x)``, the Q4_1 identity llama.cpp uses. No table is built: the work per
weight is a bit extraction per plane and one multiply-add.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from sail.kernels.act_lut import _group_sums, check_float_activations
from sail.quant.packing import PackedLinear


@njit(parallel=True, cache=True)
def _dequant_kernel(planes, scale, zero, group_size, xt, xsum, out):
    w_bits, m, kb = planes.shape
    batch = xt.shape[0]
    ng = scale.shape[1]
    for r in prange(m):
        codes = np.empty(group_size, dtype=np.float32)
        for gi in range(ng):
            # rebuild the group's codes once, reuse them for every token
            k0 = gi * group_size
            for t in range(group_size):
                codes[t] = 0.0
            for wb in range(w_bits):
                wgt = np.float32(1 << wb)
                for jb in range(group_size // 8):
                    byte = planes[wb, r, k0 // 8 + jb]
                    for t in range(8):
                        codes[jb * 8 + t] += np.float32((byte >> t) & 1) * wgt
            for b in range(batch):
                acc = np.float32(0.0)
                for t in range(group_size):
                    acc += codes[t] * xt[b, k0 + t]
                if gi == 0:
                    out[r, b] = 0.0
                out[r, b] += scale[r, gi] * (acc - zero[r, gi] * xsum[b, gi])


def dequant_gemv(p: PackedLinear, x) -> np.ndarray:
    """``W @ x`` (float32), ``W = s (Q - z)``, by unpack + multiply-add; same inputs as ``act_lut_gemv``."""
    if not isinstance(p, PackedLinear):
        raise ValueError(f"expected a PackedLinear, got {type(p).__name__}")
    if p.group_size % 8:
        raise ValueError(f"dequant_gemv needs group_size a multiple of 8, got {p.group_size}")
    vec = np.ndim(x) == 1
    xt = check_float_activations(x, p.k)
    xsum = _group_sums(xt, p.group_size, p.scale.shape[1])
    out = np.empty((p.m, xt.shape[0]), dtype=np.float32)
    _dequant_kernel(p.planes, p.scale, p.zero, p.group_size, xt, xsum, out)
    return out[:, 0] if vec else out
