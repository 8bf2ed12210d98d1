"""`sail simulate`: defaults, JSON keys, human output in the units its headers name, --compare, and
one-line errors with exit code 2 naming the bad value (never a traceback)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import sail
from sail.cli import SUBCOMMANDS, build_parser, main

ROOT = Path(__file__).resolve().parents[2]

ARGS = [
    "simulate",
    "--hw",
    "config/hw/sail.yaml",
    "--model",
    "llama2-7b",
    "--w-bits",
    "4",
    "--a-bits",
    "8",
    "--batch",
    "16",
    "--context",
    "512",
]


@pytest.fixture(autouse=True)
def _root(monkeypatch, hw_dir):
    monkeypatch.chdir(hw_dir.parents[1])


def _json(capsys, args):
    assert main(args + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _fails(capsys, args):
    """Exit code 2, one line on stderr, no traceback; returns that line."""
    assert main(args) == 2
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert err and "\n" not in err, err
    assert "Traceback" not in err and cap.out == ""
    return err


def test_json_has_the_contract_keys(capsys):
    d = _json(capsys, ARGS)
    for key in ("tokens_per_s", "memory_bound_tokens_per_s", "compute_bound_tokens_per_s", "breakdown_s"):
        assert key in d
    assert sum(d["breakdown_s"].values()) == pytest.approx(d["step_s"])
    assert d["tokens_per_s"] <= min(d["memory_bound_tokens_per_s"], d["compute_bound_tokens_per_s"]) * (
        1 + 1e-9
    )


def test_defaults_are_sail_yaml_and_the_pipelines_workload_with_prt_on(capsys):
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["experiments"]["full"]["sim"]
    d = _json(capsys, ["simulate"])
    assert d["hw"] == "sail" and d["system"] == "sail"
    for k in ("model", "w_bits", "a_bits", "context"):
        assert d[k] == cfg["ablation_workload"][k]
    assert d["group_size"] == cfg["group_size"] and d["batch"] == 1
    # PRT on, as in the pipeline, with the pipeline's table (or the committed one of our full run)
    assert d["prt_table"] in ("results/full/profile/prt_hits.csv", "data/reference/profile/prt_hits.csv")
    assert d["prt_avoided_fraction"] > 0
    off = _json(capsys, ["simulate", "--no-prt"])
    assert off["prt_avoided_fraction"] == 0 and off["prt_table"] is None
    assert off["breakdown_s"]["lookup_s"] > d["breakdown_s"]["lookup_s"]


def test_set_overrides_a_parameter(capsys):
    base = _json(capsys, ARGS)
    slow = _json(capsys, ARGS + ["--set", "csram.arrays_per_slice=1", "--set", "op_profile=pimeval_bitsimd_v"])
    assert slow["tokens_per_s"] < base["tokens_per_s"]
    assert slow["overrides"] == {"csram.arrays_per_slice": 1.0, "op_profile": "pimeval_bitsimd_v"}


def test_human_output_is_in_the_units_its_headers_name(capsys):
    d = _json(capsys, ARGS)
    assert main(ARGS) == 0
    out = capsys.readouterr().out
    assert "memory-bound tokens/s" in out and "compute-bound tokens/s" in out
    assert "(ms)" in out and "_s " not in out  # no seconds-named key under a millisecond header
    rows = {ln.split()[0]: float(ln.split()[1]) for ln in out.splitlines() if ln.startswith("    ")}
    assert rows["lookup"] == pytest.approx(d["breakdown_s"]["lookup_s"] * 1e3, abs=1e-3)
    step = [ln for ln in out.splitlines() if "decode step (ms)" in ln][0]
    assert float(step.split()[-1]) == pytest.approx(d["step_s"] * 1e3, abs=1e-3)


def test_prt_table_is_used(capsys, prt_table, tmp_path):
    path = tmp_path / "prt.csv"
    prt_table.to_csv(path, index=False)
    base = _json(capsys, ARGS + ["--no-prt"])
    withprt = _json(capsys, ARGS + ["--prt", str(path)])
    assert withprt["prt_avoided_fraction"] > 0 == base["prt_avoided_fraction"]
    assert withprt["breakdown_s"]["lookup_s"] < base["breakdown_s"]["lookup_s"]
    assert withprt["prt_table"] == str(path)


def test_compare_prints_the_tokens_per_s_ratio(capsys):
    d = _json(capsys, ARGS + ["--compare", "graviton2"])
    assert d["baseline"]["hw"] == "graviton2"
    assert d["speedup_vs_baseline"] == pytest.approx(d["tokens_per_s"] / d["baseline"]["tokens_per_s"])
    assert main(ARGS + ["--compare", "config/hw/graviton2.yaml"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if "speedup of sail over graviton2" in ln][0]
    assert float(line.rsplit(" ", 1)[1].rstrip("x")) == pytest.approx(d["speedup_vs_baseline"], rel=1e-2)


def test_a_hardware_name_resolves_to_config_hw(capsys):
    assert _json(capsys, ["simulate", "--hw", "graviton2"])["hw"] == "graviton2"


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sail {sail.__version__}"
    assert main(["simulate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "sail simulate --batch 16 --compare graviton2" in out


def test_every_flag_has_help_text():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help and action.help.strip(), f"sail {name} {action.option_strings} has no help"


def test_subcommands_are_registered_for_dispatch():
    assert "simulate" in SUBCOMMANDS
    add_args, run, help_text = SUBCOMMANDS["simulate"]
    assert callable(add_args) and callable(run) and help_text


# ---- bad input: one case per test, exit code 2, the value named ----------------------------------


def test_missing_prt_file(capsys):
    assert "'no/such/prt_hits.csv'" in _fails(capsys, ARGS + ["--prt", "no/such/prt_hits.csv"])


def test_prt_given_a_directory(capsys, tmp_path):
    assert str(tmp_path) in _fails(capsys, ARGS + ["--prt", str(tmp_path)])


def test_prt_that_is_not_a_csv(capsys, tmp_path):
    bad = tmp_path / "prt.csv"
    bad.write_bytes(b"")
    assert str(bad) in _fails(capsys, ARGS + ["--prt", str(bad)])


def test_prt_table_without_the_hardware_point(capsys, prt_table, tmp_path):
    path = tmp_path / "prt.csv"
    prt_table.to_csv(path, index=False)
    err = _fails(capsys, ARGS + ["--prt", str(path), "--a-bits", "3"])
    assert "a_bits=3" in err and str(path) in err


def test_prt_table_without_the_columns(capsys, tmp_path):
    path = tmp_path / "prt.csv"
    path.write_text("layer_type,lookups\nq,10\n")
    err = _fails(capsys, ARGS + ["--prt", str(path)])
    assert "prt_hits" in err and str(path) in err


def test_w_bits_16(capsys):
    err = _fails(capsys, ["simulate", "--w-bits", "16"])
    assert "--w-bits" in err and "16" in err


def test_a_bits_32(capsys):
    err = _fails(capsys, ["simulate", "--a-bits", "32"])
    assert "--a-bits" in err and "32" in err


def test_batch_not_an_integer(capsys):
    assert "'1e30'" in _fails(capsys, ["simulate", "--batch", "1e30"])


def test_group_size_not_dividing_k(capsys):
    err = _fails(capsys, ["simulate", "--group-size", "100"])
    assert "--group-size 100" in err and "4096" in err


def test_group_size_not_a_multiple_of_n_bw(capsys):
    # 4096 and 11008 are divisible by 2, SAIL's n_bw is 4
    assert "--group-size 2" in _fails(capsys, ["simulate", "--group-size", "2"])


def test_prt_with_a_cpu_hardware_file(capsys, prt_table, tmp_path):
    path = tmp_path / "prt.csv"
    prt_table.to_csv(path, index=False)
    err = _fails(capsys, ["simulate", "--hw", "config/hw/graviton2.yaml", "--prt", str(path)])
    assert "config/hw/graviton2.yaml" in err and "'cpu'" in err


def test_yaml_syntax_error(capsys, tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\nsystem: sail\nparams: {csram: [1, 2\n")
    err = _fails(capsys, ["simulate", "--hw", str(bad)])
    assert str(bad) in err and "YAML syntax error" in err and "line" in err


def test_yaml_syntax_error_in_the_base_file(capsys, tmp_path):
    (tmp_path / "host.yaml").write_text("name: host\nsystem: cpu\nparams:\n  cpu: {cores: [1\n")
    child = tmp_path / "child.yaml"
    child.write_text("name: child\nsystem: sail\nbase: host.yaml\nparams: {}\n")
    err = _fails(capsys, ["simulate", "--hw", str(child)])
    assert str(tmp_path / "host.yaml") in err and "YAML syntax error" in err


def test_missing_base_file(capsys, tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text("name: child\nsystem: sail\nbase: nowhere.yaml\nparams: {}\n")
    assert "nowhere.yaml" in _fails(capsys, ["simulate", "--hw", str(child)])


def test_hw_that_is_not_yaml_text(capsys, tmp_path):
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)))
    assert str(binary) in _fails(capsys, ["simulate", "--hw", str(binary)])


def test_directory_as_hw(capsys):
    assert "'config/hw'" in _fails(capsys, ["simulate", "--hw", "config/hw"])


def test_missing_hw_file(capsys):
    assert "'config/hw/nope.yaml'" in _fails(capsys, ["simulate", "--hw", "config/hw/nope.yaml"])


def test_unknown_compare_baseline(capsys):
    assert "'graviton9'" in _fails(capsys, ["simulate", "--compare", "graviton9"])


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--set", "csram.bogus=3"], "'csram.bogus'"),
        (["--set", "csram.cols=0"], "'csram.cols'"),
        (["--set", "csram.cols"], "'csram.cols'"),
    ],
)
def test_bad_override_names_the_key(capsys, extra, needle):
    assert needle in _fails(capsys, ARGS + extra)


def test_unknown_model(capsys):
    assert "'llama9'" in _fails(capsys, ["simulate", "--model", "llama9"])


def test_closed_stdout_with_json_in_process(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", None)
    assert main(ARGS + ["--json"]) == 2
    assert "standard output is closed" in capsys.readouterr().err


def test_stdout_that_fails_to_write(capsys, monkeypatch):
    class Broken:
        closed = False

        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

        def fileno(self):
            raise ValueError("no descriptor")

    monkeypatch.setattr(sys, "stdout", Broken())
    assert main(ARGS + ["--json"]) == 2
    assert "BrokenPipeError" in capsys.readouterr().err


def test_closed_stdout_with_json_from_a_shell():
    """`sail simulate --json >&-` (descriptor 1 closed): exit 2 and a message, nothing silent."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"))
    r = subprocess.run(
        f"{sys.executable} -m sail.cli simulate --json >&-",
        shell=True,
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2, r.stderr
    assert "standard output is closed" in r.stderr and "Traceback" not in r.stderr


# ---- python -m sail.runtimes ---------------------------------------------------------------------


def test_runtimes_help_and_bad_file(capsys, tmp_path):
    from sail import runtimes

    assert runtimes.main(["--help"]) == 0
    assert "Snakemake log" in capsys.readouterr().out
    assert runtimes.main([str(tmp_path / "missing.log")]) == 2
    assert "missing.log" in capsys.readouterr().err


def test_runtimes_reads_a_log(capsys, tmp_path):
    from sail import runtimes

    log = tmp_path / "run.snakemake.log"
    log.write_text(
        "[Mon Nov 30 10:00:00 2026]\nrule sim_decode:\n    jobid: 3\n"
        "[Mon Nov 30 10:00:07 2026]\nFinished jobid: 3 (Rule: sim_decode)\n"
    )
    assert runtimes.main([str(log)]) == 0
    out = capsys.readouterr().out
    assert "sim_decode" in out and "7 s" in out
