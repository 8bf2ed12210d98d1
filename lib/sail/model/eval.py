"""Perplexity over fixed, non-overlapping windows, and greedy generation."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm


@dataclass(frozen=True)
class PerplexityResult:
    ppl: float
    nll_sum: float  # natural-log loss summed over scored tokens
    n_tokens: int  # scored tokens: (window - 1) per window
    n_windows: int
    seconds: float  # wall time of the forward passes
    tokens_per_s: float  # processed (window) tokens per second

    def as_row(self) -> dict:
        return {"ppl": self.ppl, "nll_sum": self.nll_sum, "n_tokens": self.n_tokens,
                "n_windows": self.n_windows, "seconds": self.seconds, "tokens_per_s": self.tokens_per_s}


def windows(ids, window: int, max_windows: int | None = None) -> np.ndarray:
    """Split a token sequence into non-overlapping windows of ``window`` tokens (the tail is dropped)."""
    if window < 2:
        raise ValueError(f"window must be >= 2 tokens, got {window}")
    ids = np.asarray(ids, dtype=np.int64)
    n = len(ids) // window
    if max_windows is not None:
        if max_windows < 1:
            raise ValueError(f"max_windows must be >= 1, got {max_windows}")
        n = min(n, max_windows)
    if n == 0:
        raise ValueError(f"{len(ids)} tokens are fewer than one window of {window}")
    return ids[: n * window].reshape(n, window)


def perplexity(model, ids, window: int = 512, batch_windows: int = 8, max_windows: int | None = None,
               progress: bool = True) -> PerplexityResult:
    """Perplexity of ``model`` on ``ids``: each window predicts its tokens 1..window-1 from the ones before.

    Windows are independent (no carried context), so every configuration is scored on exactly the
    same token positions; ``batch_windows`` windows run per forward pass for speed.
    """
    if batch_windows < 1:
        raise ValueError(f"batch_windows must be >= 1, got {batch_windows}")
    w = torch.from_numpy(windows(ids, window, max_windows))
    nll, n_tok, seconds = 0.0, 0, 0.0
    batches = range(0, len(w), batch_windows)
    for start in tqdm(batches, desc="perplexity", unit="batch", disable=not progress):
        chunk = w[start : start + batch_windows]
        t0 = time.perf_counter()
        logits = model(chunk)  # (b, window, vocab)
        seconds += time.perf_counter() - t0
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).double(),
                               chunk[:, 1:].reshape(-1), reduction="sum")
        nll += float(loss)
        n_tok += chunk[:, 1:].numel()
    return PerplexityResult(ppl=math.exp(nll / n_tok), nll_sum=nll, n_tokens=n_tok, n_windows=len(w),
                            seconds=seconds, tokens_per_s=w.numel() / seconds if seconds else float("nan"))


def greedy_generate(model, tok, prompt: str, max_new_tokens: int = 32, stop_ids=None) -> str:
    """Greedy (argmax) continuation of ``prompt`` with a KV cache; returns only the new text."""
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    stop = set(stop_ids if stop_ids is not None else tok.stop_ids())
    cache = model.new_cache()
    logits = model(torch.tensor([tok.encode(prompt)]), cache=cache)
    out = []
    for _ in range(max_new_tokens):
        nxt = int(logits[0, -1].argmax())
        if nxt in stop:
            break
        out.append(nxt)
        logits = model(torch.tensor([[nxt]]), cache=cache)
    return tok.decode(out)
