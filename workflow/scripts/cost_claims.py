# Verdicts on the abstract's two tokens-per-dollar claims (vs the CPU and vs the V100; values in sail.claims).
from sail.claims import write_claim
from sail.cost import tpd_claim
from sail.io import log, log_to, read_table

with log_to(snakemake.log[0]):
    ratios = read_table(snakemake.input.ratios)
    tol = snakemake.params.rel_tol  # config claims.rel_tol: the one tolerance of every stage
    for claim_id, baseline, speedup_id in (("tpd_cpu", "cpu", "speedup_cpu"), ("tpd_v100", "v100", None)):
        claim = tpd_claim(ratios[ratios["baseline"] == baseline], claim_id, tol, speedup_claim_id=speedup_id)
        log.info("%s: %s (%s) at %s", claim_id, claim.our_value, claim.verdict, claim.configuration)
        write_claim(claim, snakemake.output[claim_id])
