"""What the model says about in-memory type conversion: findings.csv and the type_conversion claim row."""

from sail.claims import write_claim
from sail.io import log, log_to, read_table, write_table
from sail.sim import load_hw
from sail.sim.experiments import type_conversion_findings

with log_to(snakemake.log[0]):
    findings, claim = type_conversion_findings(
        read_table(snakemake.input.type_conversion), read_table(snakemake.input.ablation), load_hw(snakemake.input.hw)
    )
    for f in findings.finding:
        log.info("finding: %s", f)
    write_table(findings, snakemake.output.findings)
    write_claim(claim, snakemake.output.claim)
