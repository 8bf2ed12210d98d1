"""GPTQ perplexity at several damping fractions (the sweep's rows and the default-damping rows)."""

import json

import pandas as pd

from sail.io import log_to, write_table

with log_to(snakemake.log[0]) as log:
    rows = [json.load(open(f)) for f in snakemake.input.rows]
    cols = ["method", "w_bits", "group_size", "damp", "sequential", "act_order", "ppl", "n_tokens",
            "n_layers_worse_than_rtn"]
    table = pd.DataFrame([{c: r.get(c) for c in cols} for r in rows]).sort_values(["w_bits", "group_size", "damp"])
    write_table(table, snakemake.output[0])
    log.info("damping sweep:\n%s", table.to_string(index=False))
