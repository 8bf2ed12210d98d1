"""One look for every figure: readable in print (single column ~3.4 in, double ~7 in), colour-blind safe."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # figures are written by headless jobs; notebooks may switch back
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from sail.io import atomic_path  # noqa: E402

SINGLE_COLUMN_IN = 3.4
DOUBLE_COLUMN_IN = 7.0
MODEL_CAVEAT = ("SmolLM2-135M weights are Q4_1 in their GGUF; the fp32 reference is that dequantised model.")


def apply_style() -> None:
    sns.set_theme(context="paper", style="whitegrid", palette="colorblind", font_scale=1.0)
    plt.rcParams.update({
        "figure.dpi": 150,
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
        "pdf.fonttype": 42,  # embed TrueType so PDFs pass conference checks
        "axes.titlesize": 9,
        "axes.labelsize": 8,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "legend.fontsize": 7,
    })


def save_figure(fig, pdf: str | os.PathLike, png: str | os.PathLike) -> None:
    """Save ``fig`` as PDF and PNG atomically, with fixed metadata so reruns give identical PDFs."""
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, metadata={"CreationDate": None, "ModDate": None, "Producer": None})
    with atomic_path(png) as tmp:
        fig.savefig(tmp, metadata={"Software": None})
