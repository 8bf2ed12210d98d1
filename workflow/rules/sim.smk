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
    script:
        "../scripts/sim_tables.py"


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
    output:
        **report_figure("fig12_type_conversion", "Simulator"),
    log:
        notebook=f"{LOGS}/notebooks/fig12_type_conversion.ipynb",
    conda:
        CONDA_ENV
    notebook:
        "../../notebooks/fig12_type_conversion.py.ipynb"


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
        f"{RES}/sim/prt_saving.csv",
        f"{RES}/sim/infeasible.csv",
        f"{RES}/sim/cpu_calibration.csv",
        f"{RES}/sim/published_calibration.csv",
        f"{RES}/sim/benchmark.csv",
        f"{RES}/claims/prt_cycles.csv",
        f"{RES}/claims/speedup_cpu.csv",
        f"{RES}/claims/area_overhead.csv",
    ]
)
