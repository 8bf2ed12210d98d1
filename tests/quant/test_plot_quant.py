import numpy as np
import pandas as pd

from sail.plots.quant import TYPE_ORDER, _grid, plot_mixed_precision


def synthetic():
    rows, asg = [], []
    for blk in range(3):
        for t in TYPE_ORDER:
            name = f"blocks.{blk}.x.{t}"
            for b in (2, 3, 4):
                rows.append({"layer": name, "block": blk, "type": t, "n_params": 10, "w_bits": b,
                             "error_hessian": 10.0 ** (-b + blk), "error_fisher": 10.0 ** (-b - blk)})
            for budget in (2.5, 3.0, 3.5):
                asg.append({"sensitivity": "fisher", "budget": budget, "layer": name, "w_bits": 2 + blk % 3})
                asg.append({"sensitivity": "hessian", "budget": budget, "layer": name, "w_bits": 2})
    table = pd.DataFrame({
        "row": ["reference", "RTN W2 group 32", "RTN W3 group 32", "GPTQ W2 group 32", "GPTQ W3 group 32",
                "GPTQ W4 group 32", "GPTQ W4 group 32 + A8", "mixed 3.0 bits, Fisher",
                "mixed 3.0 bits, proxy"],
        "method": ["fp32 (dequantised Q4_1)", "RTN", "RTN", "GPTQ (sequential, act-order)",
                   "GPTQ (sequential, act-order)", "GPTQ (sequential, act-order)", "GPTQ (sequential, act-order)",
                   "GPTQ mixed precision", "GPTQ mixed precision"],
        "group_size": [np.nan, "32", "32", "32", "32", "32", "32", "32", "32"],
        "a_bits": [np.nan] * 6 + ["8", np.nan, np.nan],
        "avg_w_bits": [np.nan, 2.0, 3.0, 2.0, 3.0, 4.0, 4.0, 3.0, 3.0],
        "ppl": [20.0, 900.0, 60.0, 80.0, 30.0, 21.0, 22.0, 27.0, 50.0],
    })
    return pd.DataFrame(rows), pd.DataFrame(asg), table


def test_grid_places_values_by_type_and_block():
    sens, _, _ = synthetic()
    g = _grid(sens[sens["w_bits"] == 2], "error_hessian")
    assert g.shape == (7, 3)
    np.testing.assert_allclose(g[:, 2], 10.0 ** (-2 + 2))


def test_plot_draws_uniform_and_mixed_points(tmp_path):
    fig = plot_mixed_precision(*synthetic())
    ax = fig.axes[4]  # (a) + colourbar, (b) + colourbar, then (c)
    lines = {l.get_label(): l for l in ax.get_lines()}
    np.testing.assert_allclose(lines["uniform GPTQ"].get_ydata(), [80.0, 30.0, 21.0])  # not the +A8 row
    np.testing.assert_allclose(lines["uniform RTN"].get_ydata(), [900.0, 60.0])
    np.testing.assert_allclose(lines["mixed, Fisher"].get_ydata(), [27.0])
    np.testing.assert_allclose(lines["mixed, tr(ΔW H ΔWᵀ)"].get_ydata(), [50.0])
    titles = [a.get_title() for a in fig.axes]
    assert sum("budget" in t for t in titles) == 3
