"""`sail simulate`: JSON keys, human output, overrides and errors (exit code 2 with the key named)."""

import json

import pytest

from sail.cli import SUBCOMMANDS, main

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


def test_json_has_the_contract_keys(capsys):
    assert main(ARGS + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("tokens_per_s", "memory_bound_tokens_per_s", "compute_bound_tokens_per_s", "breakdown_s"):
        assert key in d
    assert sum(d["breakdown_s"].values()) == pytest.approx(d["step_s"])
    assert d["tokens_per_s"] <= min(d["memory_bound_tokens_per_s"], d["compute_bound_tokens_per_s"]) * (
        1 + 1e-9
    )


def test_set_overrides_a_parameter(capsys):
    main(ARGS + ["--json"])
    base = json.loads(capsys.readouterr().out)
    main(ARGS + ["--json", "--set", "csram.arrays_per_slice=1", "--set", "op_profile=pimeval_bitsimd_v"])
    slow = json.loads(capsys.readouterr().out)
    assert slow["tokens_per_s"] < base["tokens_per_s"]
    assert slow["overrides"] == {"csram.arrays_per_slice": 1.0, "op_profile": "pimeval_bitsimd_v"}


def test_human_output_prints_bounds_and_breakdown(capsys):
    assert main(ARGS) == 0
    out = capsys.readouterr().out
    assert "memory bound tokens/s" in out and "compute bound tokens/s" in out and "lookup_s" in out


def test_prt_table_is_used(capsys, prt_table, tmp_path):
    path = tmp_path / "prt.csv"
    prt_table.to_csv(path, index=False)
    main(ARGS + ["--json"])
    base = json.loads(capsys.readouterr().out)
    main(ARGS + ["--json", "--prt", str(path)])
    withprt = json.loads(capsys.readouterr().out)
    assert withprt["prt_avoided_fraction"] > 0 == base["prt_avoided_fraction"]
    assert withprt["breakdown_s"]["lookup_s"] < base["breakdown_s"]["lookup_s"]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--set", "csram.bogus=3"], "'csram.bogus'"),
        (["--set", "csram.cols=0"], "'csram.cols'"),
    ],
)
def test_bad_input_exits_2_naming_the_key(capsys, extra, needle):
    assert main(ARGS + extra) == 2
    assert needle in capsys.readouterr().err


def test_unknown_model_exits_2(capsys):
    args = list(ARGS)
    args[args.index("llama2-7b")] = "llama9"
    assert main(args) == 2
    assert "'llama9'" in capsys.readouterr().err


def test_subcommands_are_registered_for_dispatch():
    assert "simulate" in SUBCOMMANDS
    add_args, run, help_text = SUBCOMMANDS["simulate"]
    assert callable(add_args) and callable(run) and help_text
