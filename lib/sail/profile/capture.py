"""Run the real model over calibration text and hand every linear layer's inputs to a profiler.

Batches are formed the way a decode batch is: ``batch`` tokens from **different sequences** at
the same position, not consecutive tokens of one sequence. The calibration text is cut into
``n_windows`` windows of ``window`` tokens (independent sequences); the model runs them as one
(n_windows, window) batch, and each layer's input rows are reordered from window-major
(``w * window + pos``) to position-major (``pos * n_windows + w``) before profiling, so that rows
``r .. r + batch - 1`` (``batch`` dividing ``n_windows``) are ``batch`` sequences at one position.
"""

from __future__ import annotations

import numpy as np


def calibration_windows(token_ids, n_windows: int, window: int) -> np.ndarray:
    """(n_windows, window) int64: the first ``n_windows * window`` tokens, cut into windows."""
    for name, v in (("n_windows", n_windows), ("window", window)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    ids = np.asarray(token_ids, dtype=np.int64)
    need = n_windows * window
    if ids.size < need:
        raise ValueError(f"the text has {ids.size} tokens, fewer than n_windows*window = {need}")
    return ids[:need].reshape(n_windows, window)


def position_major_rows(n_windows: int, window: int) -> np.ndarray:
    """Row permutation: ``x[perm]`` turns window-major hook rows into position-major rows."""
    return np.arange(n_windows * window).reshape(n_windows, window).T.ravel()


def capture_linear_inputs(model, windows: np.ndarray) -> dict[str, np.ndarray]:
    """Every linear layer's input rows, ``{name: (n_windows*window, K) fp32}``, position-major.

    Uses ``model.linear_input_hook`` (sail.model API); insertion order is call order. The
    activations are kept (2,048 tokens x 210 layers x mean K 713 x 4 B = 1.2 GB) rather than
    profiled inside the hook, because numba's threads inside torch's forward pass compete with
    torch's spinning OpenMP workers.
    """
    import torch

    n_windows, window = windows.shape
    perm = position_major_rows(n_windows, window)
    out: dict[str, np.ndarray] = {}

    def hook(name, x):
        rows = x.detach().to(torch.float32).cpu().numpy()
        if rows.shape[0] != perm.size:
            raise ValueError(f"layer {name}: expected {perm.size} input rows, got {rows.shape[0]}")
        if name in out:
            raise ValueError(f"layer {name} was called twice in one forward pass")
        out[name] = np.ascontiguousarray(rows[perm])

    with torch.inference_mode(), model.linear_input_hook(hook):
        model(torch.from_numpy(windows))
    return out
