"""tab03_accuracy: every perplexity row of the quant stage in one table (plus a timing CSV)."""

import json

from sail.io import log_to, report_table_paths, write_table

with log_to(snakemake.log[0]) as log:
    from sail.quant.report import accuracy_table, write_tab03

    ref = json.load(open(snakemake.input.reference))
    rows = [json.load(open(f)) for f in sorted(snakemake.input.rows)]
    mixed = json.load(open(snakemake.input.mixed))
    table, timing = accuracy_table(ref, rows, mixed, default_damp=snakemake.params.damp)
    write_tab03(table, report_table_paths(snakemake.output), caption=snakemake.params.caption)
    write_table(timing, snakemake.output.timing)
    log.info("tab03: %d rows; mean %.1f tokens/s", len(table), timing["tokens_per_s"].mean())
