# Price whole requests (prompt + generated tokens) per prompt:generation mix; SAIL vs the CPU and the V100.
import pandas as pd

from sail.cost import SystemPrice, load_prices, overhead_from_area
from sail.cost.request import request_cost, request_ratios
from sail.io import log, log_to, read_table, write_table

with log_to(snakemake.log[0]):
    p = snakemake.params
    prices = load_prices(snakemake.input.prices)
    overhead = overhead_from_area(read_table(snakemake.input.area))
    systems = SystemPrice.from_config(p.systems)
    cost = request_cost(read_table(snakemake.input.request), prices, systems, overhead, p.overhead_multiplier)
    ratios = pd.concat([request_ratios(cost, "sail", base, [k for k in p.match_on[base] if k != "context"])
                        for base in sorted(p.match_on)], ignore_index=True)
    log.info("%d priced requests; %d ratio rows", len(cost), len(ratios))
    write_table(cost, snakemake.output.cost)
    write_table(ratios, snakemake.output.ratios)
