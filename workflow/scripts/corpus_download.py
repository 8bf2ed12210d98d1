from sail.corpus import download_deb
from sail.io import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    download_deb(p.package, p.version, p.sha256, snakemake.output[0])
