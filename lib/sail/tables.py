"""The reading forms of a result table: Markdown, LaTeX and HTML (the CSV is :func:`sail.io.write_table`).

One cell format for all three: integers print as integers (``4096``, not ``4096.0``), other numbers
with 4 significant digits, missing values blank.

* **Markdown** stays within :data:`MD_MAX_WIDTH` characters per line: text columns too long for that
  are replaced by numbered references (``[3]``) into notes listed under the table, wrapped at the
  same width (identical texts share a note).
* **LaTeX** compiles in a two-column paper with only ``\\usepackage{array,graphicx}``: a table whose natural
  width fits one column is a ``table``; a wider one is a ``table*`` across both columns, with long
  text in ragged-right ``p{}`` columns sized to ``\\linewidth``; rows are split over several floats so
  none is taller than a page (:data:`TEX_MAX_LINES`), and ``split_by`` makes one float per group
  (tab01: one per hardware description).
* **HTML** is a standalone page, shown inline by Snakemake's report.
"""

from __future__ import annotations

import html
import math
import re
import textwrap

import numpy as np
import pandas as pd

MD_MAX_WIDTH = 120
MD_NOTE_MIN_CHARS = 30  # text columns at most this wide stay in the table
# Printed geometry of a 10 pt two-column article (US letter): text width 469 pt, column 229.5 pt.
# Cells are set in \footnotesize (8 pt), about 4.5 pt per character (with margin) on average.
TEX_TEXTWIDTH_PT = 469.0
TEX_COLUMNWIDTH_PT = 229.5
TEX_CHAR_PT = 4.5
TEX_COLSEP_PT = 3.0
TEX_MAX_LINES = 52  # \footnotesize lines (9.5 pt) in a float that leaves room for its caption on a 9 in text height


def format_cell(v) -> str:
    """Integers as integers, other floats with 4 significant digits, missing values blank."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return f"{f:.4g}"
    return str(v)


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every cell formatted by :func:`format_cell` (strings only)."""
    return df.astype(object).apply(lambda col: col.map(format_cell))


def _is_numeric(col: pd.Series) -> bool:
    vals = [v for v in col if v != ""]
    if not vals:
        return False
    try:
        [float(v) for v in vals]
    except ValueError:
        return False
    return True


# ---- Markdown -------------------------------------------------------------------------------------------
def _pipe(shown: pd.DataFrame) -> list[str]:
    cols = list(shown.columns)
    widths = [max([len(str(c))] + [len(v) for v in shown[c]]) for c in cols]
    right = [_is_numeric(shown[c]) for c in cols]

    def row(cells):
        return "| " + " | ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(cells, widths, right)) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if r else ("-" * (w + 2)) for w, r in zip(widths, right)) + "|"
    return [row([str(c) for c in cols]), sep] + [row(list(r)) for r in shown.itertuples(index=False)]


def _constant_columns(shown: pd.DataFrame) -> list[str]:
    """Columns with one value in every row (stated once above the table instead), if the table has > 1 row."""
    if len(shown) < 2:
        return []
    return [c for c in shown.columns if shown[c].nunique(dropna=False) == 1]


def _md_block(shown: pd.DataFrame, max_width: int) -> list[str]:
    """One pipe table within ``max_width``: constant columns hoisted above it, long text columns into notes."""
    out: list[str] = []
    notes: dict[str, list[str]] = {}
    lines = _pipe(shown)
    if max(len(line) for line in lines) > max_width:
        const = _constant_columns(shown)
        if const and len(const) < len(shown.columns):
            out += textwrap.wrap(", ".join(f"{c} = {shown[c].iloc[0]}" for c in const) + " (every row).", max_width)
            out.append("")
            shown = shown.drop(columns=const)
            lines = _pipe(shown)
    while max(len(line) for line in lines) > max_width:
        text_cols = [c for c in shown.columns if c not in notes and not _is_numeric(shown[c])
                     and shown[c].str.len().max() > MD_NOTE_MIN_CHARS]
        if not text_cols:
            break  # what is left is short: a slightly wide table reads better than one without content
        longest = max(text_cols, key=lambda c: shown[c].str.len().max())
        uniq = list(dict.fromkeys(v for v in shown[longest] if v))
        notes[longest] = uniq
        ref = {v: f"[{i + 1}]" for i, v in enumerate(uniq)}
        shown = shown.assign(**{longest: shown[longest].map(lambda v: ref.get(v, ""))})
        lines = _pipe(shown)
    out += lines
    for col, texts in notes.items():
        out += ["", f"`{col}` [n]:", ""]
        for i, t in enumerate(texts):
            out += textwrap.wrap(t, max_width, initial_indent=f"{i + 1}. ".ljust(5), subsequent_indent=" " * 5,
                                 break_long_words=False, break_on_hyphens=False) or [f"{i + 1}."]
    return out


def to_markdown(df: pd.DataFrame, caption: str = "", max_width: int = MD_MAX_WIDTH,
                split_by: str | None = None) -> str:
    """Pipe table(s) no wider than ``max_width`` where possible (see the module docstring);
    ``split_by`` gives one section per value of that column."""
    out = textwrap.wrap(caption, max_width) + [""] if caption else []
    if split_by is None:
        out += _md_block(display_frame(df), max_width)
    else:
        if split_by not in df.columns:
            raise ValueError(f"split_by column {split_by!r} not in the table; columns: {list(df.columns)}")
        for i, (key, part) in enumerate(df.groupby(split_by, sort=True)):
            out += ([""] if i else []) + [f"### {split_by} = {key}", ""]
            out += _md_block(display_frame(part.drop(columns=split_by).reset_index(drop=True)), max_width)
    return "\n".join(out) + "\n"


# ---- LaTeX ----------------------------------------------------------------------------------------------
_TEX_ESCAPE = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
               "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
               "<": r"\textless{}", ">": r"\textgreater{}",
               # symbols our labels use that pdflatex's default inputenc has no glyph for
               "Δ": r"$\Delta$", "ᵀ": r"$^{\top}$", "²": r"$^{2}$", "×": r"$\times$", "±": r"$\pm$",
               "≥": r"$\geq$", "≤": r"$\leq$", "µ": r"$\mu$", "λ": r"$\lambda$", "≈": r"$\approx$",
               "→": r"$\rightarrow$", "−": "-"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX_ESCAPE))


def tex_escape(s: str) -> str:
    return _TEX_RE.sub(lambda m: _TEX_ESCAPE[m.group()], str(s))


# Where a long identifier (cpu.unpack_cycles_per_weight_w2, a URL) may break inside a p{} column.
_BREAK_AFTER = re.compile(r"(?<=[_./:,=-])(?=[^\s])")


def _tex_wrappable(s: str) -> str:
    return r"\allowbreak{}".join(tex_escape(part) for part in _BREAK_AFTER.split(str(s)))


def _longest_piece(col: pd.Series) -> int:
    return max([1] + [len(piece) for v in col for word in v.split() for piece in _BREAK_AFTER.split(word)])


def _tex_layout(shown: pd.DataFrame) -> tuple[str, list[float | None], bool] | None:
    """Column spec, per-column wrap width in characters (None = no wrap) and whether the float spans both
    columns; None if even wrapping cannot fit the text width."""
    cols = list(shown.columns)
    natural = [max([len(str(c))] + [len(v) for v in shown[c]]) for c in cols]
    numeric = [_is_numeric(shown[c]) for c in cols]
    pad = 2 * TEX_COLSEP_PT
    if sum(n * TEX_CHAR_PT + pad for n in natural) <= TEX_COLUMNWIDTH_PT:
        return "".join("r" if n else "l" for n in numeric), [None] * len(cols), False
    # Wrap the text columns longer than 14 characters into ragged-right p{} columns that share what the
    # unwrapped columns leave; one column if that leaves each its longest word (at least 8 characters), else both.
    pieces = [_longest_piece(pd.concat([pd.Series([str(c)]), shown[c]])) for c in cols]  # header words too
    wrap = [not num and nat > 14 for num, nat in zip(numeric, natural)]
    if not any(wrap):
        if sum(n * TEX_CHAR_PT + pad for n in natural) <= 0.97 * TEX_TEXTWIDTH_PT:
            return "".join("r" if n else "l" for n in numeric), [None] * len(cols), True
        return None
    fixed_pt = sum(n * TEX_CHAR_PT + pad for n, w in zip(natural, wrap) if not w)
    # Each wrapped column gets at least 12 characters (or its longest unbreakable piece) and at most its
    # natural width; the rest of the room is shared in proportion to sqrt(natural width).
    lo = [min(max(8, p + 1), n) * TEX_CHAR_PT if w else 0.0 for n, p, w in zip(natural, pieces, wrap)]
    hi = [n * TEX_CHAR_PT if w else 0.0 for n, w in zip(natural, wrap)]
    for width_pt, wide in ((TEX_COLUMNWIDTH_PT, False), (TEX_TEXTWIDTH_PT, True)):
        room_pt = 0.95 * width_pt - fixed_pt - pad * sum(wrap)
        if room_pt >= sum(lo):
            break
    else:
        return None
    widths = list(lo)
    for _ in range(len(cols)):  # water-filling: columns that reach their natural width stop growing
        spare = room_pt - sum(widths)
        open_ = [i for i, w in enumerate(wrap) if w and widths[i] < hi[i] - 1e-9]
        if spare <= 1e-9 or not open_:
            break
        total = sum(math.sqrt(natural[i]) for i in open_)
        for i in open_:
            widths[i] = min(hi[i], widths[i] + spare * math.sqrt(natural[i]) / total)
    spec, chars = [], []
    for num, w, width in zip(numeric, wrap, widths):
        if not w:
            spec.append("r" if num else "l")
            chars.append(None)
            continue
        spec.append(rf">{{\raggedright\arraybackslash}}p{{{width / width_pt:.3f}\linewidth}}")
        chars.append(width / TEX_CHAR_PT)
    return "".join(spec), chars, wide


def _row_lines(row, chars) -> int:
    return max([1] + [math.ceil(max(len(v), 1) / c) for v, c in zip(row, chars) if c])


def to_latex(df: pd.DataFrame, caption: str = "", label: str = "", split_by: str | None = None) -> str:
    """LaTeX floats for a two-column paper (``\\usepackage{array}``); see the module docstring.

    A part that cannot fit the text width even with its text wrapped is scaled to it (``\\resizebox``).
    """
    if split_by is not None and split_by not in df.columns:
        raise ValueError(f"split_by column {split_by!r} not in the table; columns: {list(df.columns)}")
    groups = [(None, df)] if split_by is None else [(k, g.drop(columns=split_by)) for k, g in
                                                     df.groupby(split_by, sort=True)]
    out = ["% Generated by sail.tables.to_latex; needs \\usepackage{array,graphicx}. A float wider than one column",
           "% is a table* across both columns of a two-column paper; long tables are split into parts.", ""]
    for key, part in groups:
        shown = display_frame(part.reset_index(drop=True))
        notes = [f"{split_by} = {key}"] if key is not None else []
        layout = _tex_layout(shown)
        const = _constant_columns(shown)
        if (layout is None or layout[2]) and const and len(const) < len(shown.columns):
            # Columns equal in every row go into the caption when they would widen the table.
            notes += [f"{c} = {shown[c].iloc[0]}" for c in const]
            shown = shown.drop(columns=const)
            layout = _tex_layout(shown)
        resize = layout is None  # too many unbreakable columns: scale the whole tabular to the text width
        if resize:
            layout = ("".join("r" if _is_numeric(shown[c]) else "l" for c in shown.columns),
                      [None] * len(shown.columns), True)
        spec, chars, wide = layout
        env = "table*" if wide else "table"
        # Split the rows into floats of at most TEX_MAX_LINES printed lines.
        chunks, cur, used = [], [], 0
        for row in shown.itertuples(index=False):
            n = _row_lines(list(row), chars)
            if cur and used + n > TEX_MAX_LINES:
                chunks.append(cur)
                cur, used = [], 0
            cur.append(list(row))
            used += n
        chunks.append(cur)
        for i, rows in enumerate(chunks):
            cap = " ".join(x for x in (caption, "; ".join(notes) + "." if notes else "") if x)
            if len(chunks) > 1:
                cap += f" (part {i + 1} of {len(chunks)})"
            lab = "-".join(x for x in (label, str(key) if key is not None else "",
                                       str(i + 1) if len(chunks) > 1 else "") if x)
            lab = re.sub(r"[^A-Za-z0-9:-]+", "-", lab)
            out += [rf"\begin{{{env}}}[tbp]", r"\centering", r"\footnotesize", r"\setlength{\tabcolsep}{3pt}"]
            if cap:
                out.append(rf"\caption{{{tex_escape(cap)}}}")
            if lab:
                out.append(rf"\label{{tab:{lab}}}")
            if resize:
                out.append(r"\resizebox{\linewidth}{!}{%")
            out += [rf"\begin{{tabular}}{{{spec}}}", r"\hline",
                    " & ".join(rf"\textbf{{{tex_escape(c)}}}" for c in shown.columns) + r" \\", r"\hline"]
            out += [" & ".join(_tex_wrappable(v) if c else tex_escape(v) for v, c in zip(row, chars)) + r" \\"
                    for row in rows]
            out += [r"\hline", r"\end{tabular}"] + (["}"] if resize else []) + [rf"\end{{{env}}}", ""]
    return "\n".join(out)


# ---- HTML -----------------------------------------------------------------------------------------------
_CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;margin:12px;color:#222}
caption{caption-side:top;text-align:left;font-weight:600;padding:4px 0 8px 0;max-width:70em}
table{border-collapse:collapse}th,td{border-bottom:1px solid #ddd;padding:3px 8px;vertical-align:top}
th{background:#f3f3f3;text-align:left;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{max-width:40em}tr:hover td{background:#f7fbff}"""


def to_html(df: pd.DataFrame, caption: str = "", title: str = "") -> str:
    """A standalone HTML page holding the table (numbers right-aligned, long text wrapped)."""
    shown = display_frame(df)
    numeric = {c: _is_numeric(shown[c]) for c in shown.columns}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "\n".join("<tr>" + "".join(f'<td class="{"num" if numeric[c] else "text"}">{html.escape(v)}</td>'
                                     for c, v in zip(shown.columns, row)) + "</tr>"
                     for row in shown.itertuples(index=False))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title or caption)}</title>"
            f"<style>{_CSS}</style></head><body>\n<table>{cap}\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n"
            f"</tbody></table>\n</body></html>\n")
