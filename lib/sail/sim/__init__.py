"""Analytical, command-level simulator of SAIL's near-cache C-SRAM and its baselines (docs/simulator.md).

``load_hw(path)`` reads a ``config/hw/*.yaml`` description; ``simulate(hw, model=..., w_bits=...,
a_bits=..., batch=..., context=..., overrides=None)`` returns a :class:`SimResult` with tokens/s, the
memory and compute bounds and the latency breakdown; ``sweep`` evaluates many points vectorised.
"""

from sail.sim.api import PRT_DEFAULT, SimResult, prt_fractions, simulate, sweep
from sail.sim.hw import HwConfig, HwError, NotModelled, hw_table, load_hw
from sail.sim.models import LAYER_TYPES, MODELS, ModelSpec, get_model

__all__ = [
    "HwConfig",
    "HwError",
    "LAYER_TYPES",
    "MODELS",
    "ModelSpec",
    "NotModelled",
    "PRT_DEFAULT",
    "SimResult",
    "get_model",
    "hw_table",
    "load_hw",
    "prt_fractions",
    "simulate",
    "sweep",
]
