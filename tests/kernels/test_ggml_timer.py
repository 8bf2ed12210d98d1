"""llama.cpp peers in the benchmark: kernel names, the C++ timer and its protocol, the bound SIMD caller.

The timer tests need a llama.cpp build (the pipeline's ``resources/llamacpp/<version>/build_info.json``,
or ``$SAIL_LLAMACPP_INFO``) and g++; they are skipped without one. No timing is asserted.
"""

import glob
import os
import shutil

import numpy as np
import pytest

from sail.kernels import ggml_timer, simd
from sail.kernels.bench import BenchConfig, check_config, random_packed, run_benchmark


def test_parse_kernel_names_and_unknown_type():
    assert ggml_timer.parse_kernel("llamacpp_q4_0") == ("q4_0", True)
    assert ggml_timer.parse_kernel("llamacpp_q4_0_plain") == ("q4_0", False)
    assert ggml_timer.parse_kernel("llamacpp_q2_K") == ("q2_K", True)
    with pytest.raises(ValueError, match="'q9_9'"):
        ggml_timer.parse_kernel("llamacpp_q9_9")
    with pytest.raises(ValueError, match="not a llama.cpp kernel"):
        ggml_timer.parse_kernel("q4_0")
    # bits per weight incl. scales: ggml's block sizes (q4_0: 18 bytes per 32 weights; q2_K: 84 per 256)
    assert ggml_timer.TYPE_BPW["q4_0"] == 18 * 8 / 32 and ggml_timer.TYPE_BPW["q2_K"] == 84 * 8 / 256


def test_bench_config_names_an_unknown_peer_type():
    cfg = BenchConfig(shapes=[[64, 128]], batch_shapes=[], w_bits=[2], batch_w_bits=[2], batches=[1], threads=[1],
                      reps=1, group_size=64, a_bits=8, weight_lut_n_bw=[4], kernels=["dequant", "llamacpp_iq9_x"],
                      weight_lut_w_bits=[2], rotate_factor=0.001, bandwidth_bytes=2 << 20, seed=0)
    with pytest.raises(ValueError, match="iq9_x"):
        check_config(cfg)
    with pytest.raises(ValueError, match="ggml timer"):  # peers without the compiled timer
        run_benchmark(BenchConfig(**{**cfg.__dict__, "kernels": ["llamacpp_q4_0"]}), progress=False)


def test_missing_compiler_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-xyz")
    with pytest.raises(RuntimeError, match="apt-get install g\\+\\+"):
        ggml_timer.compile_timer(tmp_path / "t", [], [])


def test_bound_gemv_is_bit_identical_and_rejects_bad_input(rng):
    p = simd.prepare_simd(random_packed(rng, 100, 256, 3, 64))
    x = rng.standard_normal((256, 3)).astype(np.float32)
    for impl in ("portable", None):
        ref = simd.simd_gemv(p, x, impl=impl)
        for serial in (True, False):
            out = simd.bind_gemv(p, impl, serial=serial)(np.ascontiguousarray(x.T))
            np.testing.assert_array_equal(out[:, :100].T, ref)
    g = simd.bind_gemv(p, "portable")
    bad = np.ascontiguousarray(x.T)
    bad[1, 7] = np.nan
    with pytest.raises(ValueError, match="finite"):
        g(bad)
    with pytest.raises(ValueError, match="float32"):
        g(np.ascontiguousarray(x.T, dtype=np.float64))


def _build():
    info = os.environ.get("SAIL_LLAMACPP_INFO") or next(iter(sorted(glob.glob("resources/llamacpp/*/build_info.json"))),
                                                         None)
    if not info or shutil.which("g++") is None:
        pytest.skip("no llama.cpp build (resources/llamacpp/*/build_info.json or $SAIL_LLAMACPP_INFO) or no g++")
    from sail.peers.llamacpp import load_build

    return load_build(info)


@pytest.fixture(scope="module")
def timer_exe(tmp_path_factory):
    build = _build()
    exe = tmp_path_factory.mktemp("ggml") / "ggml_gemv_timer"
    ggml_timer.compile_timer(exe, build.include_dirs(), build.static_libs())
    return exe


def test_timer_protocol_and_accuracy(timer_exe):
    with ggml_timer.GgmlTimer(timer_exe) as t:
        assert t.info["version"] and t.info["features"]
        for typ, repack in (("q4_0", True), ("q4_0", False), ("q8_0", True), ("q2_K", True), ("tq2_0", True)):
            h = t.add(typ, repack, 64, 512, 1, 3, 0)
            assert h.bits_per_weight == ggml_timer.TYPE_BPW[typ]
            assert h.weight_bytes == 64 * 512 * ggml_timer.TYPE_BPW[typ] / 8
            assert t.run(h, 0) > 0 and t.run(h, 5) > 0
            # the float64 product of the dequantised weights: only llama.cpp's int8 activations differ
            assert 0 < t.check(h) < 0.05, typ
            if typ == "tq2_0":
                assert not h.repacked and h.buft == "CPU"  # no repacked layout for ternary: plain buffer
            t.free(h)
        with pytest.raises(ValueError, match="unknown ggml type 'q9_9'"):
            t.add("q9_9", True, 64, 512, 1, 1, 0)
        with pytest.raises(ValueError, match="multiple of 256"):
            t.add("q2_K", True, 64, 100, 1, 1, 0)
        with pytest.raises(ValueError, match="unknown candidate"):
            t.run(ggml_timer.PeerHandle(99, 1, 0, 0.0, False, ""), 0)


def test_benchmark_rows_with_peers(timer_exe):
    cfg = BenchConfig(shapes=[[64, 256]], batch_shapes=[], w_bits=[2, 4], batch_w_bits=[2], batches=[1],
                      threads=[1], reps=2, group_size=64, a_bits=8, weight_lut_n_bw=[4],
                      kernels=["act_lut_simd", "llamacpp_q4_0", "llamacpp_q4_0_plain", "llamacpp_q2_K"],
                      weight_lut_w_bits=[2], rotate_factor=0.001, bandwidth_bytes=2 << 20, seed=0)
    df, machine = run_benchmark(cfg, progress=False, ggml_timer_exe=timer_exe, peer_build="test build")
    peers = df[df.kernel.str.startswith("llamacpp_")].set_index("kernel")
    assert sorted(peers.index) == ["llamacpp_q2_K", "llamacpp_q4_0", "llamacpp_q4_0_plain"]
    assert peers.loc["llamacpp_q4_0", "bits_per_weight"] == 4.5 and peers.loc["llamacpp_q2_K", "w_bits"] == 2
    assert (peers.peer_build == "test build").all() and (peers.median_s > 0).all()
    assert peers.loc["llamacpp_q4_0_plain", "impl"] == "CPU"
    ours = df[df.kernel == "act_lut_simd"].set_index("w_bits")
    # ours: bytes of the prepared layout (codes + two float32 per row and group of 64) per weight
    np.testing.assert_allclose(ours.bits_per_weight, [2 + 64 / 64, 4 + 64 / 64])
    assert machine["llamacpp_version"]
