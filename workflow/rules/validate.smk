# Rules of the validate stage (lib/sail/peers, lib/sail/sim/validation): llama.cpp as a measured peer.
# Random-weight GGUFs at Llama-2-7B block geometry -> llama.cpp's quantiser -> llama-batched-bench's
# decode loop on this host -> the simulator's CPU model predicted against it, fitted on half, MAPE on
# the other half. Input from the peers stage: the llama.cpp build and our drivers over it
# (programs.json locates them).


LLAMACPP_INFO = f"{LLAMACPP_ROOT}/programs.json"


rule validate_gguf_f16:
    output:
        temp("resources/validate/llama2-7b-geometry-{n_layers}l-F16.gguf"),
    log:
        "logs/validate/gguf_{n_layers}l.log",
    wildcard_constraints:
        n_layers=r"\d+",
    conda:
        CONDA_ENV
    params:
        seed=EXP["seed"],
    script:
        "../scripts/validate_gguf.py"


rule validate_quantize:
    input:
        f16="resources/validate/llama2-7b-geometry-{n_layers}l-F16.gguf",
        llamacpp=LLAMACPP_INFO,
    output:
        "resources/validate/llama2-7b-geometry-{n_layers}l-{wtype}.gguf",
    log:
        "logs/validate/quantize_{n_layers}l_{wtype}.log",
    wildcard_constraints:
        n_layers=r"\d+",
        wtype="Q8_0|Q4_0|Q4_K|Q2_K",
    conda:
        CONDA_ENV
    threads: 2
    script:
        "../scripts/validate_quantize.py"


rule validate_measure:
    input:
        models=validate_models(),
        smollm2=GGUF if stage("validate")["smollm2"] else [],
        llamacpp=LLAMACPP_INFO,
    output:
        decode=f"{RES}/validate/llamacpp_decode.csv",
        layers=f"{RES}/validate/layer_check.csv",
        host=f"{RES}/validate/host.csv",
    log:
        f"{LOGS}/validate/measure.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        cfg=stage("validate"),
    script:
        "../scripts/validate_measure.py"


rule validate_fit:
    input:
        decode=f"{RES}/validate/llamacpp_decode.csv",
        hw=f"config/hw/{stage('validate')['host_hw']}.yaml",
        base="config/hw/graviton2.yaml",
    output:
        table=f"{RES}/validate/cpu_validation.csv",
        summary=f"{RES}/validate/cpu_validation_mape.csv",
        fit=report(
            f"{RES}/validate/cpu_fit.csv",
            caption="../report/validate_cpu_fit.rst",
            category="Validation",
        ),
        fit_md=f"{RES}/validate/cpu_fit.md",
    log:
        f"{LOGS}/validate/fit.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/validate_fit.py"


rule fig14_validation:
    input:
        table=f"{RES}/validate/cpu_validation.csv",
        summary=f"{RES}/validate/cpu_validation_mape.csv",
    output:
        **report_figure("fig14_validation", "Validation"),
    log:
        notebook=f"{LOGS}/notebooks/fig14_validation.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig14_validation.py.ipynb"


FINAL_OUTPUTS.extend(
    [
        *figure("fig14_validation").values(),
        f"{RES}/validate/cpu_fit.csv",
        f"{RES}/validate/layer_check.csv",
    ]
)
