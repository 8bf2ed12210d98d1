"""Weight and activation quantisation (SPEC section 2): W ~ s * (Q - z) per group of `group_size` channels."""

from sail.quant.core import QuantLinear, check_w_bits, check_group_size

__all__ = ["QuantLinear", "check_w_bits", "check_group_size"]
