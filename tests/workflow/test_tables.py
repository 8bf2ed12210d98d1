"""The reading forms of the result tables (sail.tables): readable Markdown, LaTeX that compiles in a
two-column paper, HTML for the report.

The LaTeX test compiles tab01/tab02/tab05 (made here from config/hw, no pipeline needed) and every
.tex table of results/quick/figures when present, inside a two-column article with only
``\\usepackage{array,graphicx}``, and fails on an error, an overfull line of more than 1 pt or a float too large
for the page. It needs a LaTeX engine (Debian: ``apt-get install texlive-latex-base``) and is skipped
with that reason where none is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from sail.io import write_report_table
from sail.tables import MD_MAX_WIDTH, format_cell, to_html, to_latex, to_markdown

REPO = Path(__file__).resolve().parents[2]
QUICK_FIGURES = REPO / "results" / "quick" / "figures"
LATEX = shutil.which("pdflatex") or shutil.which("latex")


def _paper_tables(dest: Path) -> list[Path]:
    """tab01, tab02 and tab05 as the sim stage writes them, from the repository's hardware files."""
    from sail.sim import load_hw
    from sail.sim.area import area_breakdown
    from sail.sim.experiments import hardware_table, workloads_table

    hws = sorted((REPO / "config" / "hw").glob("*.yaml"))
    out = []
    for stem, df, kw in [
        ("tab01_hardware", hardware_table([load_hw(p) for p in hws]), {"split_by": "hw"}),
        ("tab02_workloads", workloads_table(["llama2-7b", "llama2-13b", "smollm2-135m"], [1, 2, 3, 4, 8], [4, 8],
                                            [1, 8, 64], [128, 512, 2048], 128), {}),
        ("tab05_area", area_breakdown(load_hw(REPO / "config" / "hw" / "sail.yaml")), {}),
    ]:
        paths = {ext: dest / f"{stem}.{ext}" for ext in ("csv", "md", "tex", "html")}
        write_report_table(df, paths, caption=f"{stem} as written by the sim stage.", **kw)
        out.append(paths["tex"])
    return out


def test_cells_print_integers_as_integers_and_other_numbers_with_four_digits():
    assert [format_cell(v) for v in (4096.0, 4096, 0.03125, 1442.841, float("nan"), None, "2,4", True)] == \
        ["4096", "4096", "0.03125", "1443", "", "", "2,4", "True"]


def test_markdown_stays_within_the_width_and_keeps_every_text(tmp_path):
    for tex in _paper_tables(tmp_path):
        md = tex.with_suffix(".md").read_text()
        assert max(map(len, md.splitlines())) <= MD_MAX_WIDTH, tex.stem
        cells = [c.strip() for line in md.splitlines() if line.startswith("|") for c in line.split("|")]
        assert not [c for c in cells if re.fullmatch(r"-?\d+\.0", c)], f"{tex.stem}: an integer printed as a float"
    df = pd.DataFrame({"key": ["a", "b"], "source": ["x " * 80, "y " * 80]})
    md = to_markdown(df, max_width=60)
    assert max(map(len, md.splitlines())) <= 60
    assert "[1]" in md and "[2]" in md and md.count("x") == 80  # the long text moved into notes, not cut


def test_tab01_splits_per_hardware_description(tmp_path):
    _paper_tables(tmp_path)
    md = (tmp_path / "tab01_hardware.md").read_text()
    tex = (tmp_path / "tab01_hardware.tex").read_text()
    for hw in ("graviton2", "sail", "v100"):
        assert f"### hw = {hw}" in md
        assert f"hw = {hw}" in tex
    assert "lllllll" not in tex


def test_html_is_one_escaped_table_page():
    page = to_html(pd.DataFrame({"a": [1.0, 2.5], "b": ["<x>", "y"]}), caption="c & d")
    assert page.count("<table>") == 1 and "&lt;x&gt;" in page and "c &amp; d" in page and ">1<" in page


def test_latex_rejects_an_unknown_split_column():
    with pytest.raises(ValueError, match="nope"):
        to_latex(pd.DataFrame({"a": [1]}), split_by="nope")


@pytest.mark.skipif(LATEX is None, reason="no LaTeX engine on PATH (Debian: apt-get install texlive-latex-base)")
def test_latex_tables_compile_in_a_two_column_paper(tmp_path):
    tables = _paper_tables(tmp_path)
    if QUICK_FIGURES.exists():
        for tex in sorted(QUICK_FIGURES.glob("tab*.tex")):
            tables.append(Path(shutil.copy(tex, tmp_path / f"quick_{tex.name}")))
    doc = tmp_path / "paper.tex"
    doc.write_text("\\documentclass[twocolumn]{article}\n\\usepackage{array,graphicx}\n\\begin{document}\n"
                   + "".join(f"\\input{{{t.name}}}\n\\clearpage\n" for t in tables) + "\\end{document}\n")
    proc = subprocess.run([LATEX, "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    log = (tmp_path / "paper.log").read_text(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    overfull = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert not [x for x in overfull if x > 1.0], f"lines too wide (pt): {overfull}"
    assert "Float too large" not in log
    assert len(tables) >= 3
