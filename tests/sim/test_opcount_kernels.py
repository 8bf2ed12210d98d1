"""The simulator's operation counts equal the pattern-aware kernel's counters on the same inputs (issue 5, item 3)."""

import numpy as np
import pytest

from sail.sim import opcount
from sail.sim.engine import sail_layer_ops


def test_model_counts_equal_opcount_without_reuse():
    for m, k, n_bw, a, b in [(7, 12, 4, 8, 1), (64, 256, 4, 8, 16), (5, 30, 3, 4, 2), (1, 8, 8, 2, 3)]:
        ops = opcount.lut_gemv(m, k, n_bw, a, b)
        got = sail_layer_ops(m, k, n_bw, a, b)
        assert got["table_build_adds"] == ops.table_build_adds
        assert got["lookups"] == ops.lookups
        assert got["sram_reads"] == ops.lookups
        assert got["accumulates"] == ops.shift_accumulates


@pytest.mark.parametrize("n_bw", [2, 4, 5])
@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("prt_entries", [0, 32])
def test_model_counts_equal_kernel_counters(n_bw, batch, prt_entries):
    kernels = pytest.importorskip("sail.kernels", reason="sail.kernels (kernels stage) not merged yet")
    rng = np.random.default_rng(0)
    m, k, w_bits, a_bits = 16, 40, 4, 8
    q = rng.integers(0, 2**w_bits, size=(m, k))
    # small-magnitude activations so high planes repeat (zero skips and PRT hits both happen)
    x = rng.integers(-6, 7, size=(k, batch))
    _, c = kernels.lut_gemv_pattern_aware(
        q, x, w_bits, a_bits, n_bw, prt_entries=prt_entries, skip_zeros=True
    )
    k_pad = -(-k // n_bw) * n_bw
    zf, hf = c.zero_skips / c.lookups, c.prt_hits / c.lookups
    got = sail_layer_ops(m, k_pad, n_bw, a_bits, batch, zf, hf)
    assert got["table_build_adds"] == c.table_build_adds
    assert got["lookups"] == c.lookups
    assert got["sram_reads"] == pytest.approx(c.sram_reads, abs=1e-6)
    assert got["accumulates"] == pytest.approx(c.accumulates_performed, abs=1e-6)
    assert (
        opcount.lut_gemv(m, k_pad, n_bw, a_bits, batch)
        .after_reuse(c.zero_skips + c.prt_hits)
        .shift_accumulates
        == c.shift_accumulates
    )
    if prt_entries:
        assert c.prt_hits > 0 and c.zero_skips > 0  # the test exercises both kinds of reuse
