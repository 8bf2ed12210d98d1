"""Fault suite, configuration: every bad config value fails when the workflow loads (schema, then the
cross-field rules of sail.contracts.config), with a message naming the value and its place."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sail.contracts.config import ConfigError, check_config, config_problems

REPO = Path(__file__).resolve().parents[2]
BASE = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def load_error(mutate) -> str:
    """The message the Snakefile's load-time checks give for the mutated config ('' if accepted)."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    cfg = copy.deepcopy(BASE)
    mutate(cfg)
    try:
        validate(cfg, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    except WorkflowError as err:
        return str(err)
    return "\n".join(config_problems(cfg, REPO))


def quick(fn):
    return lambda c: fn(c["experiments"]["quick"])


def full(fn):
    return lambda c: fn(c["experiments"]["full"])


def _set(d, path, value):
    *head, last = path
    for k in head:
        d = d[k]
    d[last] = value


def setq(path, value):
    return quick(lambda e: _set(e, path, value))


CASES = [
    # (id, mutation, text the message must contain)
    ("experiment-unknown", lambda c: c.update(experiment="bogus"), "bogus"),
    ("quant-w-bits-0", setq(["quant", "weight_rows", 0, "w_bits"], [0]), "w_bits"),
    ("quant-w-bits-9", setq(["quant", "weight_rows", 0, "w_bits"], [9]), "w_bits"),
    ("quant-w-bits-negative", setq(["quant", "weight_rows", 0, "w_bits"], [-1]), "w_bits"),
    ("quant-w-bits-text", setq(["quant", "weight_rows", 0, "w_bits"], ["abc"]), "abc"),
    ("quant-group-size-not-dividing-K", setq(["quant", "weight_rows", 0, "group_sizes"], [100]),
     "weight_rows[0].group_sizes: group size 100 does not divide K=576"),
    ("quant-mixed-group-size-not-dividing-K", setq(["quant", "mixed", "group_size"], [100][0]),
     "mixed.group_size: group size 100 does not divide K=576"),
    ("kernels-e2e-group-size-not-dividing-K", setq(["kernels", "e2e", "group_size"], 100),
     "e2e.group_size: group size 100 does not divide K=576"),
    ("kernels-bench-group-size", setq(["kernels", "bench", "group_size"], 24), "bench.group_size: 24"),
    ("quant-method-unknown", setq(["quant", "weight_rows", 0, "methods"], ["awq"]), "awq"),
    ("quant-window-text", setq(["quant", "window"], "512"), "512"),
    ("seed-float", setq(["seed"], 1.5), "1.5"),
    ("symmetric-text", setq(["quant", "symmetric"], "no"), "no"),
    ("quant-unknown-key", quick(lambda e: e["quant"].update(windw=512)), "windw"),
    ("top-level-unknown-key", lambda c: c.update(experimnt="quick"), "experimnt"),
    ("sim-cpu-hw-not-simulated", setq(["sim", "cpu_hw"], "graviton3"), "'graviton3' is not among the simulated"),
    ("sim-model-unknown", setq(["sim", "models"], ["llama2-7b", "gpt5"]), "gpt5"),
    ("sim-batch-beyond-bound", setq(["sim", "batches"], [1, 1000000]), "1e+06"),
    ("sim-context-beyond-model", setq(["sim", "contexts"], [100000]), "context"),
    ("sim-a-bits-not-profiled", setq(["sim", "a_bits"], [6]), "a_bits: 6 at n_bw=4"),
    ("cost-instance-unknown", setq(["cost", "systems", "cpu", "instance"], "m9g.huge"), "m9g.huge"),
    ("cost-sensitivity-instance-unknown", setq(["cost", "sensitivity", "cpu_instances"], ["c6g.16xlarg"]),
     "did you mean 'c6g.16xlarge'"),
    ("cost-system-hw-not-simulated", setq(["cost", "systems", "v100", "hw"], "a100"), "'a100' is not simulated"),
    ("profile-batch-not-dividing", setq(["profile", "batch"], [1, 3, 16]), "batch=3"),
    ("profile-plot-batch-not-profiled", setq(["profile", "plot", "batch"], 12), "plot.batch: 12"),
    ("profile-detail-outside-sweep", setq(["profile", "detail"], [{"n_bw": 7, "a_bits": 8, "encoding": ["twos_complement"]}]),
     "n_bw=7"),
    ("profile-too-few-windows", setq(["profile", "n_windows"], 4), "n_windows: 4"),
    ("sensitivity-key-unknown", quick(lambda e: e["sim"]["sensitivity"].update({"csram.warp_factor": [1, 2]})),
     "'csram.warp_factor' is not a parameter of sail"),
    ("sensitivity-key-typo", quick(lambda e: e["sim"]["sensitivity"].update({"csram.clock_ghs": [1.0]})),
     "did you mean 'csram.clock_ghz'"),
    ("sensitivity-value-out-of-range", quick(lambda e: e["sim"]["sensitivity"].update({"memory.dram_efficiency": [0.5, 1.5]})),
     "'memory.dram_efficiency' = 1.5"),
    ("full-set-checked-too", full(lambda e: e["quant"]["weight_rows"][0].update(group_sizes=[100])),
     "experiments.full.quant"),
]


@pytest.mark.parametrize("mutate,needle", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_config_fails_at_load_naming_the_value(mutate, needle):
    msg = load_error(mutate)
    assert msg, "accepted"
    assert needle in msg, msg


def test_shipped_config_passes():
    assert config_problems(BASE, REPO) == []


def test_check_config_raises_one_error_listing_every_problem():
    cfg = copy.deepcopy(BASE)
    cfg["experiments"]["quick"]["profile"]["batch"] = [1, 3, 16]
    cfg["experiments"]["quick"]["cost"]["systems"]["cpu"]["instance"] = "m9g.huge"
    with pytest.raises(ConfigError) as err:
        check_config(cfg, REPO)
    assert "batch=3" in str(err.value) and "m9g.huge" in str(err.value)


def test_sim_group_size_not_dividing_K_counts_whole_groups():
    """A group size that does not divide K (sim.group_size 100) charges the partial last group one
    scale/zero, never a fractional group."""
    from sail.sim import get_model, load_hw, simulate

    hw = load_hw(REPO / "config" / "hw" / "graviton2.yaml")
    r100 = simulate(hw, "smollm2-135m", 4, 8, 1, 0, group_size=100)
    per_group = hw.value("memory.scale_zero_bytes_per_group")
    expect = sum((m * k * 4 / 8 + m * -(-k // 100) * per_group) * c for _, m, k, c in get_model("smollm2-135m").gemv_layers())
    assert r100.weight_bytes == pytest.approx(expect, rel=1e-12)


@pytest.mark.parametrize("text,needle", [("", "Config file must be given as JSON or YAML"),
                                         ("experiment: [quick\n", "not valid JSON or YAML")],
                         ids=["config-empty", "config-yaml-syntax"])
def test_unreadable_config_file_is_named(tmp_path, text, needle):
    from snakemake.common.configfile import load_configfile
    from snakemake.exceptions import WorkflowError

    p = tmp_path / "config.yaml"
    p.write_text(text)
    with pytest.raises(WorkflowError) as err:
        load_configfile(str(p))
    assert needle in str(err.value)


@pytest.mark.parametrize("key,value,needle", [
    (("cost", "systems", "cpu", "instance"), "m9g.huge", "m9g.huge"),  # cross-field rule at load
    (("sim", "cpu_hw"), "graviton9", "'graviton9' is not among the simulated"),
    # a description no file provides (no rule writes config/hw): rejected at load, not left to the DAG
    (("sim", "hw"), [*BASE["experiments"]["quick"]["sim"]["hw"], "tpu_v9"], "config/hw/tpu_v9.yaml"),
    (("sim", "calib_hw"), "x86_hots", "did you mean 'x86_host'"),
], ids=["price-instance-at-load", "cpu-hw-not-simulated", "sim-hw-missing", "calib-hw-typo"])
def test_snakefile_rejects_a_bad_config_before_any_job(tmp_path, key, value, needle):
    """A dry run fails, naming the value, before any job runs."""
    cfg = copy.deepcopy(BASE)
    _set(cfg["experiments"]["quick"], list(key), value)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(cfg))
    # --forceall: every job is in the DAG, so a missing input is found even where outputs exist
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--forceall", "--cores", "1", "--configfile", str(p),
                        "--config", "experiment=quick", "--directory", str(REPO)],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert needle in r.stdout + r.stderr
