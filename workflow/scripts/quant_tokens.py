"""Tokenise one novel with the model's own tokenizer once, for every perplexity/calibration job."""

import numpy as np

from sail.contracts.inputs import read_corpus_text
from sail.io import atomic_path, log_to

with log_to(snakemake.log[0]) as log:
    from sail.model import load_tokenizer

    tok = load_tokenizer(snakemake.input.gguf)
    ids = np.asarray(tok.encode(read_corpus_text(snakemake.input.text)), dtype=np.int32)
    log.info("%s: %d tokens", snakemake.input.text, ids.size)
    with atomic_path(snakemake.output[0]) as tmp:
        np.save(tmp, ids)
