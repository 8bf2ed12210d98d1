"""CPU LUT-GEMV kernels (numba) on the packed bit-plane layout of :mod:`sail.quant.packing`.

lut_gemv                 SAIL's weight-LUT, bit-serial over activations, exact int64 (any w, a, n_bw)
lut_gemv_pattern_aware   the same with zero-pattern skipping and the Pattern Reuse Table, + counters
act_lut_gemv             T-MAC/bitnet.cpp activation-LUT, weight bit-planes as indices, fp32
simd_gemv                activation-LUT with int8 tables in AVX-512 registers (llvmlite), portable twin
dequant_gemv             dequantise-and-multiply control on the identical layout
typeconv                 bit-serial emulation of SAIL's in-memory fp<->int conversion
reference                slow plain-maths twins of all of the above (tests)
"""

from sail.kernels.act_lut import act_lut_gemv
from sail.kernels.dequant import dequant_gemv
from sail.kernels.simd import SimdPrepared, prepare_simd, simd_gemv
from sail.kernels.typeconv import dequantize_bitserial, quantize_bitserial
from sail.kernels.lut_gemv import (LutCounters, WlutPrepared, activation_patterns, lut_gemv, lut_gemv_packed,
                                   lut_gemv_prepared, prepare_wlut,
                                   lut_gemv_grouped, lut_gemv_pattern_aware, weight_lut_linear)

__all__ = ["LutCounters", "act_lut_gemv", "activation_patterns", "dequant_gemv", "dequantize_bitserial", "quantize_bitserial", "lut_gemv",
           "lut_gemv_grouped", "lut_gemv_packed", "lut_gemv_pattern_aware", "lut_gemv_prepared", "prepare_simd",
           "prepare_wlut", "WlutPrepared",
           "SimdPrepared", "simd_gemv", "weight_lut_linear"]
