"""Every figure and table rule puts its output into the Snakemake report with a caption that exists.

A static check of workflow/rules/*.smk (no Snakemake run), so it also holds the stages merged later
to the convention: a rule named figNN_* or tabNN_* wraps an output in report(..., caption=...).
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.S | re.M)


def _figure_rules():
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for name, body in RULE.findall(smk.read_text()):
            if re.fullmatch(r"(fig|tab)\d\d_\w+", name):
                yield smk.name, name, body


def test_every_figure_and_table_rule_is_in_the_report_with_a_caption():
    rules = list(_figure_rules())
    assert any(name == "fig07_cost" for _, name, _ in rules)  # the check sees at least this stage's rules
    for smk, name, body in rules:
        # the helpers of common.smk: the figure's PNG under "Figures", the table's HTML under "Tables"
        helper = re.search(r'\*\*report_(figure|table)\("(\w+)"', body)
        if helper:
            assert helper.group(2) == name, f"{smk}: rule {name} reports {helper.group(2)}"
            assert (REPO / "workflow" / "report" / f"{name}.rst").exists(), f"{smk}: {name}: caption missing"
            continue
        assert "report(" in body, f"{smk}: rule {name} does not wrap its output in report()"
        # report(..., caption="../report/<stem>.rst"); a params `caption=` (the table's own title) is not one
        captions = re.findall(r'caption="([^"]+\.rst)"', body)
        assert captions, f"{smk}: rule {name} has no caption"
        for cap in captions:
            assert (REPO / "workflow" / "rules" / cap).resolve().exists(), f"{smk}: {name}: caption {cap} missing"
