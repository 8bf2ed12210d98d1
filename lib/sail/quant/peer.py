"""A second, independent weight quantiser to check ours against: HQQ (Badri & Shaji, "Half-Quadratic
Quantization of Large Machine Learning Models", 2023; the ``hqq`` package, ``hqq.core.quantize``).

HQQ needs no calibration data: per group it starts from the min/max grid with a float zero-point
(the Q4_1 shape) and, with ``optimize``, refines scale and zero by half-quadratic proximal steps
that minimise an lp-norm (p < 1) of the weight error. Without ``optimize`` it is plain RTN on the
float-minimum grid, computed by someone else's code, so it must agree with our ``rtn_fmin``
(checked by the peer-check script). The package is imported lazily; install it with
``pip install --no-deps hqq==0.2.8.post1 termcolor==3.3.0`` (its declared dependencies pull in
transformers and accelerate, which the quantiser itself does not use).
"""

from __future__ import annotations

import numpy as np
import torch

from sail.quant.core import check_group_size, check_w_bits


def quantize_hqq(w: np.ndarray, w_bits: int, group_size: int, optimize: bool = True) -> np.ndarray:
    """Quantise-dequantise ``w`` (M, K) with HQQ groups of ``group_size`` input channels; returns fp32 (M, K)."""
    from hqq.core.quantize import Quantizer

    w_bits = check_w_bits(w_bits)
    w = np.asarray(w, dtype=np.float32)
    if w.ndim != 2:
        raise ValueError(f"weight must be 2-D (M, K), got shape {w.shape}")
    g = check_group_size(group_size, w.shape[1])
    if w_bits not in Quantizer.SUPPORTED_BITS:
        raise ValueError(f"HQQ supports w_bits {Quantizer.SUPPORTED_BITS}, got {w_bits}")
    t = torch.from_numpy(w)
    # axis=1: groups along the input dimension, consecutive channels of one row (our layout).
    w_q, meta = Quantizer.quantize(t, nbits=w_bits, group_size=g, axis=1, optimize=optimize, bitpack=False,
                                   compute_dtype=torch.float32, device="cpu")
    meta["compute_dtype"] = torch.float32
    return Quantizer.dequantize(w_q, meta).reshape(w.shape).numpy().astype(np.float32)
