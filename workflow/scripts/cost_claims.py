# Verdicts on the abstract's two tokens-per-dollar claims (19.9x vs the CPU, 7.04x vs the V100).
import dataclasses

from sail.claims import write_claim
from sail.cost import tpd_claim
from sail.io import log, log_to, read_table
from sail.sim.experiments import baseline_range, range_sentence

with log_to(snakemake.log[0]):
    ratios = read_table(snakemake.input.ratios)
    tol = snakemake.params.claim_rel_tol
    labels = snakemake.params.cpu_labels  # cost system -> CPU-baseline label (the headline range)
    for claim_id, baseline, speedup_id in (("tpd_cpu", "cpu", "speedup_cpu"), ("tpd_v100", "v100", None)):
        claim = tpd_claim(ratios[ratios["baseline"] == baseline], claim_id, tol, speedup_claim_id=speedup_id)
        if claim_id == "tpd_cpu" and len(labels) > 1:
            cpu = ratios[ratios["baseline"].isin(list(labels))].assign(label=lambda d: d["baseline"].map(labels))
            span = range_sentence(baseline_range(cpu, "tpd_ratio", by="label"), "tpd_ratio", label_col="label")
            claim = dataclasses.replace(claim, why=f"{claim.why} {span}")
        if claim_id == "tpd_v100":  # name the capacity-correct V100 configuration the ratio rests on
            r = ratios[ratios["baseline"] == baseline]
            top = r.loc[r["tpd_ratio"].idxmax()]
            if "baseline_n_devices" in top.index:
                n_multi = int((r.drop_duplicates(["model", "batch", "context"])["baseline_n_devices"] > 1).sum())
                claim = dataclasses.replace(claim, why=(
                    f"{claim.why} The V100 side fits its memory: {int(top['baseline_n_devices'])} x V100 on "
                    f"{top['baseline_instance']} ({top['baseline_memory_bytes'] / 2**30:.1f} GiB of "
                    f"{top['baseline_capacity_bytes'] / 2**30:.1f} GiB); {n_multi} of "
                    f"{len(r.drop_duplicates(['model', 'batch', 'context']))} compared V100 configurations needed "
                    f"more than one GPU."))
        log.info("%s: %s (%s) at %s", claim_id, claim.our_value, claim.verdict, claim.configuration)
        write_claim(claim, snakemake.output[claim_id])
