import json
from pathlib import Path

from sail.corpus import extract_novels, provenance_record, write_corpus
from sail.io import log, log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    novels = extract_novels(snakemake.input.deb)
    out_dir = Path(snakemake.output.provenance).parent
    fresh = write_corpus(novels, out_dir, provenance_record(p.package, p.version, p.sha256))
    committed = json.loads(Path(snakemake.input.committed).read_text())
    if fresh["files"] != committed["files"]:
        raise ValueError(f"regenerated corpus in {out_dir} differs from data/corpus/PROVENANCE.json")
    log.info("regenerated %d novels, identical to the committed text", len(novels))
