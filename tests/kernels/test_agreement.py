"""Agreement of separate benchmark runs: the spread per point, checked against a hand computation."""

import numpy as np
import pandas as pd
import pytest

from sail.kernels.agreement import agreement, main, max_spread


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
