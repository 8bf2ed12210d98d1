"""Calibration: Hessians H = 2/N XᵀX of every linear layer's input, from the fp reference model."""

import numpy as np
import torch

from sail.io import atomic_path, log_to, set_threads

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.model import load_model, windows
    from sail.quant.gptq import capture_hessians

    p = snakemake.params
    model = load_model(snakemake.input.gguf)
    calib = torch.from_numpy(windows(np.load(snakemake.input.tokens).astype(np.int64), p.window, p.n_windows))
    if calib.shape[0] < p.n_windows:
        raise ValueError(f"calibration text gives {calib.shape[0]} windows, fewer than n_windows={p.n_windows}")
    log.info("calibration on %d windows of %d tokens", calib.shape[0], p.window)
    hessians = capture_hessians(model, calib, batch_windows=p.batch_windows)
    with atomic_path(snakemake.output[0]) as tmp:
        torch.save(hessians, tmp)
    log.info("saved %d Hessians", len(hessians))
