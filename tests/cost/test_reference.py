"""sail.reference: per-column tolerances, per-file verdicts and the exit status reviewers rely on."""

import pandas as pd
import pytest

from sail.io import FLOAT_FORMAT
from sail.reference import DEFAULT_TOLERANCES, compare_dirs, compare_frames, main, snapshot, tolerance_for


def write_table(df, path):
    """As sail.io.write_table, without the stage contracts: these toy tables only exercise the comparison."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def _run(tmp_path, name="run"):
    run = tmp_path / name / "results" / "quick"
    write_table(pd.DataFrame({"system": ["cpu", "sail"], "batch": [1, 4], "tokens_per_s": [10.0, 95.5]}),
                run / "sim" / "decode.csv")
    write_table(pd.DataFrame({"shape": ["4096x4096"], "w_bits": [2], "n_copies": [5], "latency_s": [0.0123]}),
                run / "kernels" / "bench.csv")
    write_table(pd.DataFrame({"method": ["rtn"], "ppl": [12.3456], "tokens_per_s": [150.0]}),
                run / "quant" / "ppl.csv")
    write_table(pd.DataFrame({"claim_id": ["tpd_cpu"], "our_value": ["8.8x"]}), run / "figures" / "tab04_claims.csv")
    return run


@pytest.fixture
def run_and_ref(tmp_path):
    run = _run(tmp_path)
    ref = tmp_path / "reference"
    snapshot(run, ref)
    return run, ref


def test_snapshot_then_compare_is_clean(run_and_ref, capsys):
    run, ref = run_and_ref
    assert sorted(p.relative_to(ref).as_posix() for p in ref.rglob("*.csv")) == [
        "figures/tab04_claims.csv", "kernels/bench.csv", "quant/ppl.csv", "sim/decode.csv"]
    assert main(["compare", str(run), str(ref)]) == 0
    assert "REPRODUCED: 4 ok" in capsys.readouterr().out


def _edit(path, **changes):
    df = pd.read_csv(path)
    for col, (row, value) in changes.items():
        df[col] = df[col].astype(object) if isinstance(value, str) else df[col]
        df.loc[row, col] = value
    write_table(df, path)


@pytest.mark.parametrize("rel, changes, status", [
    ("sim/decode.csv", {"tokens_per_s": (1, 95.5 * (1 + 2e-6))}, "ok"),        # format noise: allowed
    ("sim/decode.csv", {"tokens_per_s": (1, 95.5 * 1.001)}, "mismatch"),       # modelled numbers are tight
    ("sim/decode.csv", {"batch": (0, 2)}, "mismatch"),                         # integers are exact
    ("sim/decode.csv", {"system": (0, "gpu")}, "mismatch"),                    # categories are exact
    ("kernels/bench.csv", {"latency_s": (0, 0.0123 * 1.3)}, "ok"),             # measured: loose
    ("kernels/bench.csv", {"latency_s": (0, 0.0123 * 2.0)}, "drift"),          # another machine: reported
    ("kernels/bench.csv", {"n_copies": (0, 20)}, "drift"),                     # measured file: ints too
    ("kernels/bench.csv", {"w_bits": (0, 3)}, "mismatch"),                     # configuration: exact
    ("kernels/bench.csv", {"shape": (0, "11008x4096")}, "mismatch"),
    ("quant/ppl.csv", {"ppl": (0, 12.3456 * 1.0005)}, "ok"),
    ("quant/ppl.csv", {"ppl": (0, 12.3456 * 1.01)}, "mismatch"),
    ("quant/ppl.csv", {"tokens_per_s": (0, 300.0)}, "drift"),                  # measured by its name
    ("figures/tab04_claims.csv", {"our_value": (0, "8.9x")}, "mismatch"),
])
def test_tolerances_per_column(run_and_ref, rel, changes, status):
    run, ref = run_and_ref
    target = run / rel
    _edit(target, **changes)
    verdicts = {v.rel_path: v for v in compare_dirs(run, ref)}
    assert verdicts[rel].status == status, verdicts[rel].problems
    assert main(["compare", str(run), str(ref)]) == (1 if status == "mismatch" else 0)
    assert main(["compare", "--strict", str(run), str(ref)]) == (0 if status == "ok" else 1)


def test_missing_and_unchecked_files(run_and_ref, capsys):
    run, ref = run_and_ref
    (run / "sim" / "decode.csv").unlink()
    write_table(pd.DataFrame({"a": [1]}), run / "cost" / "new.csv")
    verdicts = {v.rel_path: v.status for v in compare_dirs(run, ref)}
    assert verdicts["sim/decode.csv"] == "missing"
    assert verdicts["cost/new.csv"] == "unchecked"
    assert main(["compare", str(run), str(ref)]) == 1
    assert "NOT REPRODUCED" in capsys.readouterr().out


def test_shape_changes_are_mismatches():
    ref = pd.DataFrame({"a": [1.0, 2.0]})
    for path in ("x.csv", "kernels/bench.csv"):  # a measured table with another shape is a failure too
        assert compare_frames(ref, ref.rename(columns={"a": "b"}), path, DEFAULT_TOLERANCES)[0]
        assert compare_frames(ref, ref.iloc[:1], path, DEFAULT_TOLERANCES)[0]
    nan = ref.assign(a=[float("nan"), 1.0])
    assert compare_frames(nan, nan, "x.csv", DEFAULT_TOLERANCES) == ([], [])


def test_tolerance_rules_first_match_wins():
    modelled = tolerance_for("sim/decode.csv", "gemv_s", DEFAULT_TOLERANCES)  # the simulator's seconds
    assert (modelled.rel, modelled.measured) == (1e-5, False)
    for path, col in (("kernels/bench.csv", "gemv_s"), ("sim/benchmark.csv", "sweep_s"),
                      ("sim/cpu_calibration.csv", "measured_gops"), ("kernels/compute_ceiling.csv", "gops"),
                      ("quant/x.csv", "tokens_per_s"), ("sim/crosscheck.csv", "event_seconds")):
        measured = tolerance_for(path, col, DEFAULT_TOLERANCES)
        assert (measured.rel, measured.measured) == (0.5, True), (path, col)
    assert tolerance_for("sim/cpu_calibration.csv", "w_bits", DEFAULT_TOLERANCES).rel == 0.0
    # The cross-check's modelled cycles stay tight (1e-3) next to the event simulator's wall time.
    assert tolerance_for("sim/crosscheck.csv", "event_cycles", DEFAULT_TOLERANCES).measured is False


def test_tolerances_yaml_overrides_defaults(run_and_ref):
    run, ref = run_and_ref
    (ref / "tolerances.yaml").write_text("- {file: '*', column: '*', rel: 0.5}\n")
    _edit(run / "sim" / "decode.csv", tokens_per_s=(1, 95.5 * 1.2))
    assert main(["compare", str(run), str(ref)]) == 0


def test_full_run_reads_figures_from_the_top_level(tmp_path, monkeypatch):
    root = tmp_path / "clone"
    write_table(pd.DataFrame({"a": [1]}), root / "results" / "full" / "sim" / "x.csv")
    write_table(pd.DataFrame({"b": [2]}), root / "figures" / "tab01_hardware.csv")
    monkeypatch.chdir(root)
    snapshot("results/full", "ref")
    assert (root / "ref" / "figures" / "tab01_hardware.csv").exists()
    assert main(["compare", "results/full", "ref"]) == 0


def test_empty_reference_is_an_error_not_a_pass(tmp_path, capsys):
    run = _run(tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(run), str(tmp_path / "empty")]) == 2
    assert "holds no CSV" in capsys.readouterr().err


def test_missing_text_values_compare_equal():
    ref = pd.DataFrame({"note": ["a", None, "c"], "group_size": ["128", None, "32"]})
    assert compare_frames(ref, ref.copy(), "figures/tab03_accuracy.csv", DEFAULT_TOLERANCES) == ([], [])
    changed = ref.assign(note=["a", "b", "c"])
    assert compare_frames(ref, changed, "figures/tab03_accuracy.csv", DEFAULT_TOLERANCES)[0]


def test_large_tables_are_stored_compressed_and_still_compared(tmp_path, monkeypatch):
    import sail.reference as reference

    run = _run(tmp_path)
    monkeypatch.setattr(reference, "COMPRESS_ABOVE_BYTES", 20)  # every table of the fixture is larger
    ref = tmp_path / "reference"
    stored = snapshot(run, ref)
    assert "sim/decode.csv.xz" in stored and not (ref / "sim" / "decode.csv").exists()
    assert main(["compare", str(run), str(ref)]) == 0
    _edit(run / "sim" / "decode.csv", tokens_per_s=(1, 95.5 * 1.001))
    assert {v.rel_path: v.status for v in compare_dirs(run, ref)}["sim/decode.csv"] == "mismatch"
    monkeypatch.setattr(reference, "COMPRESS_ABOVE_BYTES", 10**9)  # and back: no stale .xz is left
    snapshot(run, ref)
    assert (ref / "sim" / "decode.csv").exists() and not (ref / "sim" / "decode.csv.xz").exists()


def test_profile_counts_tolerate_a_few_flipped_bins_but_not_more():
    """Counts of quantised float activations move by a few in 10^7 between CPUs (BLAS order); a
    modelled table's integers and a profile count that moved by 1 % still fail."""
    ref = pd.DataFrame({"n_bw": [4], "zero_skips": [63526163]})
    near = pd.DataFrame({"n_bw": [4], "zero_skips": [63526167]})
    far = pd.DataFrame({"n_bw": [4], "zero_skips": [64161424]})
    assert compare_frames(ref, near, "profile/prt_hits.csv", DEFAULT_TOLERANCES) == ([], [])
    assert compare_frames(ref, far, "profile/prt_hits.csv", DEFAULT_TOLERANCES)[0]
    assert compare_frames(ref, near, "sim/decode.csv", DEFAULT_TOLERANCES)[0]  # modelled: exact
    assert compare_frames(ref, ref.assign(n_bw=8), "profile/prt_hits.csv", DEFAULT_TOLERANCES)[0]  # configuration
