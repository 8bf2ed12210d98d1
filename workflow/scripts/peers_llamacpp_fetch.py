from sail.io import log_to
from sail.peers import fetch_sdist

with log_to(snakemake.log[0]):
    p = snakemake.params
    fetch_sdist(p.spec, p.sdist_file, p.sha256, snakemake.output[0])
