"""Activation bit-pattern profiling and the Pattern Reuse Table (PRT) model (paper section 2.2).

Modules: ``patterns`` (bit-plane pattern extraction, histograms, entropy), ``prt`` (PRT semantics,
presentation order, LRU/FIFO simulation), ``profiler`` (accumulation over layers, tables),
``capture`` (real-model activations, decode-style batches).

Output tables (written by ``workflow/scripts/profile_patterns.py`` under ``results/<exp>/profile/``)
--------------------------------------------------------------------------------------------------
``prt_hits.csv`` -- the simulator's input. One row per
(layer_type, n_bw, a_bits, batch, encoding, policy, prt_entries, zero_skip), counts summed over the
30 layers of that type, all LUT groups and all batches of the profile:

==================  ==========================================================================
layer_type          q, k, v, o, gate, up, down
n_bw                channels per LUT group (K is zero-padded up to a multiple of n_bw)
a_bits              activation bits (per-token symmetric quantisation, ``sail.quant.act``)
batch               tokens sharing one LUT (decode batch: different sequences, same position)
encoding            twos_complement | sign_magnitude (bit-plane word of each activation)
policy              lru | fifo (fifo only at the ``detail`` points of the config)
prt_entries         PRT size (entries per data-feeding module)
zero_skip           bool: all-zero patterns skipped before the PRT lookup (both given)
lookups             all pattern presentations = batch * a_bits * groups per layer and batch
zero_skips          all-zero presentations skipped (0 when zero_skip is False)
prt_hits            presentations served by the PRT
sram_reads          lookups - zero_skips - prt_hits (C-SRAM row reads left)
avoided_fraction    (zero_skips + prt_hits) / lookups
==================  ==========================================================================

Default SAIL point: encoding twos_complement, policy lru, prt_entries 32, zero_skip False
(``DEFAULT_POINT``). The PRT semantics (scope, keying, order) are in ``sail.profile.prt``.

``planes.csv`` (per layer_type, n_bw, a_bits, encoding, plane: presentations, zero_fraction,
entropy_bits, max_entropy_bits), ``distinct.csv`` (per ..., batch, plane or ``all``: mean
distinct patterns per (LUT group, batch) and its upper bound), ``histogram.csv`` (pattern counts
per plane), ``prt_order.csv`` (token_major vs plane_major at the detail points), and
``timing.csv`` (wall time of the run; the only table that differs between identical runs).
"""

# The table's contract (columns, ranges, invariants) and the default point live in sail.contracts.
from sail.contracts import PRT_COLUMNS as PRT_HITS_COLUMNS
from sail.contracts import PRT_DEFAULT as DEFAULT_POINT
from sail.profile.patterns import ENCODINGS, extract_patterns
from sail.profile.prt import ORDERS, POLICIES, PrtCounts, lru_sweep, simulate_prt
from sail.profile.profiler import LAYER_TYPES, PatternProfiler, ProfileGrid

__all__ = ["DEFAULT_POINT", "ENCODINGS", "LAYER_TYPES", "ORDERS", "POLICIES", "PRT_HITS_COLUMNS",
           "PatternProfiler", "ProfileGrid", "PrtCounts", "extract_patterns", "lru_sweep", "simulate_prt"]
