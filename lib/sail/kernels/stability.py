"""Does the measurement hold still? Each kernel timed back to back and interleaved, several runs.

The benchmark (:mod:`sail.kernels.bench`) interleaves all candidates of a group within each
repetition. A kernel that is sensitive to what ran just before it (cold caches and TLB for its call
path, another kernel's memory stream) then looks slower than when it runs back to back. This module
measures the size of that effect for our best kernel and for llama.cpp's, in the same process state:

* ``back_to_back``: ``reps`` calls of one candidate in a row (each on its next weight copy);
* ``interleaved``: the benchmark's own :func:`~sail.kernels.bench.time_group` over all candidates;

the two modes alternate their order between ``runs`` (all in one process), so drift of a shared
machine is visible as the spread across runs. The 1-minute load average before and after each run
says how contended the machine was.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np

from sail.kernels import bench as kb

log = logging.getLogger("sail.kernels.stability")

STABILITY_COLUMNS = ["run", "mode", "kernel", "w_bits", "bits_per_weight", "m", "k", "threads", "reps", "median_s",
                     "q25_s", "q75_s", "ratio_to_back_to_back", "loadavg_1m_before", "loadavg_1m_after", "n_copies"]


@dataclass(frozen=True)
class StabilityConfig:
    shape: list  # [M, K]
    w_bits: list  # of our packed kernels
    kernels: list  # ours and llamacpp_<type>
    threads: int
    reps: int
    runs: int
    group_size: int
    rotate_factor: float
    seed: int


def _loadavg() -> float:
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return float("nan")


def _back_to_back(c, reps: int) -> list[float]:
    c.run(0)  # warm
    out = []
    for i in range(reps):
        t0 = time.perf_counter()
        r = c.run(i + 1)
        dt = time.perf_counter() - t0
        out.append(float(r) if c.self_timed else dt)
    return out


def run_stability(cfg: StabilityConfig, ggml_timer_exe: str | None = None, peer_log=None, peer_build=None):
    """Returns a DataFrame with :data:`STABILITY_COLUMNS` (one row per run x mode x candidate)."""
    import pandas as pd

    if cfg.runs < 1 or cfg.reps < 1:
        raise ValueError(f"runs and reps must be >= 1, got runs={cfg.runs}, reps={cfg.reps}")
    m, k = (int(v) for v in cfg.shape)
    peers = kb.peer_kernels(cfg.kernels)
    ours = [kn for kn in cfg.kernels if kn not in peers]
    unknown = sorted(set(ours) - set(kb.KERNELS))
    if unknown:
        raise ValueError(f"unknown kernels {unknown}; known: {sorted(kb.KERNELS)} and llamacpp_<type>")
    if peers and not ggml_timer_exe:
        raise ValueError(f"kernels {peers} need the compiled ggml timer (ggml_timer_exe)")
    kb.select_threading_layer(kb.DEFAULT_THREADING_LAYER)
    l3 = kb.l3_bytes()
    kb.pin_threads(cfg.threads)
    rng = np.random.default_rng([cfg.seed, 7])
    cands = kb.build_candidates(ours, m, k, list(cfg.w_bits), 1, cfg.group_size, 8, [4], l3, cfg.rotate_factor, rng,
                                list(cfg.w_bits))
    peer_set = None
    if peers:
        peer_set = kb.PeerSet(kb.ggml_timer.GgmlTimer(ggml_timer_exe, stderr=peer_log), peer_build)
        cands += peer_set.candidates(peers, m, k, 1, l3, cfg.rotate_factor, cfg.seed)
        peer_set.set_threads(cfg.threads)
    rows = []
    try:
        for run in range(cfg.runs):
            modes = ("back_to_back", "interleaved") if run % 2 == 0 else ("interleaved", "back_to_back")
            for mode in modes:
                before = _loadavg()
                if mode == "interleaved":
                    times = kb.time_group(cands, cfg.reps)
                else:
                    times = {i: _back_to_back(c, cfg.reps) for i, c in enumerate(cands)}
                after = _loadavg()
                for i, c in enumerate(cands):
                    ts = np.asarray(times[i])
                    rows.append({"run": run + 1, "mode": mode, "kernel": c.kernel, "w_bits": c.w_bits,
                                 "bits_per_weight": (c.bits_per_weight if np.isfinite(c.bits_per_weight)
                                                     else 8.0 * c.weight_bytes / (m * k)),
                                 "m": m, "k": k, "threads": cfg.threads, "reps": len(ts),
                                 "median_s": float(np.median(ts)), "q25_s": float(np.percentile(ts, 25)),
                                 "q75_s": float(np.percentile(ts, 75)), "loadavg_1m_before": before,
                                 "loadavg_1m_after": after, "n_copies": len(c.copies)})
            log.info("stability run %d/%d done (load average %.2f)", run + 1, cfg.runs, _loadavg())
    finally:
        if peer_set is not None:
            peer_set.timer.close()
    df = pd.DataFrame(rows)
    key = ["run", "kernel", "w_bits"]
    b2b = df[df["mode"] == "back_to_back"].set_index(key).median_s
    df["ratio_to_back_to_back"] = df.median_s.to_numpy() / b2b.reindex(pd.MultiIndex.from_frame(df[key])).to_numpy()
    return df[STABILITY_COLUMNS]


def summarise(df) -> "pd.DataFrame":
    """Per kernel and mode: median over runs, the spread across runs ((max - min) / median) and the
    median interleaved / back-to-back ratio."""
    g = df.groupby(["kernel", "w_bits", "mode"])
    out = g.median_s.agg(["median", "min", "max"]).reset_index()
    out["spread_across_runs"] = (out["max"] - out["min"]) / out["median"]
    out["ratio_to_back_to_back"] = g.ratio_to_back_to_back.median().to_numpy()
    return out
