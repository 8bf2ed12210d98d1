"""End-to-end greedy decode of SmolLM2 with every linear layer on our fastest LUT kernel, and
llama.cpp's decode rate for the same model (``llama-bench``'s ``tg`` loop) on the same thread count.

Our side (:func:`generate`): the GGUF's weights (dequantised Q4_1, the model caveat) are RTN-quantised
per layer to ``w_bits`` with group ``group_size`` (:func:`sail.quant.rtn.quantize_rtn`), packed, and
prepared once for :func:`sail.kernels.simd.bind_gemv` (int8 register-table activation-LUT). Every
linear layer of every block **and the tied LM head** (49152 x 576, the largest matrix of the model)
then runs through it; the rest of the decode step (embedding, RMSNorm, RoPE, attention over the KV
cache, SiLU, residuals, argmax) stays in torch. ``w_bits=32`` is the fp32 torch model as loaded.

The decode rate counts only the generated tokens after the prompt (llama-bench's ``tg`` test does
the same: ``n_gen`` tokens, no prompt), and the time is split into the LUT GEMVs (weights), the LM
head and everything else, so the remaining time is attributed.

The peer (:func:`llamacpp_decode`): llama.cpp's quantiser (``sail-llama-quantize --allow-requantize``,
the call ``llama-quantize`` makes) turns the same GGUF into Q4_0 / Q2_K / ..., and
``sail-llama-decode tg`` runs ``llama-bench -p 0 -n <n_gen> -t <threads>``'s loop on libllama (copied
from the tool, which is not built: ``lib/sail/peers/cpp/sail_llama_decode.cpp`` says why) and reports
the same ``avg_ts``.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("sail.kernels.generate")

GENERATE_COLUMNS = ["engine", "weights", "w_bits", "group_size", "bits_per_weight", "threads", "prompt_tokens",
                    "new_tokens", "decode_s", "tokens_per_s", "gemv_s", "head_s", "other_s", "text"]


# layers that read the same input, run as one GEMV over their stacked rows (the first name triggers it)
FUSED = {"attn.q": ("attn.q", "attn.k", "attn.v"), "mlp.gate": ("mlp.gate", "mlp.up")}


class LutLinears:
    """Bound LUT GEMVs of one quantised model: ``impl`` for :meth:`Llama.linear_impl` and ``head``.

    ``fuse=True`` stacks q/k/v and gate/up (same input) into one GEMV each: RTN groups and the kernel's
    rows are independent, so the outputs are bit-identical to separate layers (tested), with 4 instead of
    7 calls per block (each call costs ~20 us of cold dispatch when torch ran just before).
    """

    def __init__(self, model, w_bits: int, group_size: int, impl: str | None = None, serial: bool = True,
                 fuse: bool = True, lm_head: bool = True):
        import torch

        from sail.kernels.simd import bind_gemv, prepare_simd
        from sail.quant.packing import pack_linear
        from sail.quant.rtn import quantize_rtn

        self.gemv, self.m, self.nbytes, self.n_weights = {}, {}, 0, 0
        self.split: dict[str, tuple[str, ...]] = {}  # first name -> names of the stacked layers
        self.sizes: dict[str, list[int]] = {}
        self._pending: dict[str, tuple[int, object]] = {}  # name -> (input data_ptr, its output)
        names = model.linear_names()
        mats = {}
        for name in names:
            prefix, _, tail = name.rpartition(".")
            two = ".".join(name.split(".")[-2:])
            if fuse and two in FUSED:
                group = [name[: -len(two)] + part for part in FUSED[two]]
                if all(g in names for g in group):
                    ws = [model.get_linear_weight(g) for g in group]
                    mats[name] = torch.cat(ws, dim=0)
                    self.split[name] = tuple(group)
                    self.sizes[name] = [int(w.shape[0]) for w in ws]
                    continue
            if not any(name in grp[1:] for grp in self.split.values()):
                mats[name] = model.get_linear_weight(name)
        if lm_head:
            mats["lm_head"] = model.tok_embd  # tied: the embedding table is the output projection
        self.model = model
        for name, w in mats.items():
            w = w.detach().cpu().numpy().astype(np.float32)
            prep = prepare_simd(pack_linear(quantize_rtn(w, w_bits, group_size)))
            self.gemv[name] = bind_gemv(prep, impl, serial=serial)
            self.m[name] = w.shape[0]
            self.nbytes += prep.nbytes
            self.n_weights += w.size
        self.gemv_s = 0.0
        self.head_s = 0.0
        self.calls = 0
        self._torch = torch

    def _run(self, name, x2):
        xt = x2.detach().numpy()
        if xt.dtype != np.float32 or not xt.flags.c_contiguous:
            xt = np.ascontiguousarray(xt, dtype=np.float32)
        self.calls += 1
        return self._torch.from_numpy(self.gemv[name](xt)[:, : self.m[name]])

    def impl(self, name, x, w):
        t0 = time.perf_counter()
        if name in self._pending and self._pending[name][0] == x.data_ptr():
            y = self._pending.pop(name)[1]  # computed with the first layer of its stack
        elif name in self.split:
            ys = self._torch.split(self._run(name, x), self.sizes[name], dim=1)
            y = ys[0]
            for other, yo in zip(self.split[name][1:], ys[1:]):
                self._pending[other] = (x.data_ptr(), yo)
        else:
            y = self._run(name, x)
        self.gemv_s += time.perf_counter() - t0
        return y

    def head(self, h):
        t0 = time.perf_counter()
        lead = h.shape[:-1]
        if "lm_head" not in self.gemv:  # lm_head=False: the fp32 tied head
            y = h @ self.model.tok_embd.T
        else:
            y = self._run("lm_head", h.reshape(-1, h.shape[-1])).reshape(*lead, -1)
        self.head_s += time.perf_counter() - t0
        return y


class TorchLinears:
    """The fp32 model's own linear layers and LM head (``x @ W.T`` in torch), timed like
    :class:`LutLinears` so the fp32 decode step is split the same way in the same run."""

    def __init__(self, model):
        self.model = model
        self.gemv_s = 0.0
        self.head_s = 0.0
        self.calls = 0

    def impl(self, name, x, w):
        t0 = time.perf_counter()
        y = x @ w.T
        self.calls += 1
        self.gemv_s += time.perf_counter() - t0
        return y

    def head(self, h):
        t0 = time.perf_counter()
        y = h @ self.model.tok_embd.T
        self.head_s += time.perf_counter() - t0
        return y


def _forward(model, ids, cache, lin: LutLinears | TorchLinears | None):
    """:meth:`Llama.forward` with the LM head optionally through ``lin`` (same operations otherwise)."""
    import torch
    import torch.nn.functional as F

    from sail.model.llama import rope_tables

    if lin is None:
        return model(ids, cache=cache)
    with torch.inference_mode(), model.linear_impl(lin.impl):
        start = cache[0]["k"].shape[2] if cache and "k" in cache[0] else 0
        cos, sin = rope_tables(model.config, torch.arange(start, start + ids.shape[1]))
        x = F.embedding(ids, model.tok_embd)
        for i, block in enumerate(model.blocks):
            x = block(x, cos, sin, cache[i])
        return lin.head(model.norm(x))


def greedy_decode(model, tok, prompt: str, new_tokens: int, lin: LutLinears | None = None) -> dict:
    """Greedy decode of exactly ``new_tokens`` tokens after the chat-formatted ``prompt`` (stop tokens
    do not end it, so every engine decodes the same count); returns times and the text."""
    import torch

    if new_tokens < 1:
        raise ValueError(f"new_tokens must be >= 1, got {new_tokens}")
    ids = tok.encode(tok.chat_prompt(prompt))
    cache = model.new_cache()
    logits = _forward(model, torch.tensor([ids]), cache, lin)
    if lin is not None:
        lin.gemv_s = lin.head_s = 0.0  # decode only
    out = []
    t0 = time.perf_counter()
    for _ in range(new_tokens):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        logits = _forward(model, torch.tensor([[nxt]]), cache, lin)
    dt = time.perf_counter() - t0
    gemv = lin.gemv_s if lin is not None else float("nan")
    head = lin.head_s if lin is not None else float("nan")
    return {"prompt_tokens": len(ids), "new_tokens": new_tokens, "decode_s": dt, "tokens_per_s": new_tokens / dt,
            "gemv_s": gemv, "head_s": head, "other_s": dt - gemv - head if lin is not None else float("nan"),
            "text": tok.decode(out), "ids": out}


def generate(gguf: str | Path, prompt: str, new_tokens: int, w_bits_list, group_size: int, threads: int,
             impl: str | None = None) -> list[dict]:
    """One row per engine: fp32 torch (``w_bits`` 32) and the LUT kernel at each of ``w_bits_list``."""
    from sail.kernels.bench import pin_threads, select_threading_layer
    from sail.model import load_model, load_tokenizer

    bad = [w for w in w_bits_list if w not in (1, 2, 3, 4, 5, 6, 7, 8)]
    if bad:
        raise ValueError(f"w_bits must be in 1..8, got {bad}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    select_threading_layer("workqueue")
    pin_threads(threads)
    model = load_model(gguf)
    tok = load_tokenizer(gguf)
    rows = []
    n_all = sum(model.get_linear_weight(n).numel() for n in model.linear_names()) + model.tok_embd.numel()
    r = greedy_decode(model, tok, prompt, new_tokens, TorchLinears(model))
    rows.append({"engine": "sail torch", "weights": "fp32", "w_bits": 32, "group_size": 0, "bits_per_weight": 32.0,
                 "threads": threads, **r})
    log.info("fp32: %.2f tokens/s", r["tokens_per_s"])
    for w_bits in w_bits_list:
        lin = LutLinears(model, w_bits, group_size, impl, serial=threads == 1)
        greedy_decode(model, tok, prompt, 2, lin)  # warm-up: numba compilation and first touch
        r = greedy_decode(model, tok, prompt, new_tokens, lin)
        rows.append({"engine": "sail act_lut_simd", "weights": f"W{w_bits} g{group_size}", "w_bits": w_bits,
                     "group_size": group_size, "bits_per_weight": 8.0 * lin.nbytes / n_all, "threads": threads, **r})
        log.info("W%d g%d: %.2f tokens/s (GEMV %.3f s, head %.3f s, other %.3f s of %.3f s)", w_bits, group_size,
                 r["tokens_per_s"], r["gemv_s"], r["head_s"], r["other_s"], r["decode_s"])
        del lin
    return rows


def llamacpp_decode(build, gguf: str | Path, types, threads: int, new_tokens: int, workdir: str | Path,
                    reps: int = 3) -> list[dict]:
    """llama.cpp's decode rate (llama-bench's tg test, ``new_tokens``) of ``gguf`` requantised to each of ``types``.

    ``build``: a :class:`sail.peers.llamacpp.LlamaCppBuild` with ``sail-llama-quantize`` and ``sail-llama-decode``.
    """
    quantize, bench = build.binary("sail-llama-quantize"), build.binary("sail-llama-decode")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for t in types:
        out = workdir / f"{Path(gguf).stem}.{t}.gguf"
        if not out.exists():
            tmp = out.with_name(out.name + ".tmp")
            subprocess.run([str(quantize), "--allow-requantize", str(gguf), str(tmp), t], check=True,
                           capture_output=True, text=True)
            tmp.replace(out)
        p = subprocess.run([str(bench), "tg", "-m", str(out), "-n", str(new_tokens), "-t", str(threads),
                            "-r", str(reps)], check=True, capture_output=True, text=True)
        res = json.loads(p.stdout)
        for rec in res:
            if rec.get("n_gen", 0) > 0 and rec.get("n_prompt", 0) == 0:
                size = float(rec.get("model_size", 0))
                n_params = float(rec.get("model_n_params", 0)) or float("nan")
                rows.append({"engine": "llama.cpp (llama-bench tg loop)", "weights": t, "w_bits": np.nan, "group_size": 0,
                             "bits_per_weight": 8.0 * size / n_params, "threads": threads, "prompt_tokens": 0,
                             "new_tokens": int(rec["n_gen"]), "decode_s": rec["n_gen"] / rec["avg_ts"],
                             "tokens_per_s": float(rec["avg_ts"]), "gemv_s": np.nan, "head_s": np.nan,
                             "other_s": np.nan, "text": ""})
                log.info("llama.cpp %s: %.2f tokens/s (+- %.2f)", t, rec["avg_ts"], rec.get("stddev_ts", np.nan))
    return rows


# ---------------------------------------------------------------------------------------------
# `sail generate` (registered in sail.cli)


def cli_args(p) -> None:
    p.add_argument("--gguf", default="resources/model/SmolLM2-135M-Instruct.Q4_1.gguf", help="model GGUF")
    p.add_argument("--prompt", default="What is the capital of France?",
                   help="user turn, wrapped in SmolLM2's chat template (default: %(default)r)")
    p.add_argument("--new-tokens", type=int, default=32, help="tokens decoded after the prompt (default 32)")
    p.add_argument("--w-bits", default="4,3,2", help="comma-separated weight bits of the LUT runs (default 4,3,2)")
    p.add_argument("--group-size", type=int, default=32, help="weights per scale group (default 32)")
    p.add_argument("--threads", type=int, default=1, help="threads of our kernels, torch and llama.cpp (default 1)")
    p.add_argument("--llamacpp", default=None, metavar="BUILD_INFO_JSON",
                   help="llama.cpp build_info.json: also measure llama.cpp's decode on requantised copies of the GGUF")
    p.add_argument("--llamacpp-types", default="q4_0,q2_K", help="llama.cpp weight types, llama-quantize's names (default q4_0,q2_K)")
    p.add_argument("--workdir", default="resources/llamacpp/requantised", help="where requantised GGUFs go")
    p.add_argument("--out", default=None, help="write the rows as CSV here")


def cli_run(a) -> int:
    import pandas as pd

    from sail.io import FAST_BLAS_ENV, reexec_for_timing

    try:
        w_bits = [int(v) for v in str(a.w_bits).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--w-bits must be comma-separated integers, got {a.w_bits!r}") from None
    if not Path(a.gguf).is_file():
        raise ValueError(f"GGUF not found: {a.gguf}")
    reexec_for_timing(FAST_BLAS_ENV)  # after the checks: MKL without STRICT reproducibility for timing
    rows = generate(a.gguf, a.prompt, a.new_tokens, w_bits, a.group_size, a.threads)
    if a.llamacpp:
        from sail.peers.llamacpp import load_build

        types = [t.strip() for t in a.llamacpp_types.split(",") if t.strip()]
        rows += llamacpp_decode(load_build(a.llamacpp), a.gguf, types, a.threads, a.new_tokens, a.workdir)
    df = pd.DataFrame(rows, columns=GENERATE_COLUMNS)
    with pd.option_context("display.width", 160, "display.max_colwidth", 40):
        print(df.drop(columns=["text"]).to_string(index=False))
    for r in rows:
        if r["text"]:
            print(f"[{r['weights']}] {r['text']!r}")
    if a.out:
        from sail.io import write_table

        write_table(df, a.out)
    return 0
