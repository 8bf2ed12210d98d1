# SAIL artifact: model -> quantisation -> activation profiling -> LUT-GEMV kernels
#                -> PIM simulation -> cost analysis -> figures, tables and the report.
# Read it as a table of contents; decisions live in workflow/rules/common.smk, work in lib/sail.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


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
