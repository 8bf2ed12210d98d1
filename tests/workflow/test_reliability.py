"""Reliability as tests: bad configs fail before any job, an interrupted run resumes to the same
outputs, and two runs write byte-identical tables (determinism: fixed seeds, fixed float format)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from .conftest import ALLOWED, REPO, TARGETS, make_copy, output_tables, snakemake, snakemake_env


def test_unknown_experiment_is_rejected_before_any_rule_runs(tmp_path):
    root = make_copy(tmp_path)
    proc = snakemake(root, "--cores", "1", *TARGETS, "--config", "experiment=nope", check=False)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert "'nope'" in err and "['experiment']" in err, err[-2000:]
    assert not (root / "results" / "quick" / "cost").exists()  # no job ran


@pytest.mark.parametrize(
    "old, new, key",
    [
        ("claim_rel_tol: 0.1", 'claim_rel_tol: "ten percent"', "claim_rel_tol"),
        ("overhead_multiplier: 1.0", "overhead_multiplier: -1.0", "overhead_multiplier"),
        ("add_overhead: true", "add_overhead: yes please", "add_overhead"),
        ("claim_rel_tol: 0.1", "claim_rel_tol: 0.1\n      claim_rel_toll: 0.2", "claim_rel_toll"),
        ("instance: p3.2xlarge", "instance: P3 2XL", "instance"),
        ("cpu: [model, w_bits, a_bits, batch, context]", "cpu: [model, hw]", "match_on"),
    ],
)
def test_schema_rejects_a_wrong_value_naming_the_key(old, new, key):
    # In-process twin of the subprocess test below: the same schema, every kind of mistake, fast.
    text = (REPO / "config" / "config.yaml").read_text()
    assert old in text
    config = yaml.safe_load(text.replace(old, new, 1))
    with pytest.raises(WorkflowError) as err:
        validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    assert key in str(err.value.args) + str(getattr(err.value, "__cause__", "")) + repr(err.value)


def test_config_file_with_a_wrong_type_fails_before_any_rule_runs(tmp_path):
    root = make_copy(tmp_path)
    cfg = root / "config" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("claim_rel_tol: 0.1", 'claim_rel_tol: "ten percent"', 1))
    proc = snakemake(root, "--cores", "1", *TARGETS, "--config", "experiment=quick", check=False)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert "Error validating config file" in err and "claim_rel_tol" in err, err[-2000:]
    assert not (root / "results" / "quick" / "cost").exists()  # no job ran


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_bytes_as_an_uninterrupted_run(tmp_path):
    """Two runs of the same targets (one clean, one SIGKILLed halfway and resumed) give byte-identical
    tables. One test covers both reliability properties, because each extra Snakemake run costs ~20 s
    on the shared 2-core machine: a nondeterministic table or a resume that loses or corrupts work
    both break the final equality."""
    clean = make_copy(tmp_path / "clean")
    snakemake(clean, "--cores", "2", *TARGETS, "--config", "experiment=quick")
    reference = output_tables(clean)
    assert any(k.endswith("tab04_claims.csv") for k in reference)

    root = make_copy(tmp_path / "killed")
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", "1", *TARGETS, "--config", "experiment=quick", *ALLOWED]
    first = root / "results" / "quick" / "cost" / "tpd.csv"
    log = tmp_path / "first_attempt.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=root, env=snakemake_env(root), stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        # Cut the run right after Snakemake recorded cost_tpd as finished, while the rest is pending.
        deadline = time.monotonic() + 120
        while not re.search(r"Finished jobid: \d+ \(Rule: cost_tpd\)", log.read_text()):
            assert proc.poll() is None, "snakemake finished or failed before it could be interrupted"
            assert time.monotonic() < deadline, "first job never finished"
            time.sleep(0.02)
    finally:
        # SIGKILL the whole session: snakemake and the job it is running, as a power cut would.
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (root / "results" / "quick" / "figures" / "tab04_claims.csv").exists(), "run was not cut halfway"
    done_before = first.stat().st_mtime_ns
    # The documented recovery after a crash: release the lock, then rerun what was cut off.
    snakemake(root, "--unlock", "--cores", "1", "--config", "experiment=quick")
    snakemake(root, "--cores", "1", *TARGETS, "--config", "experiment=quick", "--rerun-incomplete")
    assert first.stat().st_mtime_ns == done_before, "a finished job was redone instead of resumed"
    resumed = output_tables(root)
    assert resumed.keys() == reference.keys()
    for name in sorted(reference):
        assert resumed[name] == reference[name], f"{name} differs between the two runs"
