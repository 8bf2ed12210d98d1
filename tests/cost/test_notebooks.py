"""The cost stage's notebooks run top to bottom headless with their defaults (nbclient), started
in ``notebooks/`` as JupyterLab starts them.

The exploration notebook's arithmetic (``sail.plots.explore``) is checked against a stub simulator in
tests/workflow/test_explore.py; every notebook, the explorer included, is run by hand against the quick
results in tests/workflow/test_notebooks_by_hand.py.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]


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


QUICK_TAB04 = REPO / "results" / "quick" / "figures" / "tab04_claims.csv"


@pytest.mark.skipif(not QUICK_TAB04.exists(), reason=f"{QUICK_TAB04} absent (run the quick pipeline first; make test does)")
def test_tab04_notebook_shows_the_quick_table_by_hand():
    nb = _run(nbformat.read(REPO / "notebooks" / "tab04_claims.py.ipynb", as_version=4))
    shown = "".join(str(o.get("text", "")) + str(o.get("data", ""))
                    for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "speedup_cpu" in shown and "arbitrary_precision" in shown
