"""The SLURM profile parses and gives every job its resources, without the optional plugin."""

from .conftest import make_copy, snakemake


def test_slurm_profile_dry_run_without_the_plugin(tmp_path):
    root = make_copy(tmp_path)
    proc = snakemake(root, "-n", "--cores", "1", "--workflow-profile", "workflow/profiles/slurm", "--executor", "dryrun",
                     "fig07_cost", "--config", "experiment=quick")
    out = proc.stdout + proc.stderr
    assert "rule cost_tpd:" in out and "rule fig07_cost:" in out
    assert "slurm_partition=CHANGE_ME_partition" in out and "runtime=30" in out
    # the profile really selects the SLURM executor (the dry run above only overrode it)
    assert "\nexecutor: slurm\n" in (root / "workflow" / "profiles" / "slurm" / "config.yaml").read_text()
