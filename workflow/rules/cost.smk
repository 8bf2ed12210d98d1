# Rules of the cost stage (lib/sail/cost): tokens per dollar from the simulator's decode table,
# the two TPD claims, the price-mapping sweep, fig07_cost, and tab04_claims (every stage's claims).
#
# Inputs from the sim stage (contract): {RES}/sim/decode.csv (system, hw, model, w_bits, a_bits,
# batch, context, tokens_per_s, ...) and {RES}/sim/area.csv (overhead_fraction; the `total` row if
# it has a `component` column).
from sail.claims import PAPER_CLAIMS


rule cost_tpd:
    input:
        decode=f"{RES}/sim/decode.csv",
        area=f"{RES}/sim/area.csv",
        prices="data/prices.csv",
    output:
        tpd=report(
            f"{RES}/cost/tpd.csv",
            caption="../report/cost_tpd.rst",
            category="Cost",
        ),
        ratios=report(
            f"{RES}/cost/tpd_ratios.csv",
            caption="../report/cost_tpd_ratios.rst",
            category="Cost",
        ),
    log:
        f"{LOGS}/cost/tpd.log",
    conda:
        CONDA_ENV
    params:
        systems=stage("cost")["systems"],
        overhead_multiplier=stage("cost")["overhead_multiplier"],
        match_on=stage("cost")["match_on"],
    script:
        "../scripts/cost_tpd.py"


rule cost_claims:
    input:
        ratios=f"{RES}/cost/tpd_ratios.csv",
    output:
        tpd_cpu=f"{RES}/claims/tpd_cpu.csv",
        tpd_v100=f"{RES}/claims/tpd_v100.csv",
    log:
        f"{LOGS}/cost/claims.log",
    conda:
        CONDA_ENV
    params:
        claim_rel_tol=stage("cost")["claim_rel_tol"],
        cpu_labels=cpu_baseline_labels(),
    script:
        "../scripts/cost_claims.py"


rule cost_sensitivity:
    input:
        decode=f"{RES}/sim/decode.csv",
        area=f"{RES}/sim/area.csv",
        prices="data/prices.csv",
    output:
        report(
            f"{RES}/cost/price_sensitivity.csv",
            caption="../report/cost_price_sensitivity.rst",
            category="Cost",
        ),
    log:
        f"{LOGS}/cost/sensitivity.log",
    conda:
        CONDA_ENV
    params:
        systems=stage("cost")["systems"],
        match_on=stage("cost")["match_on"],
        sensitivity=stage("cost")["sensitivity"],
    script:
        "../scripts/cost_sensitivity.py"


rule fig07_cost:
    input:
        tpd=f"{RES}/cost/tpd.csv",
        ratios=f"{RES}/cost/tpd_ratios.csv",
    output:
        **report_figure("fig07_cost", "Cost"),
    log:
        notebook=f"{LOGS}/notebooks/fig07_cost.ipynb",
    conda:
        CONDA_ENV
    params:
        select=stage("cost")["figure_select"],
    notebook:
        "../../notebooks/fig07_cost.py.ipynb"


rule tab04_claims:
    input:
        expand(f"{RES}/claims/{{claim_id}}.csv", claim_id=list(PAPER_CLAIMS)),
    output:
        **report_table("tab04_claims"),
    log:
        f"{LOGS}/cost/tab04_claims.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/cost_tab04.py"


FINAL_OUTPUTS.extend(
    [
        *figure("fig07_cost").values(),
        f"{RES}/cost/price_sensitivity.csv",
        *table("tab04_claims").values(),
    ]
)
