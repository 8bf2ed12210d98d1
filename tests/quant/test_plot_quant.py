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
                             "error": 10.0 ** (-b + blk)})
            asg.append({"budget": 3.0, "layer": name, "w_bits": 2 + blk % 3})
    table = pd.DataFrame({
        "row": ["reference", "gptq W2 g32", "gptq W3 g32", "gptq W4 g32", "mixed gptq 3 bits"],
        "method": ["fp32 (dequantised Q4_1)", "gptq", "gptq", "gptq", "gptq mixed"],
        "group_size": [np.nan, "32", "32", "32", "32"],
        "avg_w_bits": [np.nan, 2.0, 3.0, 4.0, 3.0],
        "ppl": [20.0, 80.0, 30.0, 21.0, 27.0],
    })
    return pd.DataFrame(rows), pd.DataFrame(asg), table


def test_grid_places_values_by_type_and_block():
    sens, _, _ = synthetic()
    g = _grid(sens[sens["w_bits"] == 2], "error")
    assert g.shape == (7, 3)
    np.testing.assert_allclose(g[:, 2], 10.0 ** (-2 + 2))


def test_plot_draws_uniform_and_mixed_points(tmp_path):
    fig = plot_mixed_precision(*synthetic())
    ax = fig.axes[2]
    lines = {l.get_label(): l for l in ax.get_lines()}
    np.testing.assert_allclose(lines["uniform gptq g32"].get_ydata(), [80.0, 30.0, 21.0])
    np.testing.assert_allclose(lines["mixed gptq g32"].get_xdata(), [3.0])
