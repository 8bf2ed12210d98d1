# tab04_claims: the claim rows every stage wrote, checked and concatenated (nothing typed in here).
from sail.cost import collect_claims
from sail.io import log, log_to, report_table_paths, write_report_table

with log_to(snakemake.log[0]):
    table = collect_claims(list(snakemake.input))
    log.info("verdicts: %s", dict(zip(table["claim_id"], table["verdict"])))
    write_report_table(table, report_table_paths(snakemake.output),
                       caption="SAIL's abstract claims: the paper's value, ours, the configuration and a verdict.")
