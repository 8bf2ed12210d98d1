"""A tiny, fully worked weight-LUT GEMV (the data behind fig02_lut_example), computed by the kernel's code."""

from __future__ import annotations

import numpy as np

from sail.kernels.lut_gemv import activation_patterns, lut_gemv_pattern_aware, weight_tables


def lut_example(w_bits: int, a_bits: int, n_bw: int, m: int, k: int, seed: int) -> dict:
    """Codes, activations, tables, bit-plane patterns, every looked-up and shifted value, and the result.

    ``result`` comes from :func:`sail.kernels.lut_gemv_pattern_aware`; ``contributions`` re-derive it
    step by step from the kernel's tables and patterns, and ``check`` is ``Q @ x``.
    """
    if k % n_bw:
        raise ValueError(f"k={k} must be a multiple of n_bw={n_bw} for the example")
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 1 << w_bits, size=(m, k))
    x = rng.integers(-(1 << (a_bits - 1)), 1 << (a_bits - 1), size=k)
    x[0] = -(1 << (a_bits - 1)) + 1  # a negative value, so the MSB plane's negative weight shows
    tables = weight_tables(q, w_bits, n_bw)
    pats = activation_patterns(x[:, None].astype(np.int64), a_bits, n_bw)[:, :, 0]  # (groups, a_bits)
    contrib = []
    for r in range(m):
        for j in range(k // n_bw):
            for i in range(a_bits):
                p = int(pats[j, i])
                sign = -1 if i == a_bits - 1 else 1
                contrib.append({"row": r, "group": j, "plane": i, "pattern": p, "lookup": int(tables[r, j, p]),
                                "weight": sign * (1 << i), "value": sign * (1 << i) * int(tables[r, j, p])})
    y, counters = lut_gemv_pattern_aware(q, x, w_bits, a_bits, n_bw, prt_entries=32)
    steps = np.zeros(m, dtype=np.int64)
    for c in contrib:
        steps[c["row"]] += c["value"]
    check = q.astype(np.int64) @ x.astype(np.int64)
    if not (np.array_equal(y, check) and np.array_equal(steps, check)):
        raise AssertionError("LUT example disagrees with Q @ x")  # cannot happen unless the kernel is wrong
    return {"w_bits": w_bits, "a_bits": a_bits, "n_bw": n_bw, "q": q.tolist(), "x": x.tolist(),
            "tables": tables.tolist(), "patterns": pats.tolist(), "contributions": contrib,
            "result": y.tolist(), "check": check.tolist(),
            "counters": {k_: int(v) for k_, v in vars(counters).items()}}
