"""Weight and activation quantisation: W ~ s * (Q - z) per group of `group_size` channels."""

from sail.quant.act import check_a_bits, dequantize_activations, quantize_activations
from sail.quant.core import QuantLinear, check_group_size, check_w_bits
from sail.quant.rtn import quantize_rtn

__all__ = [
    "QuantLinear",
    "check_w_bits",
    "check_group_size",
    "check_a_bits",
    "quantize_rtn",
    "quantize_activations",
    "dequantize_activations",
]
