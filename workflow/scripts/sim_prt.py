"""Cycle saving of the Pattern Reuse Table from the profiled hit rates (prt_saving.csv, claim prt_cycles)."""

from sail.claims import write_claim
from sail.io import log, log_to, read_table, write_table
from sail.sim import load_hw
from sail.sim.experiments import prt_claim
from sail.sim.prt import default_point, prt_saving

with log_to(snakemake.log[0]):
    sail = load_hw(snakemake.input.hw)
    saving = prt_saving(
        sail, read_table(snakemake.input.prt), model=snakemake.params.model, w_bits=snakemake.params.w_bits
    )
    write_table(saving, snakemake.output.saving)
    # Judged at every profiled batch and n_bw (SAIL's own n_bw named); overlap_read_accumulate decides
    # whether a hit can save a cycle at all, so the other setting is reported beside the default.
    ovl = int(sail.value("csram.overlap_read_accumulate"))
    other = prt_saving(
        sail.with_overrides({"csram.overlap_read_accumulate": 1 - ovl}),
        read_table(snakemake.input.prt),
        model=snakemake.params.model,
        w_bits=snakemake.params.w_bits,
    )
    claim = prt_claim(
        default_point(saving),
        n_bw=int(sail.value("csram.n_bw")),
        a_bits=snakemake.params.a_bits,
        rel_tol=snakemake.params.rel_tol,
        other_setting=(f"csram.overlap_read_accumulate={1 - ovl}", default_point(other)),
    )
    log.info("prt_cycles: %s (%s)", claim.our_value, claim.verdict)
    write_claim(claim, snakemake.output.claim)
