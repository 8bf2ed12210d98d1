# Rules of the quant stage (lib/sail/quant): tokenise the texts, collect calibration Hessians from
# the fp reference model, quantise (RTN, GPTQ, per-token activations, per-layer mixed precision),
# measure perplexity per configuration, and assemble tab03_accuracy and fig13_mixed_precision.
QUANT = stage("quant")
QRES = f"{RES}/quant"
QLOGS = f"{LOGS}/quant"
# One file per tab03 row; the group size -1 (per-channel) is spelled "pc" in file names.
QUANT_WEIGHT_ROWS = sorted(
    {
        f"{QRES}/ppl/{m}_w{b}_g{'pc' if g == -1 else g}.json"
        for spec in QUANT["weight_rows"]
        for m in spec["methods"]
        for b in spec["w_bits"]
        for g in spec["group_sizes"]
    }
)
QUANT_ACT_ROWS = [f"{QRES}/ppl/act_a{a}.json" for a in QUANT["a_bits"]]
QMIX = QUANT["mixed"]
QUANT_MIXED_WEIGHTS = [
    f"{QRES}/weights/{QMIX['method']}_w{b}_g{'pc' if QMIX['group_size'] == -1 else QMIX['group_size']}.npz"
    for b in sorted(QMIX["bits"])
]


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
        tokens=f"{QRES}/tokens/{config['corpus']['calibration_book']}.npy",
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


rule quant_reference:
    input:
        gguf=GGUF,
        tokens=f"{QRES}/tokens/{config['corpus']['evaluation_book']}.npy",
    output:
        f"{QRES}/ppl/reference.json",
    log:
        f"{QLOGS}/ppl_reference.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        a_bits=None,
        window=QUANT["window"],
        batch_windows=QUANT["batch_windows"],
        n_windows=QUANT["reference_windows"],
        matched_windows=QUANT["eval_windows"],
    script:
        "../scripts/quant_ppl.py"


rule quant_ppl_act:
    input:
        gguf=GGUF,
        tokens=f"{QRES}/tokens/{config['corpus']['evaluation_book']}.npy",
    output:
        f"{QRES}/ppl/act_a{{a_bits}}.json",
    log:
        f"{QLOGS}/ppl_act_a{{a_bits}}.log",
    wildcard_constraints:
        a_bits="[0-9]+",
    conda:
        CONDA_ENV
    threads: 2
    params:
        a_bits=lambda wc: int(wc.a_bits),
        window=QUANT["window"],
        batch_windows=QUANT["batch_windows"],
        n_windows=QUANT["eval_windows"],
        matched_windows=None,
    script:
        "../scripts/quant_ppl.py"


rule quant_weights:
    input:
        gguf=GGUF,
        hessians=lambda wc: f"{QRES}/hessians.pt" if wc.method == "gptq" else [],
    output:
        temp(f"{QRES}/weights/{{method}}_w{{w_bits}}_g{{group}}.npz"),
    log:
        f"{QLOGS}/weights_{{method}}_w{{w_bits}}_g{{group}}.log",
    wildcard_constraints:
        method="rtn|gptq",
        w_bits="[0-9]+",
        group="[0-9]+|pc",
    conda:
        CONDA_ENV
    threads: 2
    params:
        method=lambda wc: wc.method,
        w_bits=lambda wc: int(wc.w_bits),
        group_size=lambda wc: -1 if wc.group == "pc" else int(wc.group),
        symmetric=QUANT["symmetric"],
        damp=QUANT["damp"],
    script:
        "../scripts/quant_weights.py"


rule quant_ppl_weights:
    input:
        gguf=GGUF,
        tokens=f"{QRES}/tokens/{config['corpus']['evaluation_book']}.npy",
        weights=f"{QRES}/weights/{{method}}_w{{w_bits}}_g{{group}}.npz",
    output:
        f"{QRES}/ppl/{{method}}_w{{w_bits}}_g{{group}}.json",
    log:
        f"{QLOGS}/ppl_{{method}}_w{{w_bits}}_g{{group}}.log",
    wildcard_constraints:
        method="rtn|gptq",
        w_bits="[0-9]+",
        group="[0-9]+|pc",
    conda:
        CONDA_ENV
    threads: 2
    params:
        a_bits=None,
        window=QUANT["window"],
        batch_windows=QUANT["batch_windows"],
        n_windows=QUANT["eval_windows"],
        matched_windows=None,
    script:
        "../scripts/quant_ppl.py"


rule quant_mixed:
    input:
        gguf=GGUF,
        tokens=f"{QRES}/tokens/{config['corpus']['evaluation_book']}.npy",
        hessians=f"{QRES}/hessians.pt",
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
        method=QMIX["method"],
        group_size=QMIX["group_size"],
        bits=QMIX["bits"],
        budgets=QMIX["budgets"],
        window=QUANT["window"],
        batch_windows=QUANT["batch_windows"],
        n_windows=QUANT["eval_windows"],
    script:
        "../scripts/quant_mixed.py"


rule tab03_accuracy:
    input:
        reference=rules.quant_reference.output[0],
        rows=QUANT_ACT_ROWS + QUANT_WEIGHT_ROWS,
        mixed=rules.quant_mixed.output.ppl,
    output:
        **report_table("tab03_accuracy"),
        timing=f"{QRES}/ppl_timing.csv",
    log:
        f"{QLOGS}/tab03_accuracy.log",
    conda:
        CONDA_ENV
    params:
        caption="Perplexity of SmolLM2-135M on Emma (512-token windows) per quantisation configuration; "
        "the reference is the dequantised Q4_1 GGUF (w_exact_frac: share of weights a row reproduces exactly).",
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
