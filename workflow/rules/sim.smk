# Rules of the sim stage (lib/sail/sim): decode sweeps of SAIL and its baselines, the PRT cycle
# saving, sensitivity and ablation, the hardware/workload/area tables and their figures.
# Inputs from other stages: the PRT table (profile) and the kernel measurements (kernels).


rule sim_decode:
    input:
        hw=expand("config/hw/{hw}.yaml", hw=stage("sim")["hw"]),
        base="config/hw/graviton2.yaml",
        prt=f"{RES}/profile/prt_hits.csv",
    output:
        decode=f"{RES}/sim/decode.csv",
        speedup=f"{RES}/sim/speedup.csv",
        baselines=f"{RES}/sim/speedup_baselines.csv",
        infeasible=f"{RES}/sim/infeasible.csv",
    log:
        f"{LOGS}/sim/decode.log",
    conda:
        CONDA_ENV
    threads: 1
    params:
        models=stage("sim")["models"],
        w_bits=stage("sim")["w_bits"],
        a_bits=stage("sim")["a_bits"],
        batches=stage("sim")["batches"],
        contexts=stage("sim")["contexts"],
        group_size=stage("sim")["group_size"],
        cpu_hw=stage("sim")["cpu_hw"],
        sail_hw=stage("sim")["sail_hw"],
        cpu_baselines=stage("sim")["cpu_baselines"],
    script:
        "../scripts/sim_decode.py"


rule sim_energy:
    input:
        hw=expand("config/hw/{hw}.yaml", hw=stage("sim")["energy_hw"]),
        base="config/hw/graviton2.yaml",
        prt=f"{RES}/profile/prt_hits.csv",
    output:
        f"{RES}/sim/energy.csv",
    log:
        f"{LOGS}/sim/energy.log",
    conda:
        CONDA_ENV
    params:
        models=stage("sim")["models"],
        w_bits=stage("sim")["w_bits"],
        a_bits=stage("sim")["a_bits"],
        batches=stage("sim")["batches"],
        contexts=stage("sim")["contexts"],
        group_size=stage("sim")["group_size"],
    script:
        "../scripts/sim_energy.py"


rule sim_request:
    input:
        hw=expand("config/hw/{hw}.yaml", hw=stage("sim")["energy_hw"]),
        base="config/hw/graviton2.yaml",
        prt=f"{RES}/profile/prt_hits.csv",
    output:
        f"{RES}/sim/request.csv",
    log:
        f"{LOGS}/sim/request.log",
    conda:
        CONDA_ENV
    params:
        models=stage("sim")["models"],
        w_bits=stage("sim")["w_bits"],
        a_bits=stage("sim")["a_bits"],
        batches=stage("sim")["batches"],
        mixes=stage("sim")["request_mixes"],
        group_size=stage("sim")["group_size"],
    script:
        "../scripts/sim_request.py"


rule sim_prt_saving:
    input:
        hw=f"config/hw/{stage('sim')['sail_hw']}.yaml",
        base="config/hw/graviton2.yaml",
        prt=f"{RES}/profile/prt_hits.csv",
    output:
        saving=f"{RES}/sim/prt_saving.csv",
        claim=f"{RES}/claims/prt_cycles.csv",
    log:
        f"{LOGS}/sim/prt_saving.log",
    conda:
        CONDA_ENV
    params:
        model=stage("sim")["prt_model"],
        w_bits=stage("sim")["prt_w_bits"],
        a_bits=max(stage("sim")["a_bits"]),
        rel_tol=config["claims"]["rel_tol"],
    script:
        "../scripts/sim_prt.py"


rule sim_sensitivity:
    input:
        sail=f"config/hw/{stage('sim')['sail_hw']}.yaml",
        cpu=f"config/hw/{stage('sim')['cpu_hw']}.yaml",
        prt=f"{RES}/profile/prt_hits.csv",
        speedup=f"{RES}/sim/speedup.csv",
        baselines=f"{RES}/sim/speedup_baselines.csv",
    output:
        sensitivity=f"{RES}/sim/sensitivity.csv",
        region=f"{RES}/sim/sensitivity_region.csv",
        benchmark=f"{RES}/sim/benchmark.csv",
        claim=f"{RES}/claims/speedup_cpu.csv",
    log:
        f"{LOGS}/sim/sensitivity.log",
    conda:
        CONDA_ENV
    threads: 1
    params:
        axes=stage("sim")["sensitivity"],
        batches=stage("sim")["sensitivity_batches"],
        contexts=stage("sim")["sensitivity_contexts"],
        group_size=stage("sim")["group_size"],
        rel_tol=config["claims"]["rel_tol"],
    script:
        "../scripts/sim_sensitivity.py"


rule sim_ablation:
    input:
        hw=f"config/hw/{stage('sim')['sail_hw']}.yaml",
        base="config/hw/graviton2.yaml",
        prt=f"{RES}/profile/prt_hits.csv",
    output:
        f"{RES}/sim/ablation.csv",
    log:
        f"{LOGS}/sim/ablation.log",
    conda:
        CONDA_ENV
    params:
        workload=stage("sim")["ablation_workload"],
        batches=stage("sim")["sensitivity_batches"],
        group_size=stage("sim")["group_size"],
    script:
        "../scripts/sim_ablation.py"


rule sim_crosscheck:
    input:
        hw=f"config/hw/{stage('sim')['sail_hw']}.yaml",
        base="config/hw/graviton2.yaml",
        gguf=GGUF,
        text=f"data/corpus/{config['corpus']['calibration_book']}.txt",
        prt=f"{RES}/profile/prt_hits.csv",
    output:
        table=f"{RES}/sim/crosscheck.csv",
        scope=f"{RES}/sim/prt_scope.csv",
        mapping=f"{RES}/sim/mapping.csv",
    log:
        f"{LOGS}/sim/crosscheck.log",
    conda:
        CONDA_ENV
    threads: 2
    params:
        crosscheck=stage("sim")["crosscheck"],
    script:
        "../scripts/sim_crosscheck.py"


rule sim_type_conversion:
    input:
        hw=f"config/hw/{stage('sim')['sail_hw']}.yaml",
        base="config/hw/graviton2.yaml",
    output:
        f"{RES}/sim/type_conversion.csv",
    log:
        f"{LOGS}/sim/type_conversion.log",
    conda:
        CONDA_ENV
    params:
        table="type_conversion",
    script:
        "../scripts/sim_tables.py"


rule sim_findings:
    input:
        hw=f"config/hw/{stage('sim')['sail_hw']}.yaml",
        base="config/hw/graviton2.yaml",
        type_conversion=f"{RES}/sim/type_conversion.csv",
        ablation=f"{RES}/sim/ablation.csv",
    output:
        findings=f"{RES}/sim/findings.csv",
        claim=f"{RES}/claims/type_conversion.csv",
    log:
        f"{LOGS}/sim/findings.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/sim_findings.py"


rule sim_cpu_calibration:
    input:
        hw=f"config/hw/{stage('sim')['calib_hw']}.yaml",
        base="config/hw/graviton2.yaml",
        bench=f"{RES}/kernels/bench.csv",
    output:
        table=f"{RES}/sim/cpu_calibration.csv",
        md=f"{RES}/sim/cpu_calibration.md",
        summary=f"{RES}/sim/cpu_calibration_summary.csv",
    log:
        f"{LOGS}/sim/cpu_calibration.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/sim_calibration.py"


rule sim_published_calibration:
    input:
        published="data/calibration/published_decode.csv",
        hw=expand(
            "config/hw/{hw}.yaml",
            hw=["altra_max", "graviton2", "graviton3", "graviton4", "v100"],
        ),
    output:
        table=f"{RES}/sim/published_calibration.csv",
        md=f"{RES}/sim/published_calibration.md",
        summary=f"{RES}/sim/published_calibration_summary.csv",
    log:
        f"{LOGS}/sim/published_calibration.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/sim_published.py"


rule tab01_hardware:
    input:
        hw=expand(
            "config/hw/{hw}.yaml", hw=stage("sim")["hw"] + [stage("sim")["calib_hw"]]
        ),
    output:
        **report_table("tab01_hardware"),
    log:
        f"{LOGS}/sim/tab01_hardware.log",
    conda:
        CONDA_ENV
    params:
        table="tab01_hardware",
    script:
        "../scripts/sim_tables.py"


rule tab02_workloads:
    output:
        **report_table("tab02_workloads"),
    log:
        f"{LOGS}/sim/tab02_workloads.log",
    conda:
        CONDA_ENV
    params:
        table="tab02_workloads",
        models=stage("sim")["models"],
        w_bits=stage("sim")["w_bits"],
        a_bits=stage("sim")["a_bits"],
        batches=stage("sim")["batches"],
        contexts=stage("sim")["contexts"],
        group_size=stage("sim")["group_size"],
    script:
        "../scripts/sim_tables.py"


rule tab05_area:
    input:
        hw=f"config/hw/{stage('sim')['sail_hw']}.yaml",
        base="config/hw/graviton2.yaml",
    output:
        **report_table("tab05_area"),
        claim=f"{RES}/claims/area_overhead.csv",
        area=f"{RES}/sim/area.csv",
    log:
        f"{LOGS}/sim/tab05_area.log",
    conda:
        CONDA_ENV
    params:
        table="tab05_area",
        rel_tol=config["claims"]["rel_tol"],
    script:
        "../scripts/sim_tables.py"


rule fig15_crosscheck:
    input:
        table=f"{RES}/sim/crosscheck.csv",
        scope=f"{RES}/sim/prt_scope.csv",
    output:
        **report_figure("fig15_crosscheck", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig15_crosscheck.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig15_crosscheck.py.ipynb"


rule fig06_speedup:
    input:
        table=f"{RES}/sim/speedup_baselines.csv",
    output:
        **report_figure("fig06_speedup", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig06_speedup.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig06_speedup.py.ipynb"


rule fig08_pim_compare:
    input:
        table=f"{RES}/sim/decode.csv",
    output:
        **report_figure("fig08_pim_compare", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig08_pim_compare.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig08_pim_compare.py.ipynb"


rule fig09_ablation:
    input:
        table=f"{RES}/sim/ablation.csv",
    output:
        **report_figure("fig09_ablation", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig09_ablation.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig09_ablation.py.ipynb"


rule fig10_breakdown:
    input:
        table=f"{RES}/sim/decode.csv",
    output:
        **report_figure("fig10_breakdown", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig10_breakdown.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig10_breakdown.py.ipynb"


rule fig11_sensitivity:
    input:
        table=f"{RES}/sim/sensitivity.csv",
        region=f"{RES}/sim/sensitivity_region.csv",
    output:
        **report_figure("fig11_sensitivity", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig11_sensitivity.ipynb",
    conda:
        CONDA_ENV
    params:
        baseline=f"{stage('sim')['cpu_hw']} ({stage('sim')['cpu_baselines'][stage('sim')['cpu_hw']]})",
    notebook:
        "../../notebooks/fig11_sensitivity.py.ipynb"


rule fig12_type_conversion:
    input:
        table=f"{RES}/sim/type_conversion.csv",
        ablation=f"{RES}/sim/ablation.csv",
    output:
        **report_figure("fig12_type_conversion", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig12_type_conversion.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig12_type_conversion.py.ipynb"


rule fig16_energy:
    input:
        energy=f"{RES}/sim/energy.csv",
        request=f"{RES}/sim/request.csv",
    output:
        **report_figure("fig16_energy", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig16_energy.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig16_energy.py.ipynb"


FINAL_OUTPUTS.extend(
    [
        *table("tab01_hardware").values(),
        *table("tab02_workloads").values(),
        *table("tab05_area").values(),
        *figure("fig06_speedup").values(),
        *figure("fig08_pim_compare").values(),
        *figure("fig09_ablation").values(),
        *figure("fig10_breakdown").values(),
        *figure("fig11_sensitivity").values(),
        *figure("fig12_type_conversion").values(),
        *figure("fig16_energy").values(),
        f"{RES}/sim/energy.csv",
        f"{RES}/sim/request.csv",
        *figure("fig15_crosscheck").values(),
        f"{RES}/sim/crosscheck.csv",
        f"{RES}/sim/prt_scope.csv",
        f"{RES}/sim/mapping.csv",
        f"{RES}/sim/prt_saving.csv",
        f"{RES}/sim/infeasible.csv",
        f"{RES}/sim/cpu_calibration.csv",
        f"{RES}/sim/published_calibration.csv",
        f"{RES}/sim/benchmark.csv",
        f"{RES}/claims/prt_cycles.csv",
        f"{RES}/claims/speedup_cpu.csv",
        f"{RES}/claims/area_overhead.csv",
        f"{RES}/claims/type_conversion.csv",
        f"{RES}/sim/findings.csv",
    ]
)
