"""fig07's plotting function draws what the cost table holds and refuses an empty selection."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from sail.cost import SystemPrice, cost_table
from sail.plots.cost import plot_cost, select_rows

SYSTEMS = [SystemPrice("cpu", "m6g.16xlarge", hw="graviton2"), SystemPrice("sail", "m6g.16xlarge", True),
           SystemPrice("v100", "p3.2xlarge")]


@pytest.fixture
def cost(decode, prices):
    return cost_table(decode, prices, SYSTEMS, 0.02)


def test_select_rows_keeps_the_v100_best_precision(cost):
    rows = select_rows(cost, {"w_bits": [4]})
    assert set(rows.loc[rows.system != "v100", "w_bits"]) == {4}
    gpu = rows[rows.system == "v100"]
    assert len(gpu) == gpu[["model", "batch", "context"]].drop_duplicates().shape[0]
    with pytest.raises(ValueError, match="leaves no SAIL"):
        select_rows(cost, {"w_bits": [7]})
    with pytest.raises(ValueError, match="unknown column"):
        select_rows(cost, {"bits": [4]})


def test_plot_cost_draws_the_table_values(cost):
    fig = plot_cost(cost, {"w_bits": [2]})
    axes = np.array(fig.axes).reshape(2, -1)
    assert axes.shape == (2, cost["model"].nunique())
    # every tokens/$ point drawn is a value of the cost table (no number the code did not compute)
    drawn = np.concatenate([line.get_ydata() for ax in axes[1] for line in ax.get_lines()])
    assert np.isin(np.round(drawn, 6), np.round(cost["tokens_per_dollar"].to_numpy(), 6)).all()
    plt.close(fig)
