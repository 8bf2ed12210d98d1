# SAIL artifact: model -> quantisation -> activation profiling -> LUT-GEMV kernels
#                -> PIM simulation -> cost analysis -> figures, tables and the report.
# Read it as a table of contents; decisions live in workflow/rules/common.smk, work in lib/sail.
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

# `validate` imports jsonschema, which imports the optional rfc3987_syntax package when installed
# (jupyter-events pulls it in): it compiles 38 lark grammars, 1.7 s of CPU at every snakemake start
# (the test suite starts snakemake dozens of times). It only checks the "iri" string formats, which
# our schemas do not use; marked absent here, jsonschema skips those formats.
sys.modules.setdefault("rfc3987_syntax", None)

# Notebook jobs (nbconvert) talk to their kernel over Unix sockets instead of TCP ports: no port
# race between two jobs starting at once, and no "running over TCP without encryption" warning per
# notebook on the console (workflow/jupyter/jupyter_nbconvert_config.py).
from sail.io import add_jupyter_config

add_jupyter_config(Path(workflow.basedir) / "workflow" / "jupyter")

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")
# Cross-field rules (group sizes divide K, price instances exist, hardware descriptions load
# strictly, ...) checked once, before any job; jobs re-parse this file and skip it.
if workflow.is_main_process:
    from sail.contracts.config import check_config

    check_config(config, workflow.basedir)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/peers.smk"
include: "workflow/rules/quant.smk"
include: "workflow/rules/profile.smk"
include: "workflow/rules/kernels.smk"
include: "workflow/rules/sim.smk"
include: "workflow/rules/cost.smk"
include: "workflow/rules/validate.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
