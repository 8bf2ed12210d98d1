# Price every simulated decode row (tokens per dollar) and compare SAIL with the CPU and the V100.
import pandas as pd

from sail.cost import SystemPrice, cost_table, load_prices, overhead_from_area, tpd_ratios
from sail.cost.request import attach_energy
from sail.io import log, log_to, read_table, write_table

with log_to(snakemake.log[0]):
    p = snakemake.params
    prices = load_prices(snakemake.input.prices)
    overhead = overhead_from_area(read_table(snakemake.input.area))
    systems = SystemPrice.from_config(p.systems)
    cost = cost_table(read_table(snakemake.input.decode), prices, systems, overhead, p.overhead_multiplier)
    log.info("area overhead %.4g x multiplier %.3g; %d priced rows", overhead, p.overhead_multiplier, len(cost))
    # tokens per joule beside tokens per dollar (sim/energy.csv; NaN for hardware without an energy model)
    cost = attach_energy(cost, read_table(snakemake.input.energy))
    ratios = [tpd_ratios(cost, "sail", base, p.match_on[base]) for base in sorted(p.match_on)]
    write_table(cost, snakemake.output.tpd)
    write_table(pd.concat(ratios, ignore_index=True), snakemake.output.ratios)
