"""The SLURM profile parses and gives every job its resources, without the optional plugin."""

import importlib.util

from .conftest import make_copy, snakemake


def test_slurm_profile_dry_run_without_the_plugin(tmp_path):
    root = make_copy(tmp_path)
    proc = snakemake(root, "-n", "--workflow-profile", "workflow/profiles/slurm", "--executor", "dryrun",
                     "fig07_cost", "--config", "experiment=quick")
    out = proc.stdout + proc.stderr
    assert "rule cost_tpd:" in out and "rule fig07_cost:" in out
    assert "slurm_partition=CHANGE_ME_partition" in out and "runtime=30" in out


def test_slurm_profile_names_the_slurm_executor(tmp_path):
    root = make_copy(tmp_path)
    text = (root / "workflow" / "profiles" / "slurm" / "config.yaml").read_text()
    assert "\nexecutor: slurm\n" in text
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        # without the plugin the profile's own executor must be refused, loudly (not silently run locally)
        proc = snakemake(root, "-n", "--workflow-profile", "workflow/profiles/slurm", "fig07_cost",
                         "--config", "experiment=quick", check=False)
        assert proc.returncode != 0 and "slurm" in proc.stderr
