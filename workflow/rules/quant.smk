# Rules of the quant stage (lib/sail/quant): tokenise the texts, calibrate (Fisher of the fp model;
# GPTQ calibrates sequentially inside its own job), quantise (RTN, GPTQ, per-token activations,
# Hadamard-rotated activations, per-layer mixed precision), measure perplexity per configuration on
# windows spread over the evaluation novel, and assemble tab03_accuracy and fig13_mixed_precision.
QUANT = stage("quant")
QRES = f"{RES}/quant"
QLOGS = f"{LOGS}/quant"
CALIB_TOKENS = f"{QRES}/tokens/{config['corpus']['calibration_book']}.npy"
EVAL_TOKENS = f"{QRES}/tokens/{config['corpus']['evaluation_book']}.npy"


# Group size as spelled in file names: -1 (per-channel) is "pc".
qgroup = lambda g: "pc" if g == -1 else str(g)


# One file per tab03 row.
QUANT_WEIGHT_ROWS = sorted(
    {
        f"{QRES}/ppl/{m}_w{b}_g{qgroup(g)}.json"
        for spec in QUANT["weight_rows"]
        for m in spec["methods"]
        for b in spec["w_bits"]
        for g in spec["group_sizes"]
    }
)
QUANT_COMBINED_ROWS = [
    f"{QRES}/ppl/{c['method']}_w{c['w_bits']}_g{qgroup(c['group_size'])}_a{c['a_bits']}.json"
    for c in QUANT["combined_rows"]
]
# The damping sweep: GPTQ rows at other damping fractions than `damp` ("_d<damp>" in file names),
# next to the default rows in quant/damp_sweep.csv (a target of its own, not part of `all`: each
# point is another sequential GPTQ pass, and the stage's 20-minute budget has no room for it).
QDSWEEP = QUANT["damp_sweep"]
QUANT_DAMP_ROWS = [
    f"{QRES}/ppl/gptq_w{b}_g{qgroup(QDSWEEP['group_size'])}_d{d:g}.json"
    for b in QDSWEEP["w_bits"]
    for d in QDSWEEP["damps"]
]
QUANT_ACT_ROWS = [f"{QRES}/ppl/act_a{a}.json" for a in QUANT["a_bits"]] + [
    f"{QRES}/ppl/act_a{a}_rot.json" for a in QUANT["rotated_a_bits"]
]
QMIX = QUANT["mixed"]
QUANT_MIXED_WEIGHTS = [
    f"{QRES}/weights/{QMIX['method']}_w{b}_g{qgroup(QMIX['group_size'])}.npz"
    for b in sorted(QMIX["bits"])
]


# What a GPTQ job reads: calibration tokens and the Fisher (sequential), or the fp Hessians.
GPTQ_CALIBRATION = (
    {"calib": CALIB_TOKENS, "fisher": f"{QRES}/fisher.pt"}
    if QUANT["sequential"]
    else {"hessians": f"{QRES}/hessians.pt"}
)


rule quant_tokens:
    input:
        gguf=GGUF,
        text="data/corpus/{book}.txt",
    output:
        f"{QRES}/tokens/{{book}}.npy",
    log:
        f"{QLOGS}/tokens_{{book}}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/quant_tokens.py"


rule quant_hessians:
    input:
        gguf=GGUF,
        tokens=CALIB_TOKENS,
    output:
        temp(f"{QRES}/hessians.pt"),
    log:
        f"{QLOGS}/hessians.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        window=QUANT["window"],
        n_windows=QUANT["calib_windows"],
        batch_windows=QUANT["batch_windows"],
    script:
        "../scripts/quant_hessians.py"


rule quant_fisher:
    input:
        gguf=GGUF,
        tokens=CALIB_TOKENS,
    output:
        f"{QRES}/fisher.pt",
    log:
        f"{QLOGS}/fisher.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        window=QUANT["window"],
        n_windows=QUANT["fisher_windows"],
    script:
        "../scripts/quant_fisher.py"


rule quant_weights:
    input:
        unpack(lambda wc: GPTQ_CALIBRATION if wc.method == "gptq" else {}),
        gguf=GGUF,
    output:
        temp(f"{QRES}/weights/{{method}}_w{{w_bits}}_g{{group}}{{dtag}}.npz"),
    log:
        f"{QLOGS}/weights_{{method}}_w{{w_bits}}_g{{group}}{{dtag}}.log",
    wildcard_constraints:
        method="rtn|rtn_fmin|gptq",
        w_bits="[0-9]+",
        group="[0-9]+|pc",
        dtag="|_d[0-9.e-]+",
    conda:
        CONDA_ENV
    threads: 2
    params:
        method=lambda wc: wc.method,
        w_bits=lambda wc: int(wc.w_bits),
        group_size=lambda wc: -1 if wc.group == "pc" else int(wc.group),
        symmetric=QUANT["symmetric"],
        damp=lambda wc: float(wc.dtag[2:]) if wc.dtag else QUANT["damp"],
        act_order=QUANT["act_order"],
        sequential=QUANT["sequential"],
        window=QUANT["window"],
        calib_windows=QUANT["calib_windows"],
        batch_windows=QUANT["batch_windows"],
    script:
        "../scripts/quant_weights.py"


# Perplexity rows. Every row (the reference too) is scored on the same windows.
QUANT_PPL_PARAMS = dict(
    window=QUANT["window"],
    batch_windows=QUANT["batch_windows"],
    n_windows=QUANT["eval_windows"],
    seed=EXP["seed"],
)


rule quant_reference:
    input:
        gguf=GGUF,
        tokens=EVAL_TOKENS,
    output:
        f"{QRES}/ppl/reference.json",
    log:
        f"{QLOGS}/ppl_reference.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        **QUANT_PPL_PARAMS,
        a_bits=None,
        rotate=False,
    script:
        "../scripts/quant_ppl.py"


rule quant_ppl_act:
    input:
        gguf=GGUF,
        tokens=EVAL_TOKENS,
    output:
        f"{QRES}/ppl/act_a{{a_bits}}{{rot}}.json",
    log:
        f"{QLOGS}/ppl_act_a{{a_bits}}{{rot}}.log",
    wildcard_constraints:
        a_bits="[0-9]+",
        rot="|_rot",
    conda:
        CONDA_ENV
    threads: 2
    params:
        **QUANT_PPL_PARAMS,
        a_bits=lambda wc: int(wc.a_bits),
        rotate=lambda wc: wc.rot == "_rot",
    script:
        "../scripts/quant_ppl.py"


rule quant_ppl_weights:
    input:
        gguf=GGUF,
        tokens=EVAL_TOKENS,
        weights=f"{QRES}/weights/{{method}}_w{{w_bits}}_g{{group}}{{dtag}}.npz",
    output:
        f"{QRES}/ppl/{{method}}_w{{w_bits}}_g{{group}}{{dtag}}{{act}}.json",
    log:
        f"{QLOGS}/ppl_{{method}}_w{{w_bits}}_g{{group}}{{dtag}}{{act}}.log",
    wildcard_constraints:
        method="rtn|rtn_fmin|gptq",
        w_bits="[0-9]+",
        group="[0-9]+|pc",
        dtag="|_d[0-9.e-]+",
        act="|_a[0-9]+",
    conda:
        CONDA_ENV
    threads: 2
    params:
        **QUANT_PPL_PARAMS,
        a_bits=lambda wc: int(wc.act[2:]) if wc.act else None,
        rotate=False,
    script:
        "../scripts/quant_ppl.py"


rule quant_mixed:
    input:
        gguf=GGUF,
        tokens=EVAL_TOKENS,
        calib=CALIB_TOKENS,
        weights=QUANT_MIXED_WEIGHTS,
    output:
        sensitivity=f"{QRES}/mixed/sensitivity.csv",
        assignment=f"{QRES}/mixed/assignment.csv",
        ppl=f"{QRES}/mixed/ppl.json",
    log:
        f"{QLOGS}/mixed.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        **QUANT_PPL_PARAMS,
        method=QMIX["method"],
        group_size=QMIX["group_size"],
        bits=QMIX["bits"],
        budgets=QMIX["budgets"],
        baseline_budgets=QMIX["baseline_budgets"],
        requantize=QMIX["requantize"],
        symmetric=QUANT["symmetric"],
        damp=QUANT["damp"],
        act_order=QUANT["act_order"],
        calib_windows=QUANT["calib_windows"],
    script:
        "../scripts/quant_mixed.py"


# Not part of `all`: run it as a target (`snakemake --cores 2 results/<exp>/quant/peer_check.csv`);
# it needs the optional `hqq` package (sail.quant.peer says how to install it).
rule quant_peer_check:
    input:
        gguf=GGUF,
        tokens=EVAL_TOKENS,
    output:
        f"{QRES}/peer_check.csv",
    log:
        f"{QLOGS}/peer_check.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        w_bits=QUANT["peer_check"]["w_bits"],
        group_size=QUANT["peer_check"]["group_size"],
        n_windows=QUANT["peer_check"]["n_windows"],
        window=QUANT["window"],
        eval_windows=QUANT["eval_windows"],
        batch_windows=QUANT["batch_windows"],
    script:
        "../scripts/quant_peer_check.py"


rule quant_damp_sweep:
    input:
        rows=QUANT_DAMP_ROWS
        + [
            f"{QRES}/ppl/gptq_w{b}_g{qgroup(QDSWEEP['group_size'])}.json"
            for b in QDSWEEP["w_bits"]
        ],
    output:
        f"{QRES}/damp_sweep.csv",
    log:
        f"{QLOGS}/damp_sweep.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/quant_damp_sweep.py"


rule tab03_accuracy:
    input:
        reference=rules.quant_reference.output[0],
        rows=QUANT_ACT_ROWS + QUANT_WEIGHT_ROWS + QUANT_COMBINED_ROWS,
        mixed=rules.quant_mixed.output.ppl,
    output:
        **report_table("tab03_accuracy"),
        timing=f"{QRES}/ppl_timing.csv",
    log:
        f"{QLOGS}/tab03_accuracy.log",
    conda:
        CONDA_ENV
    params:
        damp=QUANT["damp"],
        caption=f"Perplexity of SmolLM2-135M on Emma ({QUANT['eval_windows']} windows of "
        f"{QUANT['window']} tokens spread over the whole novel, the same for every row) per "
        "quantisation configuration; the reference is the dequantised Q4_1 GGUF (w_exact_frac: share "
        "of weights a row reproduces exactly).",
    script:
        "../scripts/quant_tab03.py"


rule fig13_mixed_precision:
    input:
        sensitivity=rules.quant_mixed.output.sensitivity,
        assignment=rules.quant_mixed.output.assignment,
        table=table("tab03_accuracy")["csv"],
    output:
        **report_figure("fig13_mixed_precision", "Accuracy"),
    log:
        notebook=f"{LOGS}/notebooks/fig13_mixed_precision.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig13_mixed_precision.py.ipynb"


FINAL_OUTPUTS.extend(
    [*table("tab03_accuracy").values(), *figure("fig13_mixed_precision").values()]
)
