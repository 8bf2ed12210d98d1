"""Decode throughput of llama.cpp on this host, measured with ``llama-batched-bench``'s loop.

``sail-llama-decode batched`` (``lib/sail/peers/cpp/sail_llama_decode.cpp``) runs libllama exactly as
``llama-batched-bench -pps`` does (the loop is copied from the tool, which itself is not built: it
links llama.cpp's ``common`` library, 40 % of the build time). One run per (model file, threads,
context): the prompt of ``context`` tokens is processed once and copied to every sequence, so
prefill does not grow with the batch; ``-npl`` the parallel sequences (the decode batch), ``-ntg``
decode steps. The decode rate is the tool's ``S_TG``: ``batch x ntg / T_TG``, with T_TG the wall
time of the ``ntg`` batched decode steps. Each sequence's KV cache holds ``context .. context + ntg``
tokens during them. The output lines carry the tool's ``--output-format jsonl`` keys.

Two departures from the tool, both options of ``sail-llama-decode`` and both recorded per row:
``prefill_once`` decodes the shared prompt once per run instead of once per batch (the decode steps
start from the same cached prompt; the prefill was three quarters of the stage's time), and
``cache_flush_bytes`` reads a buffer that large before every timed decode step, so a model truncated
to a few blocks streams its weights and KV cache from DRAM the way a full-depth model does (in a
32-block model about 30 other blocks pass through the last-level cache between two reads of one
block's weights; the 2-block files are 0.3-0.7 GB against this host's 300 MiB L3). The flushes are
not timed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path

import pandas as pd

from sail.peers.gguf_models import check_weight_type

DECODE_COLUMNS = [
    "model",
    "weight_type",
    "n_layers",
    "threads",
    "batch",
    "context",
    "decode_tokens",
    "t_decode_s",
    "tokens_per_s",
    "prefill_tokens_per_s",
    "flash_attn",
    "n_ubatch",
    "weight_buffers",
    "repack",
    "prefill_once",
    "cache_flush_bytes",
]
BUFFER_RE = re.compile(r"load_tensors:\s+(\S+) model buffer size\s*=\s*([0-9.]+) MiB")


def weight_buffers(log_text: str) -> str:
    """Where llama.cpp put the weights, from its load log: e.g. ``CPU_REPACK:1234;CPU_Mapped:262`` (MiB).
    ``CPU_REPACK`` / ``AMX`` mean the weights were repacked at load for the GEMM kernels."""
    found = BUFFER_RE.findall(log_text)
    return ";".join(f"{name}:{float(mib):.0f}" for name, mib in found)


def bench_command(bench_bin, model, threads: int, context: int, decode_tokens: int, batches, ubatch: int = 512,
                  repack: bool = True, prefill_once: bool = False, cache_flush_bytes: int = 0):
    """The ``sail-llama-decode batched`` command line for one (model, threads, context) run.

    ``repack=False`` adds ``--no-repack``: weights stay in their file layout (no CPU_REPACK or AMX buffer),
    so every GEMM takes ggml's generic ``vec_dot`` path. ``prefill_once`` and ``cache_flush_bytes`` (a
    whole number of MiB, 0 = no flush) are the module docstring's two options."""
    for name, v in (("threads", threads), ("decode_tokens", decode_tokens), ("ubatch", ubatch)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not isinstance(context, int) or context < 1:
        raise ValueError(f"context must be a positive integer, got {context!r}")
    if (isinstance(cache_flush_bytes, bool) or not isinstance(cache_flush_bytes, int) or cache_flush_bytes < 0
            or cache_flush_bytes % (1 << 20)):
        raise ValueError(f"cache_flush_bytes must be a non-negative multiple of 1 MiB, got {cache_flush_bytes!r}")
    batches = sorted(int(b) for b in batches)
    if not batches or batches[0] < 1:
        raise ValueError(f"batches must be positive integers, got {batches!r}")
    # every sequence gets its own KV stream of context + decode_tokens cells (non-unified cache); llama.cpp
    # rounds each stream down to a multiple of 256 cells, and the loop skips a point that does not fit
    n_ctx = batches[-1] * 256 * -(-(context + decode_tokens) // 256)
    return [
        str(bench_bin), "batched", "-m", str(model), "-t", str(threads),
        "-c", str(n_ctx), "-b", str(max(context, batches[-1])), "-ub", str(ubatch),
        "-npp", str(context), "-ntg", str(decode_tokens), "-npl", ",".join(map(str, batches)),
    ] + ([] if repack else ["--no-repack"]) + (["--prefill-once"] if prefill_once else []) + (
        ["--flush-mb", str(cache_flush_bytes >> 20)] if cache_flush_bytes else [])  # fmt: skip


def parse_jsonl(text: str) -> pd.DataFrame:
    """Rows of the ``--output-format jsonl`` result lines (other log lines are ignored)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{") and '"speed_tg"' in line:
            rows.append(json.loads(line))
    if not rows:
        raise ValueError("the decode benchmark printed no JSONL result lines")
    return pd.DataFrame(rows)


def run_decode(bench_bin, model, weight_type: str, n_layers: int, threads: int, context: int,
               decode_tokens: int, batches, label: str, repack: bool = True, prefill_once: bool = False,
               cache_flush_bytes: int = 0) -> pd.DataFrame:
    """Run one ``sail-llama-decode batched`` and return :data:`DECODE_COLUMNS` rows, one per batch."""
    if weight_type != "Q4_1":  # SmolLM2's own file is Q4_1; the random models use the measured types
        check_weight_type(weight_type)
    if not Path(bench_bin).is_file():
        raise ValueError(f"sail-llama-decode not found at {bench_bin}")
    if not Path(model).is_file():
        raise ValueError(f"model file {model} does not exist")
    cmd = bench_command(bench_bin, model, threads, context, decode_tokens, batches, repack=repack,
                        prefill_once=prefill_once, cache_flush_bytes=cache_flush_bytes)
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    df = parse_jsonl(r.stdout + "\n" + r.stderr)
    # every sequence starts its decode from the whole prompt, whether it was decoded once or per batch
    if "n_cached" not in df or (df.n_cached != df.pl * df.pp).any():
        raise RuntimeError(f"{' '.join(cmd)}: cached prompt cells {df.get('n_cached', pd.Series()).tolist()} "
                           "!= batch x context")
    out = pd.DataFrame(
        {
            "model": label,
            "weight_type": weight_type,
            "n_layers": n_layers,
            "threads": df.n_threads.astype(int),
            "batch": df.pl.astype(int),
            "context": df.pp.astype(int),
            "decode_tokens": df.tg.astype(int),
            "t_decode_s": df.t_tg.astype(float),
            "tokens_per_s": df.speed_tg.astype(float),
            "prefill_tokens_per_s": df.speed_pp.astype(float),
            "flash_attn": df.flash_attn.astype(int),
            "n_ubatch": df.n_ubatch.astype(int),
            "weight_buffers": weight_buffers(r.stdout + "\n" + r.stderr),
            "repack": bool(repack),
            "prefill_once": bool(prefill_once),
            "cache_flush_bytes": int(cache_flush_bytes),
        }
    )
    return out[DECODE_COLUMNS]


def host_info() -> dict:
    """CPU model, logical CPUs, SIMD flags relevant to llama.cpp, and the kernel (from /proc/cpuinfo)."""
    info: dict = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if ":" in line:
                    k, v = (s.strip() for s in line.split(":", 1))
                    info.setdefault(k, v)
    except OSError:
        pass
    flags = set((info.get("flags") or info.get("Features") or "").split())
    simd = [f for f in ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni",
                        "avx512_bf16", "amx_int8", "amx_bf16", "asimd", "asimddp", "i8mm", "sve") if f in flags]
    return {
        "cpu_model": info.get("model name", platform.processor() or "unknown"),
        "logical_cpus": os.cpu_count(),
        "cpu_flags": " ".join(simd),
        "machine": platform.machine(),
    }


def per_layer_check(layers: pd.DataFrame) -> pd.DataFrame:
    """Per-block decode time from runs of one type at several block counts: for each batch, the slope
    ``(step(L2) - step(L1)) / (L2 - L1)`` between consecutive block counts, and its relative spread.

    If a truncated model stands for the full one, the slopes agree (the fixed part, embedding and the
    output head, drops out of the difference). Returns one row per (batch, pair) with ``per_layer_s`` and
    ``rel_dev_from_mean`` (slope / mean slope of that batch - 1).
    """
    need = {"batch", "n_layers", "tokens_per_s"}
    if not need <= set(layers.columns):
        raise ValueError(f"layer table lacks {sorted(need - set(layers.columns))}")
    rows = []
    for batch, g in layers.groupby("batch", sort=True):
        g = g.sort_values("n_layers")
        step = (g.batch / g.tokens_per_s).to_numpy()
        n = g.n_layers.to_numpy()
        if len(n) < 2:
            raise ValueError(f"batch {batch}: need at least two block counts, got {list(n)}")
        for i in range(len(n) - 1):
            rows.append({"batch": int(batch), "n_layers_from": int(n[i]), "n_layers_to": int(n[i + 1]),
                         "per_layer_s": (step[i + 1] - step[i]) / (n[i + 1] - n[i])})
    out = pd.DataFrame(rows)
    out["rel_dev_from_mean"] = out.per_layer_s / out.groupby("batch").per_layer_s.transform("mean") - 1.0
    return out
