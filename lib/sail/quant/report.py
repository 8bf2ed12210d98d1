"""Turn the quant stage's per-row JSON records into tab03_accuracy (deterministic) and a timing table."""

from __future__ import annotations

import os

import pandas as pd

from sail.io import write_table

# The GGUF's weights are Q4_1 (4-bit, groups of 32, fp16 scale and fp16 *minimum*). A 4-bit
# group-32 grid with a float minimum reproduces them exactly (the rtn_fmin row), so that row is
# lossless by construction; our integer-zero-point grid (what integer LUT-GEMV needs) shifts
# the grid by a fraction of a step, which is the W4 group-32 rows' loss.
Q4_1_NOTE = "the source's own Q4_1 grid: lossless by construction when w_exact_frac ~ 1"
INT_GRID_NOTE = "same shape as the source Q4_1 grid, but an integer zero-point"

TABLE_COLUMNS = ["row", "method", "w_bits", "group_size", "a_bits", "avg_w_bits", "ppl", "delta_ppl",
                 "n_tokens", "w_exact_frac", "w_rel_rmse", "note"]
# One number format per column (the md and tex forms; the csv keeps these roundings too).
DECIMALS = {"avg_w_bits": 2, "ppl": 2, "delta_ppl": 2, "w_exact_frac": 4, "w_rel_rmse": 4}

METHOD_WORDS = {"rtn": "RTN", "rtn_fmin": "RTN, float-minimum grid", "gptq": "GPTQ"}
SENSITIVITY_WORDS = {"fisher": "Fisher-weighted sensitivity", "hessian": "tr(ΔW H ΔWᵀ) proxy"}
# Row labels stay within 30 characters (the Markdown form keeps such columns inline).
SENSITIVITY_SHORT = {"fisher": "Fisher", "hessian": "proxy"}


def group_label(g) -> str:
    """``-1`` -> "per-channel", ``32`` -> "group 32", ``None`` -> ""."""
    if g is None or (isinstance(g, float) and g != g):
        return ""
    return "per-channel" if int(g) == -1 else f"group {int(g)}"


def _gptq_words(r: dict) -> str:
    parts = ["sequential" if r.get("sequential") else "fp Hessians"]
    if r.get("act_order"):
        parts.append("act-order")
    return f"GPTQ ({', '.join(parts)})"


def _method_words(r: dict) -> str:
    return _gptq_words(r) if r["method"] == "gptq" else METHOD_WORDS[r["method"]]


def accuracy_table(reference: dict, rows: list[dict], mixed: list[dict],
                   default_damp: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(tab03, timing)``: one row per configuration, ``delta_ppl`` against the reference, which
    is scored on the same windows as every other row (ValueError if the token counts differ).

    ``w_bits``/``a_bits`` are blank when that operand stays fp32; ``avg_w_bits`` is the code
    width averaged over weights (mixed rows) and equals ``w_bits`` for uniform rows. GPTQ rows
    whose damping differs from ``default_damp`` say so in their label.
    """
    ref_ppl = reference["ppl"]
    for r in [*rows, *mixed]:
        if r["n_tokens"] != reference["n_tokens"]:
            raise ValueError(f"a row scored {r['n_tokens']} tokens, the reference {reference['n_tokens']}: "
                             "rows must share the reference's windows")
    out, timing = [], []

    def add(label, method, w_bits, group, a_bits, avg, rec, note=""):
        out.append({"row": label, "method": method, "w_bits": "" if w_bits is None else str(w_bits),
                    "group_size": group_label(group).replace("group ", ""),
                    "a_bits": "" if a_bits is None else str(a_bits),
                    "avg_w_bits": avg, "ppl": rec["ppl"],
                    "delta_ppl": rec["ppl"] - ref_ppl, "n_tokens": rec["n_tokens"],
                    "w_exact_frac": rec.get("w_exact_frac"), "w_rel_rmse": rec.get("w_rel_rmse"), "note": note})
        timing.append({"row": label, "n_tokens": rec["n_tokens"], "eval_s": rec.get("eval_s", rec["seconds"]),
                       "forward_s": rec["seconds"], "tokens_per_s": rec["tokens_per_s"],
                       "quant_s": rec.get("quant_s", 0.0)})

    add("reference", "fp32 (dequantised Q4_1)", None, None, None, None, reference, "the baseline of every delta")
    act_rows = sorted((r for r in rows if r["method"] == "fp"), key=lambda r: (bool(r.get("rotated")), -r["a_bits"]))
    for r in act_rows:
        rot = bool(r.get("rotated"))
        add(f"A{r['a_bits']} per-token" + (", rotated" if rot else ""),
            "per-token activations" + (", Hadamard-rotated model" if rot else ""), None, None, r["a_bits"], None, r,
            "residual stream and o/down inputs rotated (QuaRot-style), exact in fp" if rot else "")
    order = {"rtn": 0, "gptq": 1, "rtn_fmin": 2}
    w_rows = sorted((r for r in rows if r["method"] != "fp"),
                    key=lambda r: (r.get("a_bits") is not None, order[r["method"]], r["w_bits"], r["group_size"] == -1,
                                   r["group_size"], r.get("damp") or 0.0))
    for r in w_rows:
        label = f"{METHOD_WORDS[r['method']].split(',')[0]} W{r['w_bits']} {group_label(r['group_size'])}"
        if r["method"] == "rtn_fmin":
            label += ", float min"
        if r["method"] == "gptq" and default_damp is not None and r.get("damp") not in (None, default_damp):
            label += f", damp {r['damp']:g}"
        if r.get("a_bits") is not None:
            label += f" + A{r['a_bits']}"
        note = ""
        if r["w_bits"] == 4 and r["group_size"] == 32 and not r.get("symmetric"):
            note = Q4_1_NOTE if r["method"] == "rtn_fmin" else INT_GRID_NOTE
        add(label, _method_words(r), r["w_bits"], r["group_size"], r.get("a_bits"), float(r["w_bits"]), r, note)
    for m in sorted(mixed, key=lambda m: (m.get("sensitivity", "hessian") != "fisher", m["budget"])):
        sens = m.get("sensitivity", "hessian")
        add(f"mixed {m['budget']:.1f} bits, {SENSITIVITY_SHORT[sens]}", f"{METHOD_WORDS[m['method']]} mixed precision",
            None, m["group_size"], None, m["avg_bits"], m,
            f"per-layer widths (exact knapsack on the {SENSITIVITY_WORDS[sens]}) under a {m['budget']:g}-bit budget")
    table = pd.DataFrame(out, columns=TABLE_COLUMNS)
    for col, dec in DECIMALS.items():
        table[col] = pd.to_numeric(table[col], errors="coerce").round(dec)
    return table, pd.DataFrame(timing)


def write_tab03(table: pd.DataFrame, paths: dict[str, str | os.PathLike], caption: str = "") -> None:
    """Write tab03: the csv with numbers, the reading forms (md, tex, html via
    :func:`sail.io.write_report_table`) with one number format per column (``DECIMALS``)."""
    from sail.io import write_report_table

    if "csv" in paths:
        write_table(table, paths["csv"])
    shown = table.astype(object).copy()
    for col, dec in DECIMALS.items():
        shown[col] = ["" if v is None or v != v else f"{v:,.{dec}f}" for v in table[col]]
    shown["n_tokens"] = [f"{int(v):,}" for v in table["n_tokens"]]
    write_report_table(shown, {k: v for k, v in paths.items() if k != "csv"}, caption=caption)
