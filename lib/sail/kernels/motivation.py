"""Where a CPU decode step of the real model spends its time, and the compute ceiling for the roofline (fig01)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch


def decode_breakdown(model, prompt_ids, steps: int) -> pd.DataFrame:
    """Seconds per decoded token by component, fp32 torch on this CPU, batch 1, with a KV cache.

    ``linear GEMVs``: the 210 q/k/v/o/gate/up/down calls, timed inside ``model.linear_impl``;
    ``LM head GEMV``: the tied ``norm(h) @ tok_embd.T``, timed separately on the same shapes;
    ``attention, norms, rest``: the remainder of the measured step time. Weight bytes per token are
    the fp32 matrices each component streams.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    lin_s = {}
    lin_bytes = 0

    def timed(name, x, w):
        t0 = time.perf_counter()
        y = x @ w.T
        lin_s[name.rsplit(".", 1)[1]] = lin_s.get(name.rsplit(".", 1)[1], 0.0) + time.perf_counter() - t0
        return y

    cache = model.new_cache()
    with torch.no_grad():
        logits = model(torch.as_tensor(np.asarray(prompt_ids, dtype=np.int64))[None, :], cache=cache)
        nxt = int(logits[0, -1].argmax())
        total = 0.0
        lin_s.clear()
        with model.linear_impl(timed):
            for _ in range(steps):
                t0 = time.perf_counter()
                logits = model(torch.tensor([[nxt]]), cache=cache)
                total += time.perf_counter() - t0
                nxt = int(logits[0, -1].argmax())
        h = torch.randn(1, 1, model.config.dim)
        head_s = 0.0
        for _ in range(steps):
            t0 = time.perf_counter()
            model.norm(h) @ model.tok_embd.T
            head_s += time.perf_counter() - t0
    for name in model.linear_names():
        m, k = model.get_linear_weight(name).shape
        lin_bytes += m * k * 4
    linear_total = sum(lin_s.values())
    head_bytes = int(model.tok_embd.numel()) * 4
    rows = [{"component": f"linear GEMV: {t}", "seconds_per_token": s / steps, "weight_bytes_per_token": np.nan}
            for t, s in sorted(lin_s.items())]
    rows += [
        {"component": "linear GEMVs (all)", "seconds_per_token": linear_total / steps,
         "weight_bytes_per_token": lin_bytes},
        {"component": "LM head GEMV", "seconds_per_token": head_s / steps, "weight_bytes_per_token": head_bytes},
        {"component": "attention, norms, rest", "seconds_per_token": max(total - linear_total - head_s, 0.0) / steps,
         "weight_bytes_per_token": 0},
        {"component": "decode step (total)", "seconds_per_token": total / steps,
         "weight_bytes_per_token": lin_bytes + head_bytes},
    ]
    return pd.DataFrame(rows)


def compute_ceiling_gflops(n: int = 1024, reps: int = 5) -> float:
    """Single-call fp32 GEMM throughput (GFLOP/s) of numpy/OpenBLAS on an n x n problem (the compute roof)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    a @ a
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ a
        ts.append(time.perf_counter() - t0)
    return float(2 * n**3 / np.median(ts) / 1e9)
