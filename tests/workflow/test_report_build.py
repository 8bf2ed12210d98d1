"""`snakemake --report` on the quick results: every figure and table of the artifact appears once, in its
category, with its caption, tables as HTML (shown, not downloaded), and no reStructuredText warning.

It needs a finished quick run in this checkout (what `make test` builds before the unit tests) and is skipped
with that reason otherwise. The caption files themselves are checked without Snakemake too.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docutils.core import publish_parts

REPO = Path(__file__).resolve().parents[2]
QUICK = REPO / "results" / "quick" / "figures"
REPORT_DIR = REPO / "workflow" / "report"
RULES = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
FIGURES = sorted(set(re.findall(r'\*\*report_figure\("(\w+)"', RULES)))
TABLES = sorted(set(re.findall(r'\*\*report_table\("(\w+)"', RULES)))


def _caption_html(stem: str) -> tuple[str, str]:
    src = (REPORT_DIR / f"{stem}.rst").read_text().replace('{{ snakemake.config["experiment"] }}', "quick")
    warnings = io.StringIO()
    body = publish_parts(src, writer_name="html", settings_overrides={"warning_stream": warnings,
                                                                      "report_level": 1})["body"]
    return body, warnings.getvalue()


def test_every_figure_and_table_of_the_artifact_is_reported():
    assert {f"fig{i:02d}" for i in range(1, 14)} <= {s[:5] for s in FIGURES}, FIGURES
    assert {f"tab{i:02d}" for i in range(1, 6)} <= {s[:5] for s in TABLES}, TABLES


@pytest.mark.parametrize("stem", ["workflow"] + FIGURES + TABLES)
def test_caption_is_valid_restructuredtext(stem):
    _, warnings = _caption_html(stem)
    assert not warnings, f"{stem}.rst: {warnings}"


def _var(html: str, name: str) -> dict:
    """A JSON object the report's page scripts read (``var results = {...};``, ``var categories = ...``)."""
    m = re.search(r"var %s =\s+(\{.*?\});\s*\n" % name, html, re.S)
    assert m, f"no `var {name} = {{...}}` in the report"
    return json.loads(m.group(1))


@pytest.mark.skipif(not (QUICK / "tab04_claims.html").exists(),
                    reason=f"no finished quick run with HTML tables in {QUICK} (make test builds it)")
def test_report_of_the_quick_run_shows_every_figure_and_table_with_its_caption(tmp_path):
    out = tmp_path / "report.html"
    proc = subprocess.run([str(Path(sys.executable).parent / "snakemake"), "--cores", "1", "--config",
                           "experiment=quick", "--report", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "System Message" not in out.read_text()  # docutils' inline error box of a bad caption
    html = out.read_text()
    results, categories = _var(html, "results"), _var(html, "categories")
    category = {path: cat for cat, subs in categories.items() for paths in subs.values() for path in paths}
    by_name = {}
    for path, rec in results.items():
        by_name.setdefault(Path(rec["name"]).name, []).append({**rec, "category": category.get(path)})
    for stem in FIGURES:
        recs = by_name.get(f"{stem}.png", [])
        assert len(recs) == 1, f"{stem}.png in the report {len(recs)} times"
        assert recs[0]["category"] == "Figures", recs[0]["category"]
        assert not any(f"{stem}.pdf" == n for n in by_name), f"{stem} reported twice (pdf and png)"
    for stem in TABLES:
        forms = [n for n in by_name if n.startswith(f"{stem}.")]
        assert forms == [f"{stem}.html"], f"{stem}: reported as {forms}, want only the HTML table"
        rec = by_name[f"{stem}.html"][0]
        assert rec["category"] == "Tables" and rec["mime_type"] == "text/html"
        page = base64.b64decode(rec["data_uri"].split("base64,", 1)[1]).decode()
        assert page.count("<table>") == 1 and "<td" in page
    for stem in FIGURES + TABLES:
        name = f"{stem}.png" if stem in FIGURES else f"{stem}.html"
        caption = by_name[name][0]["caption"]
        first_words = re.sub(r"<[^>]+>", "", _caption_html(stem)[0]).split()[:6]
        assert " ".join(first_words) in re.sub(r"<[^>]+>", "", caption).replace("\n", " "), (stem, caption[:200])
