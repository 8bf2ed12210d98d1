"""The simulator's CPU model against llama.cpp decode measured on this host (fig14_validation).

Every measured row (weight type, threads, batch, context) is predicted by :func:`sail.sim.engine.evaluate`
on the host's description (``config/hw/<host>.yaml``) at the measured model's geometry (Llama-2-7B
blocks, truncated), with ``cpu.cores`` = the run's threads and ``memory.dram_bw_gbps`` = the bandwidth
probed on this host at that thread count. Only what no datasheet gives is fitted, on half of the points:

* ``memory.dram_efficiency``: the fraction of the probed bandwidth llama.cpp's weight stream sustains;
* ``cpu.kernel_efficiency`` per weight type: the fraction of the SIMD int8 peak its kernels sustain;
* ``cpu.weight_unpack_reuse_tokens``: how many tokens of a batch share one unpack of a weight
  (llama.cpp repacks Q4_0/Q4_K/Q2_K at load and its GEMM tiles reuse them; 1 = re-unpack per token).

The other half is held out and only predicted; its mean absolute percentage error is the result.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sail.peers.gguf_models import WEIGHT_TYPES, check_weight_type
from sail.sim.engine import evaluate
from sail.sim.hw import HwConfig
from sail.sim.models import MODELS, ModelSpec

# Q4_1 (SmolLM2's own file): 20 B per 32 weights, fp16 scale + fp16 min. Not fitted (one real-model check).
FORMATS = {k: (v["code_bits"], v["block"], v["block_bytes"] - v["block"] * v["code_bits"] // 8)
           for k, v in WEIGHT_TYPES.items()} | {"Q4_1": (4, 32, 4)}
REUSE_GRID = (1, 2, 4, 8, 16, 32, 64)
FIT_KEYS = ("memory.dram_efficiency", "cpu.weight_unpack_reuse_tokens")
MEASURED_COLUMNS = ["model", "weight_type", "n_layers", "threads", "batch", "context", "decode_tokens",
                    "tokens_per_s", "dram_read_gbps"]


def model_spec(label: str, n_layers: int) -> ModelSpec:
    """Geometry of a measured model: ``llama2-7b-geometry`` truncated to ``n_layers`` blocks, or a simulator model."""
    if label == "llama2-7b-geometry":
        base = MODELS["llama2-7b"]
        return dataclasses.replace(base, name=f"{label}-{n_layers}l", n_layers=int(n_layers))
    if label in MODELS:
        return MODELS[label]
    raise ValueError(f"unknown measured model {label!r}; known: llama2-7b-geometry, {sorted(MODELS)}")


def weight_format(weight_type: str) -> tuple[int, int, int]:
    """``(code bits, block size, scale bytes per block)`` of a llama.cpp weight type."""
    if weight_type not in FORMATS:
        check_weight_type(weight_type)  # raises, naming the type
    return FORMATS[weight_type]


def split_half(measured: pd.DataFrame) -> np.ndarray:
    """Deterministic half split: within each (model, weight type, threads, context) the batches alternate
    between fit and held-out, starting on the fit side for the first context and on the held-out side for
    the next, so every batch is held out somewhere. Returns a boolean mask, True = used for fitting."""
    train = np.zeros(len(measured), dtype=bool)
    ctx_rank = {c: i for i, c in enumerate(sorted(measured.context.unique()))}
    for (_, _, _, ctx), g in measured.groupby(["model", "weight_type", "threads", "context"], sort=True):
        order = g.sort_values("batch").index
        for i, idx in enumerate(order):
            train[measured.index.get_loc(idx)] = (i + ctx_rank[ctx]) % 2 == 0
    return train


def predict(hw: HwConfig, measured: pd.DataFrame, values: dict) -> np.ndarray:
    """Predicted decode tokens/s of every measured row with ``values`` overriding the description.

    ``values`` holds ``memory.dram_efficiency``, ``cpu.weight_unpack_reuse_tokens`` and
    ``cpu.kernel_efficiency.<weight type>`` (any missing key keeps the description's value).
    """
    if hw.system != "cpu":
        raise ValueError(f"validation needs a cpu description, got {hw.name} ({hw.system})")
    missing = [c for c in MEASURED_COLUMNS if c not in measured.columns]
    if missing:
        raise ValueError(f"measured table lacks columns {missing}")
    pred = np.full(len(measured), np.nan)
    for (label, n_layers, wtype), g in measured.groupby(["model", "n_layers", "weight_type"], sort=True):
        bits, block, scale_bytes = weight_format(wtype)
        keff = values.get(f"cpu.kernel_efficiency.{wtype}", values.get("cpu.kernel_efficiency.Q4_0"))
        params = {
            "cpu.cores": g.threads.to_numpy(float),
            "memory.dram_bw_gbps": g.dram_read_gbps.to_numpy(float),
            "memory.scale_zero_bytes_per_group": float(scale_bytes),
        }
        for key in FIT_KEYS:
            if key in values:
                params[key] = float(values[key])
        if keff is not None:
            params["cpu.kernel_efficiency"] = float(keff)
        # the KV cache grows from context to context + decode_tokens during the measured steps
        ctx = g.context.to_numpy(float) + g.decode_tokens.to_numpy(float) / 2.0
        r = evaluate(hw, model_spec(label, n_layers), float(bits), 8.0, g.batch.to_numpy(float), ctx,
                     group_size=block, params=params)
        pred[[measured.index.get_loc(i) for i in g.index]] = np.broadcast_to(r["tokens_per_s"], (len(g),))
    return pred


def ape(pred, meas) -> np.ndarray:
    """Absolute percentage error of predicted vs measured tokens/s, in %."""
    return 100.0 * np.abs(np.asarray(pred) / np.asarray(meas) - 1.0)


def _jacobian(resid, x, r0, hi, step=1e-6):
    jac = np.empty((r0.size, x.size))
    for j in range(x.size):
        dx = np.zeros_like(x)
        dx[j] = step * max(abs(x[j]), 1e-3)
        if x[j] + dx[j] > hi[j]:  # one-sided difference backwards at the upper bound
            dx[j] = -dx[j]
        jac[:, j] = (resid(x + dx) - r0) / dx[j]
    return jac


def least_squares_bounded(resid, x0, lo, hi, iters: int = 200, tol: float = 1e-12):
    """Levenberg-Marquardt with the parameters clipped to ``[lo, hi]`` after every step (few parameters,
    smooth residuals; numpy only). Returns ``(x, residuals, jacobian)`` at the optimum."""
    x = np.clip(np.asarray(x0, dtype=float), lo, hi)
    r = resid(x)
    lam = 1e-3
    for _ in range(iters):
        jac = _jacobian(resid, x, r, hi)
        g = jac.T @ r
        a = jac.T @ jac
        improved = False
        for _ in range(30):
            step = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), -g)
            x_new = np.clip(x + step, lo, hi)
            r_new = resid(x_new)
            if (r_new**2).sum() < (r**2).sum():
                improved = True
                break
            lam *= 10
        if not improved:
            break
        gain = (r**2).sum() - (r_new**2).sum()
        x, r, lam = x_new, r_new, max(lam / 10, 1e-12)
        if gain < tol:
            break
    return x, r, _jacobian(resid, x, r, hi)


def _fit_continuous(hw, measured, train, types, reuse, fixed=None):
    fixed = dict(fixed or {})
    names = [n for n in ["memory.dram_efficiency"] + [f"cpu.kernel_efficiency.{t}" for t in types] if n not in fixed]
    sub = measured[train]
    logm = np.log(sub.tokens_per_s.to_numpy())

    def resid(x):
        vals = fixed | dict(zip(names, x)) | {"cpu.weight_unpack_reuse_tokens": reuse}
        return np.log(predict(hw, sub, vals)) - logm

    x0 = np.array([0.7 if n == "memory.dram_efficiency" else 0.3 for n in names])
    x, r, jac = least_squares_bounded(resid, x0, np.full(len(names), 0.01), np.ones(len(names)))
    dof = max(len(logm) - len(names), 1)
    s2 = float((r**2).sum() / dof)
    try:
        se = np.sqrt(np.clip(np.diag(np.linalg.inv(jac.T @ jac)) * s2, 0, None))
    except np.linalg.LinAlgError:
        se = np.full(len(names), np.nan)
    return dict(zip(names, x)), dict(zip(names, se)), float((r**2).sum())


def fit(hw: HwConfig, measured: pd.DataFrame, train: np.ndarray, fitted_types=None,
        fixed: dict | None = None) -> tuple[dict, pd.DataFrame]:
    """Least squares on log tokens/s over the ``train`` rows: DRAM efficiency and one kernel efficiency
    per weight type (continuous, bounded to (0, 1]), unpack reuse on :data:`REUSE_GRID` (profiled: the
    continuous fit is repeated for every grid value and the best kept).

    Returns the fitted values and a table ``parameter, value, std_error, n_fit_points, note``
    (standard errors from the Jacobian at the optimum, scaled by the residual variance; the reuse row's
    "error" is the range of grid values within 5 % of the best sum of squares). ``fixed`` holds values
    that are not fitted (e.g. the DRAM efficiency of another fit); they are returned but not tabled.
    """
    types = sorted(fitted_types or measured[train].weight_type.unique())
    for t in types:
        check_weight_type(t)
    keep = measured.weight_type.isin(types).to_numpy()
    m, tr = measured[keep], train[keep]
    best, sse = None, {}
    for reuse in REUSE_GRID:
        vals, se, s = _fit_continuous(hw, m, tr, types, reuse, fixed)
        sse[reuse] = s
        if best is None or s < best[2]:
            best = (dict(fixed or {}) | vals | {"cpu.weight_unpack_reuse_tokens": float(reuse)}, se, s)
    vals, se, s_best = best
    near = [r for r, s in sse.items() if s <= s_best * 1.05]
    n = int(tr.sum())
    rows = [
        {"parameter": k, "value": v, "std_error": se[k], "n_fit_points": n,
         "note": "least squares on log tokens/s; std error from the Jacobian"}
        for k, v in vals.items() if k in se
    ]
    rows.append({"parameter": "cpu.weight_unpack_reuse_tokens", "value": vals["cpu.weight_unpack_reuse_tokens"],
                 "std_error": float("nan"), "n_fit_points": n,
                 "note": f"grid {list(REUSE_GRID)}; within 5 % of the best fit: {near}"})
    return vals, pd.DataFrame(rows)


def validation_table(hw: HwConfig, measured: pd.DataFrame, values: dict, train: np.ndarray) -> pd.DataFrame:
    """Measured rows with ``predicted_tokens_per_s``, ``ape_pct`` and ``split`` (fit / held-out)."""
    out = measured.copy()
    out["predicted_tokens_per_s"] = predict(hw, measured, values)
    out["ape_pct"] = ape(out.predicted_tokens_per_s, out.tokens_per_s)
    out["split"] = np.where(train, "fit", "held-out")
    return out


def mape_summary(table: pd.DataFrame) -> pd.DataFrame:
    """MAPE per split, overall and per weight type / thread count."""
    rows = []
    for split, g in table.groupby("split", sort=True):
        rows.append({"split": split, "group": "all", "n_points": len(g), "mape_pct": g.ape_pct.mean(),
                     "max_ape_pct": g.ape_pct.max()})
        for col in ("weight_type", "threads"):
            for v, h in g.groupby(col, sort=True):
                rows.append({"split": split, "group": f"{col}={v}", "n_points": len(h),
                             "mape_pct": h.ape_pct.mean(), "max_ape_pct": h.ape_pct.max()})
    return pd.DataFrame(rows)
