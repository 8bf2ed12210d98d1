"""Agreement of separate benchmark runs: the spread per point, checked against a hand computation."""

import numpy as np
import pandas as pd
import pytest

from sail.kernels.agreement import agreement, main, max_spread, peer_ratios, ratio_agreement


def _run(times: dict[str, float], threads=1) -> pd.DataFrame:
    rows = [{"kernel": k, "m": 4096, "k": 4096, "w_bits": 2, "a_bits": 8, "n_bw": np.nan, "batch": 1,
             "threads": threads, "median_s": t, "bits_per_weight": 2.5} for k, t in times.items()]
    return pd.DataFrame(rows)


def test_spread_is_range_over_median_of_the_run_medians():
    runs = [_run({"act_lut_simd": 1.0, "dequant": 2.0, "llamacpp_q2_K": 3.0}),
            _run({"act_lut_simd": 1.2, "dequant": 2.0, "llamacpp_q2_K": 3.3}),
            _run({"act_lut_simd": 0.9, "dequant": 4.0, "llamacpp_q2_K": 3.0})]
    t = agreement(runs).set_index("kernel")
    assert t.loc["act_lut_simd", "median_s"] == pytest.approx(1.0)
    assert t.loc["act_lut_simd", "spread"] == pytest.approx((1.2 - 0.9) / 1.0)
    assert t.loc["llamacpp_q2_K", "spread"] == pytest.approx(0.3 / 3.0)
    assert not t.loc["dequant", "best_kernel"]  # its 100 % spread must not count
    assert max_spread(agreement(runs)) == pytest.approx(0.3)
    assert np.isnan(max_spread(agreement(runs), threads=2))


def test_a_point_missing_from_one_run_is_left_out():
    runs = [_run({"act_lut_simd": 1.0, "llamacpp_q2_K": 3.0}), _run({"act_lut_simd": 1.0})]
    assert list(agreement(runs)["kernel"]) == ["act_lut_simd"]


@pytest.mark.parametrize("runs,needle", [
    ([_run({"act_lut_simd": 1.0})], "at least 2 runs"),
    ([_run({"act_lut_simd": 1.0}), _run({"act_lut_simd": 0.0})], "median_s must be > 0 s, got 0.0"),
    ([_run({"act_lut_simd": 1.0}), pd.concat([_run({"act_lut_simd": 1.0})] * 2)], "appear twice"),
    ([_run({"act_lut_simd": 1.0}), _run({"act_lut_simd": 1.0}).drop(columns="batch")], "['batch']"),
])
def test_bad_tables_are_named(runs, needle):
    with pytest.raises(ValueError, match=None) as err:
        agreement(runs)
    assert needle in str(err.value)


def test_cli_writes_the_table_and_rejects_a_missing_file(tmp_path, capsys):
    paths = []
    for i, t in enumerate([1.0, 1.05]):
        paths.append(tmp_path / f"b{i}.csv")
        _run({"act_lut_simd": t}).to_csv(paths[-1], index=False)
    assert main([*map(str, paths), "--out", str(tmp_path / "a.csv")]) == 0
    assert pd.read_csv(tmp_path / "a.csv")["spread"].iloc[0] == pytest.approx(0.05 / 1.025)
    assert "largest spread over 2 runs" in capsys.readouterr().out
    assert main([str(paths[0]), str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err


def _mixed_run(ours_s: float, tq2_s: float, q4_s: float) -> pd.DataFrame:
    """act_lut_simd at 2.5 and 4.5 b/w, llama.cpp tq2_0 (2.0625) and q4_K (4.5), one shape."""
    run = pd.concat([_run({"act_lut_simd": ours_s}), _run({"act_lut_simd": ours_s * 2}).assign(w_bits=4),
                     _run({"llamacpp_tq2_0": tq2_s}).assign(bits_per_weight=2.0625),
                     _run({"llamacpp_q4_K": q4_s}).assign(w_bits=4), _run({"llamacpp_q8_0": 0.01})], ignore_index=True)
    run.loc[run.w_bits == 4, "bits_per_weight"] = 4.5
    run.loc[run.kernel == "llamacpp_q8_0", "bits_per_weight"] = 8.5  # fastest, but more bits: never the peer
    return run


def test_peer_is_the_fastest_llamacpp_type_with_at_most_our_bits_per_weight():
    r = peer_ratios(_mixed_run(1.0, 1.5, 1.2)).set_index("w_bits")
    assert r.loc[2, "peer"] == "llamacpp_tq2_0" and r.loc[2, "ratio"] == pytest.approx(1.5)  # q4_K has more bits
    assert r.loc[4, "peer"] == "llamacpp_q4_K" and r.loc[4, "ratio"] == pytest.approx(1.2 / 2.0)  # faster of two
    r = peer_ratios(_mixed_run(1.0, 1.5, 3.4)).set_index("w_bits")
    assert r.loc[4, "peer"] == "llamacpp_tq2_0" and r.loc[4, "ratio"] == pytest.approx(1.5 / 2.0)


def test_ratio_spread_over_runs_when_the_host_slows_every_kernel_alike():
    # run 2 is 40 % slower for everybody: the times disagree, the in-run ratios do not
    runs = [_mixed_run(1.0, 1.5, 3.0), _mixed_run(1.4, 2.1, 4.2), _mixed_run(1.0, 1.6, 3.0)]
    t = ratio_agreement(runs).set_index("w_bits")
    assert t.loc[2, "ratio"] == pytest.approx(1.5)
    assert t.loc[2, "spread"] == pytest.approx((1.6 - 1.5) / 1.5)
    assert t.loc[4, "peers"] == "llamacpp_tq2_0"
    assert max_spread(agreement(runs)) > 0.35
    with pytest.raises(ValueError, match="lacks columns"):
        peer_ratios(_run({"act_lut_simd": 1.0}).drop(columns="bits_per_weight"))
