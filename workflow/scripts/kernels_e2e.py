"""SmolLM2 with every linear layer computed by the weight-LUT vs the integer reference (W x A8)."""

import numpy as np
import pandas as pd

from sail.contracts.inputs import read_corpus_text
from sail.io import log_to, set_threads, write_table

with log_to(snakemake.log[0]) as log:
    set_threads(snakemake.threads)
    from sail.kernels.e2e import run_e2e
    from sail.model import load_model, load_tokenizer

    p = snakemake.params.e2e
    model = load_model(snakemake.input.gguf)
    tok = load_tokenizer(snakemake.input.gguf)
    ids = np.asarray(tok.encode(read_corpus_text(snakemake.input.text, max_chars=50 * p["window"])))
    rows = run_e2e(model, tok, ids, p["w_bits"], p["a_bits"], p["n_bw"], p["group_size"], p["window"], p["prompt"],
                   p["max_new_tokens"])
    write_table(pd.DataFrame(rows), snakemake.output[0])
    log.info("all identical: %s", all(r["logits_identical"] and r["accumulators_identical"] for r in rows))
