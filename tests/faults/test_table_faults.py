"""Fault suite, intermediate tables: every table one stage writes and another reads is checked against
its contract (sail.contracts.tables) when written and when read; the reference comparison covers the
JSON results too and survives one unreadable file."""

from __future__ import annotations

import json
import lzma
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sail.contracts import ContractError
from sail.contracts.tables import TABLES
from sail.io import read_table, write_table

REPO = Path(__file__).resolve().parents[2]
REF = REPO / "data" / "reference"


def ref_path(name: str) -> Path:
    for cand in (REF / name, REF / (name + ".xz"), REF / "quant" / name):
        if cand.exists():
            return cand
    pytest.skip(f"no reference table for {name}")


@pytest.mark.parametrize("name", sorted(TABLES))
def test_reference_tables_satisfy_their_contract(name):
    from sail.contracts.tables import validate

    p = ref_path(name)
    validate(pd.read_csv(p), name)


def write_at(tmp_path: Path, name: str, df: pd.DataFrame | None = None, text: str | None = None) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if text is not None:
        p.write_text(text)
    else:
        df.to_csv(p, index=False)
    return p


@pytest.fixture(scope="module")
def decode():
    return pd.read_csv(REF / "sim" / "decode.csv")


DECODE_CASES = [
    ("garbage", None, "x,y\n1,2\n", "missing column(s)"),
    ("header-only", lambda d: d.iloc[:0], None, "the table has no rows"),
    ("nan-tokens-per-s", lambda d: d.assign(tokens_per_s=np.where(d.index == 3, np.nan, d.tokens_per_s)), None,
     "column 'tokens_per_s' fails 'not_nullable' at rows 3"),
    ("inf-step", lambda d: d.assign(step_s=np.where(d.index == 5, np.inf, d.step_s)), None, "'step_s'"),
    ("negative-breakdown", lambda d: d.assign(dram_s=-d.dram_s - 1), None, "column 'dram_s'"),
    ("w-bits-out-of-range", lambda d: d.assign(w_bits=64), None, "column 'w_bits'"),
    ("batch-absurd", lambda d: d.assign(batch=10**9), None, "column 'batch'"),
    ("sail-w-bits-9", lambda d: d.assign(w_bits=np.where(d.system == "sail", 9, d.w_bits)), None,
     "invariant 'SAIL rows have w_bits and a_bits in 1..8'"),
    ("text-in-numbers", lambda d: d.assign(tokens_per_s="fast"), None, "column 'tokens_per_s' fails 'must be numeric'"),
    ("avoided-fraction-above-one", lambda d: d.assign(prt_avoided_fraction=1.5), None, "'prt_avoided_fraction'"),
]


@pytest.mark.parametrize("corrupt,text,needle", [c[1:] for c in DECODE_CASES], ids=[c[0] for c in DECODE_CASES])
def test_corrupt_decode_table_named_when_read(tmp_path, decode, corrupt, text, needle):
    p = write_at(tmp_path, "sim/decode.csv", corrupt(decode.copy()) if corrupt else None, text)
    with pytest.raises(ValueError) as err:
        read_table(p)
    assert str(p) in str(err.value) and needle in str(err.value)


@pytest.mark.parametrize("content,needle", [("", "is empty"), ("\n\n", "is empty"), ("a,b\n1,2\n3,4,5,6\n", "not a readable CSV")],
                         ids=["zero-bytes", "blank-lines", "ragged-rows"])
def test_unreadable_csv_named(tmp_path, content, needle):
    p = write_at(tmp_path, "sim/area.csv", text=content)
    with pytest.raises(ValueError) as err:
        read_table(p)
    assert str(p) in str(err.value) and needle in str(err.value)


def test_area_overhead_negative_named(tmp_path):
    p = write_at(tmp_path, "sim/area.csv", text="component,overhead_fraction\ntotal,-0.5\n")
    with pytest.raises(ContractError, match="overhead_fraction"):
        read_table(p)


def test_bad_table_is_never_written(tmp_path, decode):
    """A stage that produces a table breaking its contract fails and leaves no file behind."""
    p = tmp_path / "sim" / "decode.csv"
    with pytest.raises(ContractError, match=r"\(write\)"):
        write_table(decode.assign(tokens_per_s=np.nan), p)
    assert not p.exists()
    assert not list(p.parent.glob(".*part*")) if p.parent.exists() else True


def test_good_table_round_trips(tmp_path, decode):
    p = tmp_path / "sim" / "decode.csv"
    write_table(decode, p)
    assert len(read_table(p)) == len(decode)


def test_prt_saving_hits_above_lookups_rejected_on_write(tmp_path):
    s = pd.read_csv(REF / "sim" / "prt_saving.csv")
    with pytest.raises(ContractError, match="cycle_saving_fraction"):
        write_table(s.assign(cycle_saving_fraction=-0.3), tmp_path / "sim" / "prt_saving.csv")


def test_cost_tables_checked(tmp_path):
    r = pd.read_csv(REF / "cost" / "tpd_ratios.csv")
    p = write_at(tmp_path, "cost/tpd_ratios.csv", r.assign(tpd_ratio=np.where(r.index == 2, np.nan, r.tpd_ratio)))
    with pytest.raises(ContractError, match="'tpd_ratio' fails 'not_nullable' at rows 2"):
        read_table(p)


def test_notebooks_read_tables_through_the_contracts():
    for nb in (REPO / "notebooks").glob("fig*.ipynb"):
        for cell in json.loads(nb.read_text())["cells"]:
            for line in cell["source"]:
                assert "pd.read_csv(" not in line or "dtype=" in line, f"{nb.name}: {line.strip()}"


# ---- sail.reference compare ------------------------------------------------------------------------------
@pytest.fixture()
def dirs(tmp_path):
    run, ref = tmp_path / "run", tmp_path / "ref"
    for d in (run, ref):
        (d / "sim").mkdir(parents=True)
        (d / "quant" / "ppl").mkdir(parents=True)
        (d / "figures").mkdir()
    a = pd.DataFrame({"model": ["m"], "tokens_per_s": [1.5], "step_s": [0.1]})
    for d in (run, ref):
        a.to_csv(d / "sim" / "x.csv", index=False)
        a.to_csv(d / "sim" / "y.csv", index=False)
        (d / "quant" / "ppl" / "rtn_w4_g32.json").write_text(json.dumps({"ppl": 33.0, "w_bits": 4, "eval_s": 10.0,
                                                                          "method": "rtn"}))
    return run, ref


def compare(run, ref):
    from sail.reference import compare_dirs

    return {v.rel_path: v for v in compare_dirs(run, ref, run / "figures")}


def test_reference_identical_is_ok(dirs):
    assert {v.status for v in compare(*dirs).values()} == {"ok"}


@pytest.mark.parametrize("edit,status,needle", [
    (lambda run: (run / "sim" / "x.csv").write_text(""), "mismatch", "is empty"),
    (lambda run: (run / "sim" / "x.csv").write_text("garbage\n\x00\x01"), "mismatch", "columns differ"),
    (lambda run: (run / "sim" / "x.csv").unlink(), "missing", "not found"),
    (lambda run: (run / "quant" / "ppl" / "rtn_w4_g32.json").write_text(json.dumps(
        {"ppl": 64355006.0, "w_bits": 4, "eval_s": 10.0, "method": "rtn"})), "mismatch", "ppl: reference 33"),
    (lambda run: (run / "quant" / "ppl" / "rtn_w4_g32.json").write_text("{not json"), "mismatch", "not readable"),
    (lambda run: (run / "quant" / "ppl" / "rtn_w4_g32.json").write_text(json.dumps({"ppl": 33.0})), "mismatch",
     "keys differ"),
    (lambda run: (run / "quant" / "ppl" / "rtn_w4_g32.json").write_text(json.dumps(
        {"ppl": 33.0, "w_bits": 4, "eval_s": 99.0, "method": "rtn"})), "drift", "eval_s"),
], ids=["empty-csv", "garbage-csv", "missing-csv", "ppl-json-wrong", "json-unreadable", "json-keys", "json-timing-drift"])
def test_reference_compare_names_each_bad_file_and_goes_on(dirs, edit, status, needle):
    run, ref = dirs
    edit(run)
    verdicts = compare(run, ref)
    bad = [v for v in verdicts.values() if v.status != "ok"]
    assert len(bad) == 1 and bad[0].status == status, [v.line() for v in verdicts.values()]
    assert needle in bad[0].line()
    assert verdicts["sim/y.csv"].status == "ok"  # the other files are still compared


def test_reference_dirs_missing(tmp_path):
    from sail.reference import main

    assert main(["compare", str(tmp_path / "nope"), str(tmp_path / "nope_ref")]) == 2


def test_reference_unchecked_json_listed(dirs):
    run, ref = dirs
    (run / "model").mkdir()
    (run / "model" / "model_card.json").write_text("{}")
    assert compare(run, ref)["model/model_card.json"].status == "unchecked"


def test_reference_compressed_table_read(dirs):
    run, ref = dirs
    src = ref / "sim" / "y.csv"
    (ref / "sim" / "y.csv.xz").write_bytes(lzma.compress(src.read_bytes()))
    src.unlink()
    assert compare(run, ref)["sim/y.csv"].status == "ok"
    shutil.rmtree(run / "sim")
    assert compare(run, ref)["sim/y.csv"].status == "missing"
