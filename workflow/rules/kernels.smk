# Rules of the kernels stage (lib/sail/kernels): exactness of the weight-LUT over all precisions
# (the arbitrary_precision claim) and the real-CPU kernel benchmark the figures and the simulator
# calibration read.


rule kernels_exactness:
    output:
        grid=f"{RES}/kernels/exactness.csv",
        claim=f"{RES}/claims/arbitrary_precision.csv",
    log:
        f"{LOGS}/kernels/exactness.log",
    conda:
        CONDA_ENV
    threads: 1
    params:
        exactness=stage("kernels")["exactness"],
        seed=EXP["seed"],
    script:
        "../scripts/kernels_exactness.py"


rule kernels_e2e:
    input:
        gguf=GGUF,
        text=f"data/corpus/{config['corpus']['evaluation_book']}.txt",
    output:
        f"{RES}/kernels/e2e.csv",
    log:
        f"{LOGS}/kernels/e2e.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        e2e=stage("kernels")["e2e"],
    script:
        "../scripts/kernels_e2e.py"


rule kernels_bench:
    output:
        bench=f"{RES}/kernels/bench.csv",
        machine=f"{RES}/kernels/machine.csv",
    log:
        f"{LOGS}/kernels/bench.log",
    conda:
        CONDA_ENV
    # all cores: the benchmark pins its own thread counts and must not share the machine
    threads: workflow.cores
    params:
        bench=stage("kernels")["bench"],
        seed=EXP["seed"],
    script:
        "../scripts/kernels_bench.py"


FINAL_OUTPUTS.extend(
    [
        f"{RES}/claims/arbitrary_precision.csv",
        f"{RES}/kernels/bench.csv",
        f"{RES}/kernels/e2e.csv",
    ]
)


rule kernels_lut_example:
    output:
        f"{RES}/kernels/lut_example.json",
    log:
        f"{LOGS}/kernels/lut_example.log",
    conda:
        CONDA_ENV
    params:
        example=stage("kernels")["lut_example"],
        seed=EXP["seed"],
    script:
        "../scripts/kernels_lut_example.py"


rule fig02_lut_example:
    input:
        example=f"{RES}/kernels/lut_example.json",
    output:
        **report_figure("fig02_lut_example", "Kernels on this CPU"),
    log:
        notebook=f"{LOGS}/notebooks/fig02_lut_example.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig02_lut_example.py.ipynb"


rule kernels_decode_profile:
    input:
        gguf=GGUF,
        text=f"data/corpus/{config['corpus']['evaluation_book']}.txt",
    output:
        breakdown=f"{RES}/kernels/decode_breakdown.csv",
        ceiling=f"{RES}/kernels/compute_ceiling.csv",
    log:
        f"{LOGS}/kernels/decode_profile.log",
    conda:
        CONDA_ENV
    threads: workflow.cores
    params:
        decode=stage("kernels")["decode"],
    script:
        "../scripts/kernels_decode_profile.py"


rule fig01_motivation:
    input:
        breakdown=f"{RES}/kernels/decode_breakdown.csv",
        ceiling=f"{RES}/kernels/compute_ceiling.csv",
        bench=f"{RES}/kernels/bench.csv",
        machine=f"{RES}/kernels/machine.csv",
    output:
        **report_figure("fig01_motivation", "Kernels on this CPU"),
    log:
        notebook=f"{LOGS}/notebooks/fig01_motivation.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig01_motivation.py.ipynb"


rule fig04_kernels:
    input:
        bench=f"{RES}/kernels/bench.csv",
        machine=f"{RES}/kernels/machine.csv",
    output:
        **report_figure("fig04_kernels", "Kernels on this CPU"),
    log:
        notebook=f"{LOGS}/notebooks/fig04_kernels.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig04_kernels.py.ipynb"


rule fig05_batching:
    input:
        bench=f"{RES}/kernels/bench.csv",
    output:
        **report_figure("fig05_batching", "Kernels on this CPU"),
    log:
        notebook=f"{LOGS}/notebooks/fig05_batching.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig05_batching.py.ipynb"


FINAL_OUTPUTS.extend(
    [
        *figure("fig01_motivation").values(),
        *figure("fig02_lut_example").values(),
        *figure("fig04_kernels").values(),
        *figure("fig05_batching").values(),
    ]
)
