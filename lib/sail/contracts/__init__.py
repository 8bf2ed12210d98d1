"""Contracts between stages: the constants every stage shares and the checks that enforce them.

Each shared constant is defined here and nowhere else; modules import it. The heavier parts live in
submodules so that importing a constant costs nothing:

- :mod:`sail.contracts.tables` -- the schema (pandera) of every table one stage writes and another
  reads; :func:`sail.io.write_table` and :func:`sail.io.read_table` apply it by file name.
- :mod:`sail.contracts.inputs` -- re-verification of the real inputs where they are read (the
  GGUF against its pinned sha256, the corpus against ``data/corpus/PROVENANCE.json``).
- :mod:`sail.contracts.hwschema` -- the strict reading of ``workflow/schemas/hw.schema.yaml``
  (unknown keys with a "did you mean", finite values in their physical range).
- :mod:`sail.contracts.config` -- cross-field rules of ``config/config.yaml`` that a JSON schema
  cannot express, run by the Snakefile before any job.
"""

from __future__ import annotations

import difflib
import math

import numpy as np

# ---- shared constants -------------------------------------------------------------------------
# The seven GEMV layers of a Llama block, in execution order (the simulator adds lm_head once per step).
LAYER_TYPES = ("q", "k", "v", "o", "gate", "up", "down")

# Bit widths the kernels, the profiler and the simulator cover. Codes and bit-plane patterns are
# stored as (u)int8, and the SAIL LUT of 2**n_bw entries per group must fit one C-SRAM array.
W_BITS_RANGE = (1, 8)
A_BITS_RANGE = (1, 8)
N_BW_RANGE = (1, 8)
# The CPU and GPU baselines also model stored formats the LUT kernels do not run: fp16 (16 bits)
# and llama.cpp block formats with a fractional effective width (Q4_0 = 4.5 bits per weight).
BASELINE_BITS_RANGE = (1, 16)
# Per-token symmetric activation quantisation (sail.quant.act): 1-bit two's complement ({-1, 0})
# cannot carry a symmetric signal, so that quantiser starts at 2 bits.
SYMMETRIC_A_BITS_RANGE = (2, 8)

# Weights per (row, group) sharing one scale and zero-point when a caller does not say
# (the SAIL paper's default, also llama.cpp's Q4_K super-block width).
DEFAULT_GROUP_SIZE = 128

# The default SAIL point of the profiling stage's PRT table (32-entry LRU PRT per data-feeding
# module, two's-complement bit planes, all-zero patterns not skipped).
PRT_DEFAULT = {"encoding": "twos_complement", "policy": "lru", "prt_entries": 32, "zero_skip": False}

# Bit-plane words of the activation profile (sail.profile.patterns) and PRT replacement policies.
ENCODINGS = ("twos_complement", "sign_magnitude")
POLICIES = ("lru", "fifo")

# Columns of the profiling stage's PRT table (profile/prt_hits.csv), the simulator's input; the
# schema with ranges and invariants is sail.contracts.tables.PRT_HITS.
PRT_COLUMNS = ["layer_type", "n_bw", "a_bits", "batch", "encoding", "policy", "prt_entries", "zero_skip",
               "lookups", "zero_skips", "prt_hits", "sram_reads", "avoided_fraction"]

# Decode workload bounds: what the simulated models and the profile cover. A batch above this is
# outside every sweep (<= 64) and the profiled batches (<= 32) by more than an order of magnitude.
# source: assumption: a bound so that a typo (1e9) fails instead of giving a meaningless number.
MAX_BATCH = 4096


class ContractError(ValueError):
    """A file or value breaks a contract; the message names the file, the key/column and the value."""


def check_int_range(name: str, value, lo: int, hi: int) -> int:
    """``value`` as an int if it is an integer (not bool) in ``lo..hi``; else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def check_finite(name: str, value) -> float:
    """``value`` as a finite float (not bool); else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def did_you_mean(word: str, known) -> str:
    """`` (did you mean 'x'?)`` for the closest known spelling, or ``""``."""
    close = difflib.get_close_matches(str(word), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


__all__ = [
    "A_BITS_RANGE",
    "BASELINE_BITS_RANGE",
    "ContractError",
    "DEFAULT_GROUP_SIZE",
    "ENCODINGS",
    "LAYER_TYPES",
    "MAX_BATCH",
    "N_BW_RANGE",
    "POLICIES",
    "PRT_COLUMNS",
    "PRT_DEFAULT",
    "SYMMETRIC_A_BITS_RANGE",
    "W_BITS_RANGE",
    "check_finite",
    "check_int_range",
    "did_you_mean",
]
