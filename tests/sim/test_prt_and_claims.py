"""PRT saving, claims verdict logic, area, calibration, and the committed pLUTo-style reference output."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sail.sim import prt_fractions, simulate
from sail.sim.calibration import cpu_predicted_vs_measured, error_summary
from sail.sim.experiments import area_claim, prt_claim, speedup_claim
from sail.sim.prt import default_point, prt_saving

REFERENCE = Path(__file__).resolve().parent / "reference_outputs" / "quick.csv"


def test_prt_saving_is_zero_without_reuse_and_positive_with_it(load, prt_table):
    s = prt_saving(load("sail"), prt_table)
    assert set(s.layer_type) == {"q", "k", "v", "o", "gate", "up", "down", "all"}
    assert (s.cycles_with_prt <= s.cycles_without_prt).all()
    assert (s.cycle_saving_fraction > 0).all()
    none = prt_table.assign(zero_skips=0, prt_hits=0, sram_reads=prt_table.lookups, avoided_fraction=0.0)
    assert np.allclose(prt_saving(load("sail"), none).cycle_saving_fraction, 0)


def test_prt_aggregate_row_sums_the_layer_types(load, prt_table):
    s = prt_saving(load("sail"), prt_table)
    keys = ["n_bw", "a_bits", "batch", "encoding", "policy", "prt_entries", "zero_skip"]
    parts = s[s.layer_type != "all"].groupby(keys).cycles_with_prt.sum()
    agg = s[s.layer_type == "all"].set_index(keys).cycles_with_prt
    pd.testing.assert_series_equal(parts.sort_index(), agg.sort_index(), check_names=False)


def test_prt_saving_bounded_by_avoided_reads(load, prt_table):
    # a hit removes at most its SRAM read; the saving can never exceed the avoided fraction
    s = prt_saving(load("sail"), prt_table)
    assert (s.cycle_saving_fraction <= s.avoided_fraction + 1e-12).all()


def test_prt_fractions_use_nearest_profiled_batch(prt_table):
    zf, hf = prt_fractions(prt_table, ["q", "lm_head"], 4, 8, [1, 3, 5, 64])
    assert zf.shape == (2, 4)
    # batch 3 -> profiled 4 (nearest in log2), 5 -> 4, 64 -> 16
    assert hf[0, 1] == hf[0, 2] == pytest.approx(hf[0, 1])
    sel = prt_table[
        (prt_table.layer_type == "q")
        & (prt_table.batch == 16)
        & (prt_table.policy == "lru")
        & (prt_table.prt_entries == 32)
        & (prt_table.encoding == "twos_complement")
        & ~prt_table.zero_skip
    ]
    assert hf[0, 3] == pytest.approx(sel.prt_hits.iloc[0] / sel.lookups.iloc[0])


def test_prt_missing_point_is_named(prt_table):
    with pytest.raises(ValueError, match="n_bw=3"):
        prt_fractions(prt_table, ["q"], 3, 8, [1])


def _prt_rows(values, n_bw=4):
    return pd.DataFrame(
        {
            "batch": [1, 16][: len(values)],
            "cycle_saving_fraction": values,
            "model": "m",
            "w_bits": 4,
            "a_bits": 8,
            "n_bw": n_bw,
        }
    )


@pytest.mark.parametrize(
    "values, verdict",
    [
        ([0.13, 0.145], "reproduced"),
        ([0.14, 0.2], "exceeded"),  # judged at every batch: batch 1 alone would say "reproduced"
        ([0.05, 0.14], "holds only when"),
        ([0.05, 0.06], "not reproduced"),
    ],
)
def test_prt_claim_is_judged_over_every_profiled_batch(values, verdict):
    c = prt_claim(_prt_rows(values), n_bw=4, a_bits=8, rel_tol=0.1)
    assert c.verdict == verdict
    if verdict == "holds only when":
        assert c.holds_where == "1 of 2 (n_bw, batch) points: n_bw=4: batch in {16}"


def test_prt_claim_region_spans_n_bw_and_names_sails_own():
    rows = pd.concat([_prt_rows([0.05, 0.06]), _prt_rows([0.14, 0.14], n_bw=2)])
    c = prt_claim(rows, n_bw=4, a_bits=8, rel_tol=0.1)
    assert c.verdict == "holds only when"
    assert c.holds_where == "2 of 4 (n_bw, batch) points: n_bw=2: batch in {1, 16}; n_bw=4: never"
    assert c.our_value.startswith("5.0..6.0 % at n_bw=4")  # another n_bw does not stand in for SAIL's own
    assert prt_claim(rows.iloc[:0], n_bw=4, a_bits=8).verdict == "not testable"
    assert prt_claim(_prt_rows([0.14, 0.2]), n_bw=5, a_bits=8).verdict == "not testable"


def test_prt_claim_reports_the_other_overlap_setting():
    c = prt_claim(_prt_rows([0.14, 0.14]), 4, 8, 0.1,
                  other_setting=("csram.overlap_read_accumulate=1", _prt_rows([0.0, 0.0])))
    assert "With csram.overlap_read_accumulate=1: 0.0 %" in c.why and "(not reproduced)" in c.why
    noise = prt_claim(_prt_rows([0.14, 0.14]), 4, 8, 0.1,
                      other_setting=("x=1", _prt_rows([-1e-17, 1e-17])))
    assert "-0.0" not in noise.why


def test_speedup_claim_verdicts():
    sp = pd.DataFrame(
        {
            "system": ["sail", "sail"],
            "model": "m",
            "w_bits": 4,
            "a_bits": 8,
            "batch": [1, 64],
            "context": 512,
            "speedup_vs_cpu": [1.0, 4.0],
        }
    )
    sens = pd.DataFrame({"x": [1, 2], "speedup_vs_cpu": [3.0, 12.0]})
    region = pd.DataFrame({"parameter": ["x", "x"], "value": ["1", "2"], "share_at_or_above": [0.0, 1.0]})
    c = speedup_claim(sp, sens, region, {"x": [1, 2]})
    assert c.verdict == "holds only when" and "x in {2}" in c.why and c.our_value == "4.00x"
    assert (
        speedup_claim(sp, sens.assign(speedup_vs_cpu=[1, 2]), region.assign(share_at_or_above=0), {}).verdict
        == "not reproduced"
    )
    assert speedup_claim(sp.assign(speedup_vs_cpu=[1, 11]), sens, region, {}).verdict == "reproduced"
    # a maximum far above the paper's is "exceeded", and the why says where the paper's value holds
    sens2 = pd.DataFrame(
        {"x": [1, 1, 2], "batch": [1, 64, 64], "context": [0, 0, 0], "speedup_vs_cpu": [1, 20, 30]}
    )
    over = speedup_claim(sp.assign(speedup_vs_cpu=[1, 30]), sens2, region, {"x": [1, 2]}, {"x": 1})
    assert over.verdict == "exceeded" and "context 0: batch >= 64" in over.why
    assert over.holds_where == "1 of 2 configurations: batch in {64}; sensitivity grid: 66.7% of its 3 points"
    alt = speedup_claim(sp, sens, region, {"x": [1, 2]}, alternatives={"csram.overlap_read_accumulate=1": 3.5})
    assert "with csram.overlap_read_accumulate=1: max 3.50x (not reproduced)" in alt.why


def test_area_claim_reports_both_readings(load):
    c = area_claim(load("sail"))
    assert "arrays repurposed from LLC ways" in c.why and "arrays added beside the slices" in c.why
    # a larger overhead than the paper's is the pessimistic side: those readings do not hold
    assert c.verdict in ("holds only when", "not reproduced")
    assert "readings" in c.holds_where
    more = load("sail").with_overrides({"dfm.adder_area_mm2_per_lane": 0.001})
    assert float(area_claim(more).our_value.split()[0]) > float(c.our_value.split()[0])


def test_calibration_predicts_every_dequant_row(load, bench_table):
    t = cpu_predicted_vs_measured(load("x86_host"), bench_table)
    assert len(t) == (bench_table.kernel == "dequant_gemv").sum()
    assert (t.predicted_s > 0).all()
    s = error_summary(t)
    assert s["n_points"] == len(t) and s["mae_pct"] >= 0
    # a perfect prediction gives zero error and R^2 = 1
    perfect = error_summary(t.assign(measured_s=t.predicted_s, error_pct=0.0))
    assert perfect["mae_pct"] == 0 and perfect["r2_log"] == pytest.approx(1.0)


def test_calibration_leaves_out_unmodelled_weight_widths(load, bench_table):
    one_bit = bench_table[bench_table.kernel == "dequant_gemv"].head(1).assign(w_bits=1)
    t = cpu_predicted_vs_measured(load("x86_host"), pd.concat([bench_table, one_bit]))
    assert len(t) == (bench_table.kernel == "dequant_gemv").sum() and (t.w_bits != 1).all()


def test_calibration_rejects_missing_columns(load, bench_table):
    with pytest.raises(ValueError, match="median_s"):
        cpu_predicted_vs_measured(load("x86_host"), bench_table.drop(columns=["median_s"]))


def reference_points(load, prt_table) -> pd.DataFrame:
    rows = []
    for name in ["graviton2", "sail", "v100", "neural_cache", "bfree", "dram_pim"]:
        hw = load(name)
        for model in ("llama2-7b", "smollm2-135m"):
            for w in (2, 4):
                for b in (1, 16):
                    r = simulate(
                        hw,
                        model=model,
                        w_bits=w,
                        a_bits=8,
                        batch=b,
                        context=512,
                        prt=prt_table if name == "sail" else None,
                    )
                    rows.append(r.to_row())
    return pd.DataFrame(rows)


def test_reference_outputs_unchanged(load, prt_table, tmp_path):
    """pLUTo-style regression check: regenerate with `python tests/sim/make_reference.py` when numbers change
    on purpose, and say why in the commit."""
    from sail.io import write_table

    got = tmp_path / "quick.csv"
    write_table(reference_points(load, prt_table), got)
    assert got.read_text() == REFERENCE.read_text()


def test_type_conversion_units_are_kept_apart(load):
    from sail.sim.experiments import type_conversion_table

    t = type_conversion_table(load("sail"))
    cpu = t[t.profile == "cpu"].iloc[0]
    assert cpu.unit == "core" and cpu.units == 64 and cpu.engine == "CPU NEON cores"
    # chip-wide = one unit / units; ns = cycles / GHz
    assert np.allclose(t.cycles_per_element_chip * t.units, t.cycles_per_element_one_unit)
    assert np.allclose(t.ns_per_element_chip, t.cycles_per_element_chip / t.clock_ghz)


def _ablation(with_, without):
    rows = []
    for b, a, c in zip([1, 8, 64], with_, without):
        rows += [{"variant": "SAIL", "model": "m", "w_bits": 4, "a_bits": 8, "context": 512, "batch": b, "tokens_per_s": a},
                 {"variant": "no in-memory conversion", "model": "m", "w_bits": 4, "a_bits": 8, "context": 512,
                  "batch": b, "tokens_per_s": c}]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "with_, without, verdict, where",
    [
        ([10, 20, 30], [9, 19, 31], "holds only when", "2 of 3 configurations: batch in {1, 8}"),
        ([10, 20, 30], [9, 19, 29], "reproduced", "3 of 3 configurations: every value of every key"),
        ([8, 18, 28], [9, 19, 29], "not reproduced", "nowhere in the 3 configurations"),
    ],
)
def test_type_conversion_claim_and_findings(load, with_, without, verdict, where):
    from sail.sim.experiments import type_conversion_findings, type_conversion_table

    sail = load("sail")
    findings, claim = type_conversion_findings(type_conversion_table(sail), _ablation(with_, without), sail)
    assert claim.verdict == verdict and claim.holds_where == where
    chip = findings.set_index("finding_id").loc["conversion_cost_chip"]
    assert chip.value == pytest.approx(0.011230 / 0.0078125, rel=1e-3)  # arrays vs cores, neural_cache profile
    assert "0.0112" in chip.finding and "0.0078" in chip.finding
    assert len(findings) == 1 + 3


def test_qualitative_verdict():
    from sail.claims import qualitative_verdict

    assert qualitative_verdict([True, True]) == "reproduced"
    assert qualitative_verdict([True, False]) == "holds only when"
    assert qualitative_verdict([False]) == "not reproduced"
    with pytest.raises(ValueError):
        qualitative_verdict([])
