"""One look for every figure: readable in print at one column width, colour-blind safe, <= 8 hues.

* Sizes: a figure drawn at :data:`SINGLE_COLUMN_IN` (3.4 in, one column of a two-column paper) or
  :data:`DOUBLE_COLUMN_IN` (7 in) is printed at 100 %, so font sizes here are the printed sizes.
  Nothing in a figure should be smaller than :data:`MIN_FONT_PT`.
* Colours: :data:`PALETTE` is the Okabe-Ito palette (Okabe & Ito, "Color Universal Design", 2008,
  https://jfly.uni-koeln.de/color/), safe for the common colour-vision deficiencies and distinct in
  greyscale for its first four entries. It has 8 hues; a panel needing more series must split into
  panels or vary line style / marker (:data:`LINESTYLES`, :data:`MARKERS`), never repeat a hue for a
  different meaning. :func:`hues_per_axes` counts what a figure uses (for tests).
* Backend: this module does not choose one. Notebooks opened in JupyterLab use the inline backend
  and show every figure; the pipeline runs its notebook jobs with ``MPLBACKEND=Agg``
  (``workflow/rules/common.smk``).
"""

from __future__ import annotations

import os

import matplotlib as mpl
import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib.colors import to_hex

from sail.io import atomic_path

SINGLE_COLUMN_IN = 3.4
DOUBLE_COLUMN_IN = 7.0
MIN_FONT_PT = 6.0
MODEL_CAVEAT = ("SmolLM2-135M weights are Q4_1 in their GGUF; the fp32 reference is that dequantised model.")

# Okabe-Ito, ordered so the first hues stay apart in greyscale and in print; yellow (weak on white
# paper) and black (kept for reference lines such as the paper's value) come last.
PALETTE = [
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow
    "#000000",  # black
]
MAX_HUES = len(PALETTE)
LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
# Reference lines (paper value, bounds) are drawn in this grey, which is not one of the hues.
REFERENCE_GREY = "#666666"


def color(i: int) -> str:
    """The ``i``-th palette hue; ValueError past the 8th (split the panel instead of recycling hues)."""
    if not 0 <= i < MAX_HUES:
        raise ValueError(f"palette index {i} out of range 0..{MAX_HUES - 1}: split the panel or vary line style")
    return PALETTE[i]


def apply_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, font_scale=1.0)
    plt.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "figure.dpi": 150,
        "savefig.dpi": 300,
        "savefig.bbox": "tight",
        "pdf.fonttype": 42,  # embed TrueType so PDFs pass conference checks
        "ps.fonttype": 42,
        "font.size": 8,
        "axes.titlesize": 8,
        "axes.labelsize": 8,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "legend.fontsize": 7,
        "legend.title_fontsize": 7,
        "legend.framealpha": 0.9,
        "lines.linewidth": 1.2,
        "lines.markersize": 3.5,
        "axes.linewidth": 0.6,
        "grid.linewidth": 0.4,
    })


def hues_per_axes(fig) -> list[int]:
    """Number of distinct palette hues drawn (lines, markers, bars, fills) in each axes of ``fig``.

    Black, greys and white do not count: they are for reference lines and text.
    """
    out = []
    for ax in fig.axes:
        seen = set()
        artists = list(ax.lines) + list(ax.patches) + list(ax.collections)
        for a in artists:
            cols = []
            for getter in ("get_color", "get_facecolor", "get_edgecolor"):
                if hasattr(a, getter):
                    c = getattr(a, getter)()
                    cols += list(c) if getattr(c, "ndim", 0) == 2 else [c]
            for c in cols:
                try:
                    h = to_hex(c).lower()
                except (ValueError, TypeError):
                    continue
                r, g, b = (int(h[i:i + 2], 16) for i in (1, 3, 5))
                if max(r, g, b) - min(r, g, b) > 16:  # not black, grey or white
                    seen.add(h)
        out.append(len(seen))
    return out


def smallest_font_pt(fig) -> float:
    """The smallest font size (points) of any visible text in ``fig`` (titles, labels, ticks, legends)."""
    sizes = [t.get_fontsize() for t in fig.findobj(mpl.text.Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) if sizes else float("inf")


def save_figure(fig, pdf: str | os.PathLike | None, png: str | os.PathLike | None) -> None:
    """Save ``fig`` as PDF and PNG atomically, with fixed metadata so reruns give identical PDFs.

    A path of ``None`` is skipped: notebooks run by hand write nothing unless asked
    (:func:`sail.plots.notebook.notebook_paths`); the inline backend shows the figure regardless.
    """
    if pdf is not None:
        with atomic_path(pdf) as tmp:
            fig.savefig(tmp, metadata={"CreationDate": None, "ModDate": None, "Producer": None})
    if png is not None:
        with atomic_path(png) as tmp:
            fig.savefig(tmp, metadata={"Software": None})
