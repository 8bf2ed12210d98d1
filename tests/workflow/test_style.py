"""The shared figure style (sail.plots.style) and the figures drawn to it: colour-blind-safe palette of at most
8 hues per panel, print-readable text at one column width, no backend forced on notebooks."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from sail.plots import style
from sail.plots.style import MAX_HUES, MIN_FONT_PT, PALETTE, color, hues_per_axes, smallest_font_pt

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "results" / "quick"
# Okabe & Ito (2008), "Color Universal Design": the eight colours, any order.
OKABE_ITO = {"#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"}


def test_palette_is_okabe_ito_with_eight_hues_and_is_the_default_cycle():
    assert {c.lower() for c in PALETTE} == OKABE_ITO and MAX_HUES == 8
    style.apply_style()
    assert [c.lower() for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]] == [c.lower() for c in PALETTE]
    assert plt.rcParams["legend.fontsize"] >= MIN_FONT_PT and plt.rcParams["xtick.labelsize"] >= MIN_FONT_PT


def test_a_ninth_hue_is_an_error_not_a_repeat():
    assert color(7) == PALETTE[7]
    with pytest.raises(ValueError, match="split the panel"):
        color(8)


def test_importing_the_style_leaves_the_backend_alone():
    before = matplotlib.get_backend()
    import importlib

    importlib.reload(style)
    assert matplotlib.get_backend() == before


def test_hue_and_font_counters_see_what_a_figure_draws():
    style.apply_style()
    fig, ax = plt.subplots()
    for i in range(3):
        ax.plot([0, 1], [i, i], color=color(i))
    ax.axhline(0.5, color="k")  # reference lines in black/grey do not count as hues
    ax.set_title("t", fontsize=5)
    assert hues_per_axes(fig) == [3] and smallest_font_pt(fig) == 5
    plt.close(fig)


def _check(fig, name):
    assert max(hues_per_axes(fig)) <= MAX_HUES, f"{name}: {hues_per_axes(fig)} hues per panel"
    assert smallest_font_pt(fig) >= MIN_FONT_PT, f"{name}: text at {smallest_font_pt(fig)} pt"
    plt.close(fig)


def test_fig02_lut_example_is_print_readable():
    from sail.kernels.example import lut_example
    from sail.plots.kernels import plot_lut_example

    _check(plot_lut_example(lut_example(w_bits=2, a_bits=4, n_bw=2, m=2, k=4, seed=0)), "fig02")


def test_fig08_keeps_eight_hues_with_many_cpu_baselines():
    from sail.plots.sim import plot_pim_compare
    from sail.sim import load_hw
    from sail.sim.experiments import decode_table, workload_grid

    names = ["bfree", "dram_pim", "graviton2", "graviton3", "graviton4", "altra_max", "neural_cache", "sail", "v100"]
    hws = [load_hw(REPO / "config" / "hw" / f"{n}.yaml") for n in names if (REPO / "config" / "hw" / f"{n}.yaml").exists()]
    decode = decode_table(hws, workload_grid(["llama2-7b"], [4], [8], [1, 8], [512]), None, 128)
    assert decode.hw.nunique() > MAX_HUES - 2  # enough systems that one hue each would not be safe
    fig = plot_pim_compare(decode, "llama2-7b", 4, 512)
    legend = fig.axes[0].get_legend()
    assert legend is not None and len(legend.get_texts()) == decode.hw.nunique()
    _check(fig, "fig08")


@pytest.mark.skipif(not (QUICK / "sim" / "prt_saving.csv").exists(), reason="needs the quick run's profile tables")
def test_fig03_patterns_legend_of_f_is_off_the_data():
    from sail.plots.profile import plot_patterns

    tables = [pd.read_csv(QUICK / p) for p in ("profile/planes.csv", "profile/prt_hits.csv",
                                               "profile/distinct.csv", "sim/prt_saving.csv")]
    fig = plot_patterns(*tables, n_bw=4, a_bits=8, batch=8)
    ax = fig.axes[5]
    fig.canvas.draw()
    legend_box = ax.get_legend().get_window_extent()
    assert legend_box.y1 <= ax.get_window_extent().y0, "fig03(f)'s legend overlaps the axes"
    _check(fig, "fig03")
