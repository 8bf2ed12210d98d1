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


rule kernels_ggml_timer:
    # our C++ timer of llama.cpp's GEMVs (lib/sail/kernels/cpp), linked against the pipeline's ggml build
    input:
        info=rules.peers_llamacpp_build.output.info,
        src="lib/sail/kernels/cpp/ggml_gemv_timer.cpp",
    output:
        f"{LLAMACPP_ROOT}/ggml_gemv_timer/ggml_gemv_timer",
    log:
        "logs/kernels/ggml_timer_build.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/kernels_ggml_timer_build.py"


rule kernels_bench:
    input:
        timer=rules.kernels_ggml_timer.output[0],
        llamacpp_info=rules.peers_llamacpp_build.output.info,
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


rule kernels_stability:
    input:
        timer=rules.kernels_ggml_timer.output[0],
        llamacpp_info=rules.peers_llamacpp_build.output.info,
    output:
        f"{RES}/kernels/stability.csv",
    log:
        f"{LOGS}/kernels/stability.log",
    conda:
        CONDA_ENV
    # all cores: a timing experiment, like kernels_bench
    threads: workflow.cores
    params:
        stability=stage("kernels")["stability"],
        group_size=stage("kernels")["bench"]["group_size"],
        seed=EXP["seed"],
    script:
        "../scripts/kernels_stability.py"


FINAL_OUTPUTS.extend(
    [
        f"{RES}/kernels/stability.csv",
        f"{RES}/kernels/generate.csv",
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


rule kernels_generate:
    # `sail generate`: SmolLM2 decode through our LUT kernel vs llama.cpp (llama-bench's tg loop), same GGUF and threads
    input:
        gguf=GGUF,
        llamacpp_info=rules.peers_llamacpp_programs.output.programs,
    output:
        f"{RES}/kernels/generate.csv",
    log:
        f"{LOGS}/kernels/generate.log",
    conda:
        CONDA_ENV
    threads: workflow.cores
    params:
        generate=stage("kernels")["generate"],
        workdir=f"{LLAMACPP_ROOT}/requantised",
    script:
        "../scripts/kernels_generate.py"


rule fig01_motivation:
    input:
        generate=f"{RES}/kernels/generate.csv",
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
