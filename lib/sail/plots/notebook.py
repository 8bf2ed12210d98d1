"""Where a notebook's inputs are and where (if anywhere) its figure goes, by hand or in the pipeline.

Every notebook in ``notebooks/`` follows one pattern (``notebooks/README.md``)::

    # cell tagged `parameters` (papermill: papermill -p experiment quick ...)
    experiment = None  # None: the full results when present, else the quick ones
    out_dir = None     # a folder to also write the figure's PDF/PNG into; None writes nothing

    # next cell
    from sail.plots.notebook import notebook_paths

    p = notebook_paths(globals().get("snakemake"), "fig06_speedup", experiment, out_dir,
                       table="{results}/sim/speedup.csv")
    table, pdf, png = p.table, p.pdf, p.png

Run by the pipeline (Snakemake's ``notebook:`` directive defines ``snakemake``), the inputs are the
rule's named inputs and the figure goes to the rule's outputs. Run by hand, ``{results}`` and
``{figures}`` are filled in for the chosen experiment set (``results/full`` and ``figures/`` for
``full``, ``results/<exp>`` and ``results/<exp>/figures`` otherwise), the notebook says which set it
shows, and ``pdf``/``png`` are ``None`` unless ``out_dir`` is given, so nothing under ``results/``
or ``figures/`` is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sail.io import load_yaml, to_repo_root

# Tried in this order when `experiment` is None: what `make reproduce` builds, then what `make test` builds.
PREFERRED = ("full", "quick")
_NAME = re.compile(r"[A-Za-z0-9_-]+")


def results_dir(experiment: str) -> str:
    return f"results/{experiment}"


def figures_dir(experiment: str) -> str:
    """Where the pipeline writes an experiment set's figures and tables (``workflow/rules/common.smk``)."""
    return "figures" if experiment == "full" else f"results/{experiment}/figures"


@dataclass
class NotebookPaths:
    """Resolved inputs (attribute access by name), figure outputs and the experiment set shown."""

    stem: str
    experiment: str
    inputs: dict[str, str]
    pdf: str | None = None
    png: str | None = None
    pipeline: bool = False
    config: dict = field(default_factory=dict)

    def __getattr__(self, name):
        inputs = self.__dict__.get("inputs", {})
        if name in inputs:
            return inputs[name]
        raise AttributeError(f"{self.__dict__.get('stem', 'notebook')} has no input {name!r}; inputs: {sorted(inputs)}")

    def stage(self, name: str) -> dict:
        """The experiment set's config block of one stage (``config/config.yaml``), e.g. ``p.stage("profile")``."""
        try:
            return self.config["experiments"][self.experiment][name]
        except KeyError as err:
            raise ValueError(f"config has no stage {name!r} for experiment {self.experiment!r}") from err


def _resolve(templates: dict[str, str], experiment: str) -> dict[str, str]:
    return {k: v.format(results=results_dir(experiment), figures=figures_dir(experiment)) for k, v in templates.items()}


def _missing(paths: dict[str, str]) -> list[str]:
    return [p for p in paths.values() if not Path(p).exists()]


def notebook_paths(snakemake, stem: str, experiment: str | None = None, out_dir: str | None = None,
                   figure: bool = True, **inputs: str) -> NotebookPaths:
    """Resolve a notebook's inputs and outputs; print which results it shows.

    Parameters
    ----------
    snakemake : the object Snakemake's ``notebook:`` directive defines, or ``None`` by hand
        (pass ``globals().get("snakemake")``).
    stem : the figure's name (``fig06_speedup``); the output files are ``<stem>.pdf`` / ``.png``.
    experiment : by hand, ``"full"``, ``"quick"`` (or another set of ``config/config.yaml``); ``None``
        takes the first of :data:`PREFERRED` whose inputs all exist.
    out_dir : by hand, a folder to write the figure files into; ``None`` writes nothing.
    figure : ``False`` for notebooks that only display a table.
    inputs : name -> path template with ``{results}`` / ``{figures}``; in the pipeline each name must
        be a named input of the rule.

    Raises ``ValueError`` for a malformed experiment name and ``FileNotFoundError`` naming the missing
    file and the command that builds it.
    """
    if snakemake is not None:
        missing = [k for k in inputs if k not in snakemake.input.keys()]
        if missing:
            raise ValueError(f"{stem}: the rule has no named input(s) {missing}; it has {list(snakemake.input.keys())}")
        exp = snakemake.config["experiment"]
        outs = snakemake.output.keys()
        p = NotebookPaths(stem, exp, {k: str(snakemake.input[k]) for k in inputs},
                          pdf=str(snakemake.output.pdf) if "pdf" in outs else None,
                          png=str(snakemake.output.png) if "png" in outs else None,
                          pipeline=True, config=dict(snakemake.config))
        print(f"{stem}: pipeline job, experiment set {exp!r}")
        return p

    to_repo_root()  # JupyterLab starts the kernel in notebooks/; every path here is relative to the root
    with open("config/config.yaml") as fh:
        config = load_yaml(fh)
    if experiment is None:
        candidates = [e for e in PREFERRED if not _missing(_resolve(inputs, e))]
        if not candidates:
            raise FileNotFoundError(f"{stem}: no results to show, neither {' nor '.join(map(results_dir, PREFERRED))} "
                                    f"has its inputs; build them with `make reproduce` (full) or `make quick`")
        exp = candidates[0]
    else:
        if not isinstance(experiment, str) or not _NAME.fullmatch(experiment):
            raise ValueError(f"experiment must be a set name such as 'full' or 'quick', got {experiment!r}")
        exp = experiment
    resolved = _resolve(inputs, exp)
    missing = _missing(resolved)
    if missing:
        how = "make reproduce" if exp == "full" else f"snakemake --cores 2 --config experiment={exp} {stem}"
        raise FileNotFoundError(f"{stem}: {missing[0]} does not exist; build it with `{how}`")
    pdf = png = None
    if out_dir is not None and figure:
        pdf, png = str(Path(out_dir) / f"{stem}.pdf"), str(Path(out_dir) / f"{stem}.png")
    fig_dir = figures_dir(exp)
    where = results_dir(exp) + (f" and {fig_dir}" if any(v.startswith(fig_dir + "/") for v in resolved.values())
                                and not fig_dir.startswith(results_dir(exp)) else "")
    note = {"full": "the full experiment set (`make reproduce`)",
            "quick": "the QUICK smoke-test set (`make test`): small slices, numbers are not the artifact's results"}
    print(f"{stem}: showing {note.get(exp, f'experiment set {exp!r}')}, read from {where}")
    if figure:
        print(f"{stem}: figure written to {pdf} and {png}" if pdf else f"{stem}: no file written (set out_dir to save one)")
    return NotebookPaths(stem, exp, resolved, pdf=pdf, png=png, config=config)
