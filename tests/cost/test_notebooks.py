"""The cost stage's notebooks run top to bottom headless with their defaults (nbclient), started
in ``notebooks/`` as JupyterLab starts them.

The exploration notebook re-runs ``sail.sim.simulate``: once against a stub with a known answer
(``load_hw``, ``simulate(...) -> .tokens_per_s, .breakdown_s``), so its arithmetic is checked, and
once against the real simulator.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
EXPLORE = REPO / "notebooks" / "explore_sail.py.ipynb"

STUB = '''
# injected parameters (papermill style): explicit values instead of reading the simulator's hw/area model
DEFAULTS.update(arrays_per_slice=16, overhead_fraction=0.02)
import types, sail.sim
def _load_hw(path):
    return {"path": path}
def _simulate(hw, model, w_bits, a_bits, batch, context, overrides=None):
    arrays = (overrides or {}).get(ARRAYS_KEY, 1)
    fast = "sail" in hw["path"]
    t = (100.0 * arrays ** 0.5 if fast else 20.0) * batch / w_bits
    return types.SimpleNamespace(tokens_per_s=t, breakdown_s={"lookup_s": 0.6 / t, "dram_s": 0.4 / t})
sail.sim.load_hw, sail.sim.simulate = _load_hw, _simulate
'''


def _run(nb):
    # the kernel starts in notebooks/, as in JupyterLab: the notebook must find the repository root itself
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    return nb


def _outputs(nb):
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_committed_notebooks_are_stripped_and_carry_language_info():
    for path in sorted((REPO / "notebooks").glob("*.py.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata["language_info"]["name"] == "python", path
        assert nb.metadata["kernelspec"]["name"] == "python3", path
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs"


def test_explore_notebook_runs_headless_against_the_simulator_api_stub():
    nb = nbformat.read(EXPLORE, as_version=4)
    params = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert params, "explore notebook needs a papermill `parameters` cell"
    # the stub goes right after the parameters (it reads ARRAYS_KEY), before the notebook imports simulate
    nb.cells.insert(params[0] + 1, nbformat.v4.new_code_cell(STUB))
    out = _outputs(_run(nb))
    # stub at defaults: SAIL 100*4*1/4 = 100 tok/s, CPU 20/4 = 5 tok/s -> speedup 20, TPD ratio 20/1.02
    assert "speedup 20x, tokens-per-dollar ratio 19.6x" in out


def test_explore_notebook_runs_headless_with_the_real_simulator():
    out = _outputs(_run(nbformat.read(EXPLORE, as_version=4)))
    assert "speedup" in out and "tokens-per-dollar ratio" in out


QUICK_TAB04 = REPO / "results" / "quick" / "figures" / "tab04_claims.csv"


@pytest.mark.skipif(not QUICK_TAB04.exists(), reason=f"{QUICK_TAB04} absent (run the quick pipeline first; make test does)")
def test_tab04_notebook_shows_the_quick_table_by_hand():
    nb = _run(nbformat.read(REPO / "notebooks" / "tab04_claims.py.ipynb", as_version=4))
    shown = "".join(str(o.get("text", "")) + str(o.get("data", ""))
                    for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "speedup_cpu" in shown and "arbitrary_precision" in shown
