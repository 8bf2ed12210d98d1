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
    ]
)
