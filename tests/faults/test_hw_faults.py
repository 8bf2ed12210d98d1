"""Fault suite, hardware descriptions and simulator inputs: strict ``load_hw`` (schema, typos with a
"did you mean", finite values in range), bounded workloads, and the PRT table's contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sail.sim import HwError, NotModelled, load_hw, simulate, sweep

REPO = Path(__file__).resolve().parents[2]
HW = REPO / "config" / "hw"


@pytest.fixture()
def hw_dir(tmp_path):
    d = tmp_path / "hw"
    shutil.copytree(HW, d)
    return d


def edit(hw_dir: Path, stem: str, old: str, new: str, line_key: str | None = None) -> Path:
    """Replace ``old`` by ``new`` once, inside the first line holding ``line_key`` if given (so the
    cases do not depend on the wording of a source citation)."""
    p = hw_dir / f"{stem}.yaml"
    lines = p.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if (line_key is None or line_key in line) and old in line:
            lines[i] = line.replace(old, new, 1)
            break
    else:
        text = p.read_text()
        assert old in text, old
        p.write_text(text.replace(old, new, 1))
        return p
    p.write_text("".join(lines))
    return p


# (id, file, old text, new text, what the message must contain); "key: old" edits only that key's line
FILE_CASES = [
    ("required-key-deleted", "sail", "    rows: {value: 256,", "    # rows: {value: 256,", "'csram.rows'"),
    ("negative-dram-bandwidth", "graviton2", "dram_bw_gbps: {value: 204.8,", "dram_bw_gbps: {value: -204.8,",
     "memory.dram_bw_gbps"),
    ("text-instead-of-number", "sail", "n_bw: {value: 4,", "n_bw: {value: fast,", "'fast'"),
    ("yaml-syntax-error", "sail", "params:\n", "params: [\n", "not valid YAML at line"),
    ("nan-value", "sail", "arrays_per_slice: {value: 8,", "arrays_per_slice: {value: .nan,", "csram.arrays_per_slice must be finite"),
    ("inf-value", "sail", "arrays_per_slice: {value: 8,", "arrays_per_slice: {value: .inf,", "csram.arrays_per_slice must be finite"),
    ("clock-zero", "sail", "csram_clock: {value: 2.5,", "{value: 0,", "'csram.clock_ghz' = 0"),
    ("efficiency-above-one", "graviton2", "dram_efficiency: {value: 0.8,", "dram_efficiency: {value: 8.0,",
     "'memory.dram_efficiency' = 8.0"),
    ("n-bw-beyond-kernels", "sail", "n_bw: {value: 4,", "n_bw: {value: 40,", "'csram.n_bw' = 40"),
    ("n-bw-fractional", "sail", "n_bw: {value: 4,", "n_bw: {value: 4.5,", "'csram.n_bw' = 4.5"),
    ("flag-not-0-or-1", "sail", "overlap_load_compute: {value: 1,", "overlap_load_compute: {value: 2,",
     "'csram.overlap_load_compute' = 2"),
    ("count-huge", "sail", "arrays_per_slice: {value: 8,", "arrays_per_slice: {value: 1.0e+30,", "'csram.arrays_per_slice'"),
    ("typo-key-did-you-mean", "graviton2", "dram_bw_gbps:", "dram_bw_gpbs:",
     "unknown hardware parameter 'memory.dram_bw_gpbs' (did you mean 'memory.dram_bw_gbps'?)"),
    ("typo-section-did-you-mean", "sail", "  csram:\n", "  csrm:\n", "unknown parameter section 'csrm' (did you mean 'csram'?)"),
    ("typo-option-did-you-mean", "sail", "  op_profile:", "  op_profil:", "unknown hardware option 'op_profil' (did you mean 'op_profile'?)"),
    ("typo-top-level-did-you-mean", "sail", "description:", "descripton:", "unknown top-level key 'descripton' (did you mean 'description'?)"),
    ("option-value-unknown", "sail", "accumulate_style: {value: near_array", "accumulate_style: {value: nearr",
     "'accumulate_style' = 'nearr'"),
    ("unknown-system", "sail", "system: sail", "system: tpu", "'tpu'"),
    ("missing-base", "sail", "base: graviton2.yaml", "base: graviton9.yaml", "graviton9.yaml does not exist"),
    ("unit-empty", "sail", "rows: {value: 256, unit: wordlines,", "rows: {value: 256, unit: \"\",", "'csram.rows'"),
]


def apply_case(hw_dir, stem, old, new):
    """``"key: fragment"`` edits ``fragment`` in the line of ``key``; otherwise a plain replacement."""
    if old.startswith("csram_clock: "):
        return edit(hw_dir, stem, old.split(": ", 1)[1], new, "clock_ghz: {value: 2.5")
    return edit(hw_dir, stem, old, new)


@pytest.mark.parametrize("stem,old,new,needle", [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES])
def test_bad_description_is_rejected_naming_file_and_key(hw_dir, stem, old, new, needle):
    path = apply_case(hw_dir, stem, old, new)
    with pytest.raises(HwError) as err:
        load_hw(path)
    assert needle in str(err.value)
    assert str(hw_dir) in str(err.value)


@pytest.mark.parametrize("repl,needle", [('sourc: "\\1"', "dfm.prt_entries is missing 'source'"),
                                         ('source: ""', "dfm.prt_entries source ''"),
                                         ('source: "guess"', "dfm.prt_entries source 'guess'")],
                         ids=["param-without-source", "empty-source", "source-without-kind"])
def test_source_missing_or_malformed(hw_dir, repl, needle):
    import re

    p = hw_dir / "sail.yaml"
    lines = p.read_text().splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if "prt_entries:" in line)
    lines[i] = re.sub(r'source: "([^"]*)"', repl, lines[i])
    p.write_text("".join(lines))
    with pytest.raises(HwError) as err:
        load_hw(p)
    assert needle in str(err.value) and str(p) in str(err.value)


def test_circular_base(hw_dir):
    edit(hw_dir, "graviton2", "name: graviton2\n", "name: graviton2\nbase: sail.yaml\n")
    with pytest.raises(HwError, match="circular base chain"):
        load_hw(hw_dir / "sail.yaml")


@pytest.mark.parametrize("content,needle", [(b"", "not a mapping"), (b"name: x\nsystem: cpu\nparams: {cpu: {cores: {value: 4, unit:",
                                                                                   "not valid YAML"),
                                            (bytes(range(256)) * 4, "not UTF-8 text")],
                         ids=["empty-file", "truncated-file", "binary-garbage"])
def test_unreadable_description_names_the_file(tmp_path, content, needle):
    p = tmp_path / "bad.yaml"
    p.write_bytes(content)
    with pytest.raises(HwError) as err:
        load_hw(p)
    assert needle in str(err.value) and str(p) in str(err.value)


def test_nonexistent_and_directory_paths(tmp_path):
    with pytest.raises(HwError, match="does not exist"):
        load_hw(tmp_path / "nope.yaml")
    with pytest.raises(HwError, match="is a directory"):
        load_hw(tmp_path)


def test_every_shipped_description_loads_strictly():
    for p in sorted(HW.glob("*.yaml")):
        load_hw(p)


# ---- overrides and workloads (what `sail simulate` passes to the library) ----------------------------
@pytest.fixture(scope="module")
def sail():
    return load_hw(HW / "sail.yaml")


OVERRIDES = [
    ("unknown-key", {"csram.warp": 3}, "'csram.warp'"),
    ("unknown-key-did-you-mean", {"csram.clock_ghs": 3}, "did you mean 'csram.clock_ghz'"),
    ("text-value", {"csram.clock_ghz": "fast"}, "csram.clock_ghz='fast'"),
    ("nan-value", {"csram.clock_ghz": float("nan")}, "csram.clock_ghz must be finite"),
    ("inf-bandwidth", {"memory.dram_bw_gbps": float("inf")}, "memory.dram_bw_gbps must be finite"),
    ("negative-arrays", {"csram.arrays_per_slice": -8}, "'csram.arrays_per_slice' = -8.0"),
    ("n-bw-beyond", {"csram.n_bw": 40}, "'csram.n_bw' = 40.0"),
]


@pytest.mark.parametrize("overrides,needle", [c[1:] for c in OVERRIDES], ids=[c[0] for c in OVERRIDES])
def test_bad_override_names_key_and_value(sail, overrides, needle):
    with pytest.raises(HwError) as err:
        simulate(sail, "llama2-7b", 4, 8, 1, 512, overrides=overrides)
    assert needle in str(err.value)


def test_unknown_op_profile_named(sail):
    with pytest.raises(ValueError, match="bogus"):
        simulate(sail, "llama2-7b", 4, 8, 1, 512, overrides={"op_profile": "bogus"})


WORKLOADS = [
    ("model-unknown", dict(model="gpt5"), "gpt5"),
    ("w-bits-0", dict(w_bits=0), "w_bits"),
    ("w-bits-9-on-sail", dict(w_bits=9), "w_bits must be an integer in 1..8"),
    ("w-bits-64-on-sail", dict(w_bits=64), "got 64"),
    ("a-bits-99", dict(a_bits=99), "a_bits must be an integer in 1..8"),
    ("batch-0", dict(batch=0), "batch"),
    ("batch-negative", dict(batch=-1), "batch"),
    ("batch-1e9", dict(batch=1_000_000_000), "batch must be an integer in 1..4096"),
    ("batch-10-pow-30", dict(batch=10**30), "batch"),
    ("context-negative", dict(context=-5), "context"),
    ("context-beyond-model", dict(context=1_000_000_000), "llama2-7b's context bound"),
    ("group-size-0", dict(group_size=0), "group_size"),
    ("w-bits-bool", dict(w_bits=True), "w_bits"),
]


@pytest.mark.parametrize("change,needle", [c[1:] for c in WORKLOADS], ids=[c[0] for c in WORKLOADS])
def test_bad_workload_names_the_value(sail, change, needle):
    args = dict(model="llama2-7b", w_bits=4, a_bits=8, batch=1, context=512) | change
    with pytest.raises(ValueError) as err:
        simulate(sail, **args)
    assert needle in str(err.value)


def test_sweep_bounds_workloads_too(sail):
    pts = pd.DataFrame({"model": ["llama2-7b"] * 2, "w_bits": [4, 4], "a_bits": [8, 8], "batch": [1, 10**7],
                        "context": [512, 512]})
    with pytest.raises(ValueError, match="batch must be an integer in 1..4096"):
        sweep(sail, pts)


def test_cpu_model_still_refuses_unmodelled_widths():
    with pytest.raises(NotModelled, match="w_bits"):
        simulate(load_hw(HW / "graviton2.yaml"), "llama2-7b", 5, 8, 1, 512)


# ---- the PRT table (profile -> sim) ---------------------------------------------------------------------
PRT_REF = REPO / "data" / "reference" / "profile" / "prt_hits.csv"


@pytest.fixture(scope="module")
def prt():
    return pd.read_csv(PRT_REF)


@pytest.fixture(scope="module")
def prt_sample(prt):
    """Every 16th row: corrupting it exercises the same checks as the full table, 16x cheaper."""
    return prt.iloc[::16].reset_index(drop=True)


def _nan_hits(d):
    d.loc[::2, "prt_hits"] = np.nan
    return d


PRT_CASES = [
    ("nan-hits", _nan_hits, "column 'prt_hits' fails 'not_nullable'"),
    ("hits-above-lookups", lambda d: d.assign(prt_hits=d.prt_hits * 2), "zero_skips + prt_hits <= lookups"),
    ("negative-hits", lambda d: d.assign(prt_hits=-d.prt_hits), "column 'prt_hits' fails 'greater_than_or_equal_to(0)'"),
    ("lookups-zero", lambda d: d.assign(lookups=0), "column 'lookups' fails 'greater_than_or_equal_to(1)'"),
    ("missing-column", lambda d: d.drop(columns=["sram_reads"]), "missing column(s) ['sram_reads']"),
    ("unknown-layer-type", lambda d: d.assign(layer_type="qq"), "'qq'"),
    ("header-only", lambda d: d.iloc[:0], "the table has no rows"),
    ("inf-fraction", lambda d: d.assign(avoided_fraction=np.inf), "column 'avoided_fraction' fails 'must be finite"),
]


@pytest.mark.parametrize("corrupt,needle", [c[1:] for c in PRT_CASES], ids=[c[0] for c in PRT_CASES])
def test_corrupt_prt_table_is_rejected_where_read(tmp_path, sail, prt_sample, corrupt, needle):
    """Read from disk (sail.io.read_table, as every sim script does) and passed in memory (simulate)."""
    from sail.io import read_table

    bad = corrupt(prt_sample.copy())
    path = tmp_path / "profile" / "prt_hits.csv"
    path.parent.mkdir()
    bad.to_csv(path, index=False)
    with pytest.raises(ValueError) as err:
        read_table(path)
    assert needle in str(err.value) and str(path) in str(err.value)
    if len(bad):
        with pytest.raises(ValueError) as err:
            simulate(sail, "smollm2-135m", 4, 8, 8, 512, prt=bad)
        assert needle in str(err.value)


def test_prt_point_not_profiled_is_named(sail, prt):
    with pytest.raises(ValueError, match="no rows for n_bw=4, a_bits=5"):
        simulate(sail, "smollm2-135m", 4, 5, 8, 512, prt=prt)


def test_prt_saving_rejects_hits_above_lookups(sail, prt):
    from sail.sim.prt import prt_saving

    with pytest.raises(ValueError, match="zero_skips \\+ prt_hits <= lookups"):
        prt_saving(sail, prt.assign(prt_hits=prt.prt_hits * 2))


def test_prt_table_nonexistent_named(tmp_path):
    from sail.io import read_table

    with pytest.raises(FileNotFoundError, match="prt_hits.csv"):
        read_table(tmp_path / "prt_hits.csv")


def test_garbage_prt_csv(tmp_path):
    from sail.io import read_table

    p = tmp_path / "profile" / "prt_hits.csv"
    p.parent.mkdir()
    p.write_text("hello,world\n1,2\n")
    with pytest.raises(ValueError, match="missing column"):
        read_table(p)


def test_overrides_may_be_fractional_counts_but_not_fractional_bits(sail):
    """Sweeps treat the model as a function of its parameters (8.5 arrays is fine there); a LUT of
    2**n_bw entries needs a whole n_bw."""
    simulate(sail, "llama2-7b", 4, 8, 1, 512, overrides={"csram.arrays_per_slice": 8.5})
    with pytest.raises(HwError, match="'csram.n_bw' = 4.5"):
        simulate(sail, "llama2-7b", 4, 8, 1, 512, overrides={"csram.n_bw": 4.5})


def test_baselines_cover_fp16_and_fractional_block_widths():
    gpu = load_hw(HW / "v100.yaml")
    simulate(gpu, "llama2-7b", 16, 16, 1, 512)
    with pytest.raises(ValueError, match="w_bits must be an integer in 1..16"):
        simulate(gpu, "llama2-7b", 32, 16, 1, 512)
