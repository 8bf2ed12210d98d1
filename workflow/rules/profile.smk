# Rules of the profile stage (lib/sail/profile): bit-plane patterns and PRT hits of the real
# model's linear-layer inputs, and fig03_patterns.


rule profile_patterns:
    input:
        gguf="resources/model/SmolLM2-135M-Instruct.Q4_1.gguf",
        text=f"data/corpus/{config['corpus']['calibration_book']}.txt",
    output:
        prt_hits=f"{RES}/profile/prt_hits.csv",
        planes=f"{RES}/profile/planes.csv",
        distinct=f"{RES}/profile/distinct.csv",
        histogram=f"{RES}/profile/histogram.csv",
        order=f"{RES}/profile/prt_order.csv",
        timing=f"{RES}/profile/timing.csv",
    log:
        f"{LOGS}/profile/patterns.log",
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=4000,
    params:
        grid=stage("profile"),
        n_windows=stage("profile")["n_windows"],
        window=stage("profile")["window"],
    script:
        "../scripts/profile_patterns.py"


rule fig03_patterns:
    input:
        planes=f"{RES}/profile/planes.csv",
        prt_hits=f"{RES}/profile/prt_hits.csv",
        distinct=f"{RES}/profile/distinct.csv",
        saving=f"{RES}/sim/prt_saving.csv",
    output:
        **report_figure("fig03_patterns", "Activation patterns"),
    log:
        notebook=f"{LOGS}/notebooks/fig03_patterns.ipynb",
    conda:
        CONDA_ENV
    params:
        plot=stage("profile")["plot"],
    notebook:
        "../../notebooks/fig03_patterns.py.ipynb"


FINAL_OUTPUTS.extend(figure("fig03_patterns").values())
