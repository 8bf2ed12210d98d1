# Sweep the area-to-price mapping and the instances SAIL and the CPU are priced on (feeds fig11).
from sail.cost import load_prices, overhead_from_area, price_sensitivity
from sail.io import log_to, read_table, write_table

with log_to(snakemake.log[0]):
    p = snakemake.params
    grid = price_sensitivity(read_table(snakemake.input.decode), load_prices(snakemake.input.prices),
                             overhead_from_area(read_table(snakemake.input.area)),
                             multipliers=p.sensitivity["overhead_multipliers"],
                             cpu_instances=p.sensitivity["cpu_instances"],
                             sail_instances=p.sensitivity["sail_instances"],
                             v100_instance=p.systems["v100"]["instance"], match_on=p.match_on,
                             hw={name: s["hw"] for name, s in p.systems.items()},
                             v100_scale_out=tuple((o["devices"], o["instance"])
                                                  for o in p.systems["v100"].get("scale_out", [])))
    write_table(grid, snakemake.output[0])
