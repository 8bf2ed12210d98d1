"""Turn the quant stage's per-row JSON records into tab03_accuracy (deterministic) and a timing table."""

from __future__ import annotations

import pandas as pd

# The GGUF's weights are Q4_1 (4-bit, groups of 32, fp16 scale and fp16 *minimum*). A 4-bit
# group-32 grid with a free (float) offset would reproduce them exactly, so such rows could look too
# good. Our asymmetric grid has an integer zero-point (what integer LUT-GEMV needs), which shifts
# the grid by a fraction of a step: w_exact_frac says how close to lossless a row really is.
Q4_1_NOTE = "same shape as the source Q4_1 grid; lossless only if w_exact_frac ~ 1"

TABLE_COLUMNS = ["row", "method", "w_bits", "group_size", "a_bits", "avg_w_bits", "ppl", "delta_ppl",
                 "n_tokens", "w_exact_frac", "w_rel_rmse", "note"]


def _group_label(g) -> str:
    if g is None:
        return ""
    return "per-channel" if int(g) == -1 else str(int(g))


def accuracy_table(reference: dict, rows: list[dict], mixed: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(tab03, timing)``: tab03 has one row per configuration, ``delta_ppl`` against the reference
    scored on the same windows (``ppl_matched``, when the reference has more windows than the rows).

    ``w_bits``/``a_bits`` are blank when that operand stays fp32; ``avg_w_bits`` is the code
    width averaged over weights (mixed rows) and equals ``w_bits`` for uniform rows.
    """
    # Deltas compare like with like: the reference scored on exactly the rows' windows.
    ref_ppl = reference.get("ppl_matched", reference["ppl"])
    out, timing = [], []

    def add(label, method, w_bits, group, a_bits, avg, rec, note=""):
        out.append({"row": label, "method": method, "w_bits": "" if w_bits is None else str(w_bits),
                    "group_size": _group_label(group), "a_bits": "" if a_bits is None else str(a_bits),
                    "avg_w_bits": "" if avg is None else f"{avg:.3f}", "ppl": rec["ppl"],
                    "delta_ppl": rec["ppl"] - ref_ppl, "n_tokens": rec["n_tokens"],
                    "w_exact_frac": rec.get("w_exact_frac"), "w_rel_rmse": rec.get("w_rel_rmse"), "note": note})
        timing.append({"row": label, "n_tokens": rec["n_tokens"], "eval_s": rec.get("eval_s", rec["seconds"]),
                       "forward_s": rec["seconds"], "tokens_per_s": rec["tokens_per_s"],
                       "quant_s": rec.get("quant_s", 0.0)})

    add("reference", "fp32 (dequantised Q4_1)", None, None, None, None, reference,
        "all reference windows" if "ppl_matched" in reference else "the baseline of every delta")
    if "ppl_matched" in reference:
        matched = {**reference, "ppl": reference["ppl_matched"], "n_tokens": reference["n_tokens_matched"]}
        out.append({**out[-1], "row": "reference, row windows", "ppl": matched["ppl"], "delta_ppl": 0.0,
                    "n_tokens": matched["n_tokens"], "note": "the same windows as every other row; baseline of delta_ppl"})
    act_rows = sorted((r for r in rows if r["method"] == "fp"), key=lambda r: -r["a_bits"])
    w_rows = sorted((r for r in rows if r["method"] != "fp"),
                    key=lambda r: (r["method"] != "rtn", r["w_bits"], r["group_size"] == -1, r["group_size"]))
    for r in act_rows:
        add(f"A{r['a_bits']}", "per-token activations", None, None, r["a_bits"], None, r)
    for r in w_rows:
        note = Q4_1_NOTE if (r["w_bits"] == 4 and r["group_size"] == 32 and not r["symmetric"]) else ""
        add(f"{r['method']} W{r['w_bits']} g{_group_label(r['group_size'])}", r["method"], r["w_bits"],
            r["group_size"], None, r["w_bits"], r, note)
    for m in sorted(mixed, key=lambda m: m["budget"]):
        add(f"mixed {m['method']} {m['budget']:g} bits", f"{m['method']} mixed", None, m["group_size"], None,
            m["avg_bits"], m, f"per-layer widths under a {m['budget']:g}-bit budget")
    return pd.DataFrame(out, columns=TABLE_COLUMNS), pd.DataFrame(timing)
