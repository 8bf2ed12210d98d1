# Rules of the corpus stage (lib/sail/corpus.py). The extracted novels are committed under
# data/corpus/ and read from there; these rules regenerate them from the Debian package and check
# that the result is identical (`snakemake --cores 1 corpus_regenerate`). Not part of `all`,
# because it needs apt-get (Debian/Ubuntu).


rule corpus_download:
    output:
        deb_file(),
    log:
        "logs/corpus/download.log",
    conda:
        CONDA_ENV
    params:
        package=config["corpus"]["deb_package"],
        version=config["corpus"]["deb_version"],
        sha256=config["corpus"]["deb_sha256"],
    script:
        "../scripts/corpus_download.py"


rule corpus_regenerate:
    input:
        deb=deb_file(),
        committed="data/corpus/PROVENANCE.json",
    output:
        provenance="resources/corpus/extracted/PROVENANCE.json",
    log:
        "logs/corpus/regenerate.log",
    conda:
        CONDA_ENV
    params:
        package=config["corpus"]["deb_package"],
        version=config["corpus"]["deb_version"],
        sha256=config["corpus"]["deb_sha256"],
    script:
        "../scripts/corpus_regenerate.py"
