"""Calibration Fisher of every linear layer's output channels (one backward pass of the fp model
on calibration tokens), the weighting of the mixed-precision sensitivity (sail.quant.sensitivity)."""

import numpy as np
import torch

from sail.io import atomic_path, log_to, set_threads

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import load_model, windows
    from sail.quant.sensitivity import capture_fisher

    p = snakemake.params
    model = load_model(snakemake.input.gguf)
    calib = torch.from_numpy(windows(np.load(snakemake.input.tokens).astype(np.int64), p.window, p.n_windows))
    if calib.shape[0] < p.n_windows:
        raise ValueError(f"calibration text gives {calib.shape[0]} windows, fewer than fisher_windows={p.n_windows}")
    log.info("Fisher on %d windows of %d tokens", calib.shape[0], p.window)
    fisher = capture_fisher(model, calib, batch_windows=1)
    with atomic_path(snakemake.output[0]) as tmp:
        torch.save(fisher, tmp)
    log.info("saved the Fisher of %d layers", len(fisher))
