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
    # The claim is judged at the simulator's own LUT width and activation width, not the best profiled point.
    claim = prt_claim(default_point(saving), n_bw=int(sail.value("csram.n_bw")), a_bits=snakemake.params.a_bits)
    log.info("prt_cycles: %s (%s)", claim.our_value, claim.verdict)
    write_claim(claim, snakemake.output.claim)
