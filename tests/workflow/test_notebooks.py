"""Notebooks: each figure notebook run by a rule, and runnable by hand from notebooks/ (stripped: tests/cost)."""

import json
import os
import re
from pathlib import Path

import pytest

from sail.io import to_repo_root

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_resolves_its_defaults_from_the_repository_root(path):
    # run by hand, JupyterLab starts the kernel in notebooks/: the defaults must not depend on that
    src = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    assert ("to_repo_root()" in src or "notebook_paths(" in src) and "../results" not in src, path.name


def test_every_figure_notebook_is_run_by_a_rule():
    rules = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    used = set(re.findall(r"\.\./\.\./notebooks/([\w.]+\.ipynb)", rules))  # notebook: directives, not logs
    figure_notebooks = {p.name for p in NOTEBOOKS if p.name.startswith("fig")}
    assert figure_notebooks - used == set()  # tab04's notebook is a view of the table a script writes
    assert used <= {p.name for p in NOTEBOOKS}


def test_to_repo_root_walks_up_to_the_snakefile(tmp_path, monkeypatch):
    (tmp_path / "Snakefile").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert to_repo_root() == tmp_path.resolve()
    assert Path(os.getcwd()).resolve() == tmp_path.resolve()


def test_to_repo_root_outside_a_repository_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="no Snakefile"):
        to_repo_root()
