"""The benchmark harness on a tiny configuration (correct columns and derived quantities; no timing asserted)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sail.io import BENCH_ENV
from sail.kernels.bench import BENCH_COLUMNS, BenchConfig, check_config, n_copies_for, run_benchmark
from sail.plots.kernels import amortisation_fit, crossover_batch, fastest_weight_lut, op_count_ratio


def _cfg(**kw):
    base = dict(shapes=[[64, 128]], batch_shapes=[[32, 128]], w_bits=[1, 3], batch_w_bits=[2], batches=[1, 3],
                threads=[1], reps=2, group_size=64, a_bits=8, weight_lut_n_bw=[4, 8],
                kernels=["numpy_fp32", "dequant", "act_lut_g4", "act_lut_g8", "weight_lut"],
                weight_lut_w_bits=[2, 3], rotate_factor=0.001, bandwidth_bytes=2 << 20, seed=0)
    return BenchConfig(**(base | kw))


def test_tiny_benchmark_rows_and_derived_columns():
    df, machine = run_benchmark(_cfg(), progress=False)
    assert list(df.columns) == BENCH_COLUMNS
    assert machine["dram_read_gbps_1t"] > 0 and machine["l3_bytes"] > 0
    assert machine["omp_wait_policy"] == os.environ.get("OMP_WAIT_POLICY", "unset")  # provenance of the pools
    # probed at the start and at the end of the run; the roofline uses the larger probe
    probes = [machine[f"dram_read_gbps_1t_{w}"] for w in ("start", "end")]
    assert machine["dram_read_gbps_1t"] == max(probes)
    np.testing.assert_allclose(df.dram_read_gbps, max(probes), rtol=1e-4)  # machine.csv rounds to 3 decimals
    # every kernel at every bit width of its group, batch-1 shape and the batch sweep
    assert set(df[df.m == 64].kernel) == {"numpy_fp32", "dequant", "act_lut_g4", "act_lut_g8", "weight_lut"}
    assert sorted(df[(df.m == 32) & (df.kernel == "weight_lut")].batch) == [1, 1, 3, 3]  # n_bw 4 and 8
    assert (df.reps == 2).all()
    np.testing.assert_allclose(df.roofline_fraction, df.weight_bytes / (df.dram_read_gbps * 1e9) / df.median_s)
    np.testing.assert_allclose(df.per_token_s, df.median_s / df.batch)
    assert (df.q25_s <= df.median_s).all() and (df.median_s <= df.q75_s).all()
    assert (df[df.kernel == "weight_lut"].rel_err == 0).all()  # integer kernel: bit-exact
    assert (df[df.kernel != "weight_lut"].rel_err < 1e-5).all()
    wl = df[(df.kernel == "weight_lut") & (df.m == 32)]
    assert sorted(set(zip(wl.n_bw, wl.batch, wl.w_bits))) == [(n, b, w) for n in (4, 8) for b in (1, 3) for w in (2,)]
    # prepared codes: one byte per weight, rows padded to the 64-row tile, K + 7 channels
    assert (wl.weight_bytes == 64 * (128 + 7)).all()
    packed = df[df.kernel == "dequant"].set_index("w_bits").weight_bytes
    assert packed[1] == 64 * 128 // 8 + 2 * 64 * 2 * 4  # codes + fp32 scales and zeros


_REEXEC_SCRIPT = """
import os, sys
sys.path.insert(0, {lib!r})
with open({starts!r}, "a") as f:
    f.write("x")
from sail.io import reexec_for_timing
reexec_for_timing()
print(*[os.environ.get(k, "-") for k in ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT", "SAIL_REPRODUCIBLE_BLAS",
                                         "MKL_CBWR")], sys.argv[1:])
"""


@pytest.mark.parametrize("preset, starts, printed", [
    # nothing set: one re-exec; the MKL variables `import sail` set are gone (STRICT costs timing 2x)
    ({}, 2, "passive 4 0 -"),
    ({"OMP_WAIT_POLICY": "active"}, 2, "active 4 0 -"),  # the explicit setting is kept, the missing ones added
    ({"MKL_CBWR": "AUTO,STRICT"}, 2, "passive 4 0 AUTO,STRICT"),  # an explicit MKL setting stays too
    ({"SAIL_REPRODUCIBLE_BLAS": "1"}, 2, "passive 4 1 AUTO,STRICT"),  # asked for STRICT: kept
    # inherited from a parent that imported sail (Snakemake's process): taken back like our own
    ({"MKL_CBWR": "AUTO,STRICT", "MKL_DYNAMIC": "FALSE", "SAIL_BLAS_ENV_FROM_SAIL": "MKL_CBWR,MKL_DYNAMIC"}, 2,
     "passive 4 0 -"),
    ({"OMP_WAIT_POLICY": "active", "OPENBLAS_THREAD_TIMEOUT": "30", "SAIL_REPRODUCIBLE_BLAS": "0"}, 1,
     "active 30 0 -"),  # all set: no re-exec
])
def test_timing_processes_restart_once_with_passive_pools_and_fast_blas(tmp_path, preset, starts, printed):
    script, counter = tmp_path / "s.py", tmp_path / "starts"
    script.write_text(_REEXEC_SCRIPT.format(lib=str(Path(__file__).parents[2] / "lib"), starts=str(counter)))
    drop = {*BENCH_ENV, "MKL_CBWR", "MKL_DYNAMIC", "SAIL_REEXEC_FOR_TIMING", "SAIL_BLAS_ENV_FROM_SAIL"}
    env = {k: v for k, v in os.environ.items() if k not in drop} | preset
    out = subprocess.run([sys.executable, str(script), "--flag", "x y"], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"{printed} ['--flag', 'x y']"  # same arguments after the re-exec
    assert len(counter.read_text()) == starts


def test_rotation_covers_the_requested_multiple_of_l3():
    for nbytes in (1, 1000, 33 << 20, 100 << 20):
        n = n_copies_for(nbytes, 32 << 20, 3.0)
        assert n * nbytes >= 3 * (32 << 20) and (n - 1) * nbytes < 3 * (32 << 20) or n == 1


def test_bad_config_rejected():
    with pytest.raises(ValueError, match="nope"):
        check_config(_cfg(kernels=["nope"]))
    with pytest.raises(ValueError, match="group_size=64"):
        check_config(_cfg(shapes=[[64, 96]]))
    with pytest.raises(ValueError, match=r"weight_lut_n_bw.*\[4, 9\]"):
        check_config(_cfg(weight_lut_n_bw=[4, 9]))


def test_amortisation_fit_and_crossover_on_synthetic_rows():
    b = np.array([1, 2, 4, 8])
    wl = pd.DataFrame({"kernel": "weight_lut", "w_bits": 2, "batch": b, "median_s": 0.1 + 0.01 * b})
    wl["per_token_s"] = wl.median_s / wl.batch
    al = pd.DataFrame({"kernel": "act_lut_g8", "w_bits": 2, "batch": b, "median_s": 0.03 * b})
    al["per_token_s"] = al.median_s / al.batch
    t0, t1 = amortisation_fit(wl)
    assert t0 == pytest.approx(0.1) and t1 == pytest.approx(0.01)
    # weight-LUT per token: 0.11, 0.06, 0.035, 0.0225 vs 0.03 -> first at batch 8
    assert crossover_batch(pd.concat([wl, al]), 2) == 8
    assert crossover_batch(pd.concat([wl, al.assign(median_s=al.median_s / 10, per_token_s=al.per_token_s / 10)]), 2) is None


def test_op_count_ratio_is_the_amortised_table_build():
    # n_bw 4, A8: 11 build adds + 8 lookups at batch 1; at batch 32 (11/32 + 8) per token
    assert op_count_ratio(4, 8, 1) == pytest.approx(1.0)
    assert op_count_ratio(4, 8, 32) == pytest.approx((11 / 32 + 8) / 19)
    assert op_count_ratio(8, 8, 32) == pytest.approx((247 / 32 + 8) / 255)
    assert op_count_ratio(8, 8, 32) < 1 / 8 < op_count_ratio(6, 8, 32)


def test_crossover_needs_n_bw_when_several_were_measured_and_fastest_picks_the_minimum():
    rows = []
    for nb, t in ((4, 1.0), (8, 3.0)):
        for b in (1, 2):
            rows.append({"kernel": "weight_lut", "w_bits": 2, "n_bw": nb, "batch": b, "m": 8, "k": 8, "threads": 1,
                         "median_s": t * b, "per_token_s": t})
    rows += [{"kernel": "act_lut_g8", "w_bits": 2, "n_bw": 8, "batch": b, "m": 8, "k": 8, "threads": 1,
              "median_s": 2.0 * b, "per_token_s": 2.0} for b in (1, 2)]
    d = pd.DataFrame(rows)
    with pytest.raises(ValueError, match="pass n_bw"):
        crossover_batch(d, 2)
    assert crossover_batch(d, 2, n_bw=4) == 1 and crossover_batch(d, 2, n_bw=8) is None
    best = fastest_weight_lut(d)
    assert (best[best.kernel == "weight_lut"].n_bw == 4).all() and len(best) == 4
