from sail.io import log_to, set_threads, write_json
from sail.model import model_card

with log_to(snakemake.log[0]):
    set_threads(snakemake.threads)
    p = snakemake.params
    write_json(model_card(snakemake.input.gguf, p.prompt, p.max_new_tokens), snakemake.output.card)
