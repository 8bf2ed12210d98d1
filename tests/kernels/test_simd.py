"""Register-table activation-LUT (sail.kernels.simd): both paths, against slow references.

* the AVX-512 path and the portable path are bit-identical (same int32 sums, same float32 ops);
* the portable path equals a slow numpy twin written from the module docstring's formula;
* both are within T-MAC's NMSE gate (5e-4) of the float64 dequantised product;
* the prepared layout holds exactly the codes; the CPU-feature guard and the env override select
  the path; bad input raises ValueError naming the value.
"""

import numpy as np
import pytest
from conftest import random_quant_linear
from hypothesis import given, settings, strategies as st
from numba import njit

from sail.kernels import prepare_simd, reference, simd_gemv
from sail.kernels import simd
from sail.quant.packing import pack_linear

HAVE_AVX512 = simd.avx512_available() and simd.numba_targets_host()
HAVE_AVX2 = simd.avx2_available() and simd.numba_targets_host()
needs_avx512 = pytest.mark.skipif(not HAVE_AVX512, reason="host lacks AVX-512 F/BW/VBMI/VNNI (or numba does "
                                  "not target the host): this path cannot run here")
needs_avx2 = pytest.mark.skipif(not HAVE_AVX2, reason="host lacks AVX2 (or numba does not target the host)")
NMSE_GATE = 5e-4  # T-MAC's correctness threshold for its int8-table kernels


def _nmse(y, ref):
    return float(np.mean((np.asarray(y, np.float64) - ref) ** 2) / max(np.mean(ref**2), 1e-300))


def slow_reference(ql, x):
    """The int8-table algorithm written plainly from the codes (no bit-planes, no prepared layout)."""
    q = ql.q.astype(np.int64)
    m, k = q.shape
    gs = ql.group_size
    w = ql.w_bits
    x2 = np.asarray(x, np.float32).reshape(k, -1)
    out = np.zeros((m, x2.shape[1]), np.float32)
    pbits = (np.arange(16)[:, None] >> np.arange(4)[None, :]) & 1  # (16 patterns, 4 positions)
    h = np.float32(((1 << w) - 1) / 2)
    for b in range(x2.shape[1]):
        xv = x2[:, b]
        for g in range(k // gs):
            xg = xv[g * gs:(g + 1) * gs]
            x4 = xg.astype(np.float64).reshape(-1, 4)
            mx = float(np.max(0.5 * (((np.abs(x4[:, 0]) + np.abs(x4[:, 1])) + np.abs(x4[:, 2])) + np.abs(x4[:, 3]))))
            xsum = np.float32(0)
            for v in xg:  # sequential float32 sum, as the kernel
                xsum = np.float32(xsum + v)
            if mx == 0.0:
                ts, tq = np.float32(1), np.zeros((gs // 4, 16))
            else:
                ts = np.float32(mx / 127.0)
                half = np.where(pbits == 1, 0.5, -0.5)  # (16, 4)
                terms = half[None, :, :] * x4[:, None, :]  # exact: scaling by 1/2
                tp = ((terms[..., 0] + terms[..., 1]) + terms[..., 2]) + terms[..., 3]
                tq = np.clip(np.rint(tp * (1.0 / np.float64(ts))), -127, 127)
            codes = q[:, g * gs:(g + 1) * gs].reshape(m, -1, 4)  # (m, groups of 4, 4)
            acc = np.zeros(m, np.int64)
            for wb in range(w):
                nib = (((codes >> wb) & 1) << np.arange(4)).sum(axis=2)  # (m, gs/4)
                acc += tq[np.arange(gs // 4)[None, :], nib].sum(axis=1).astype(np.int64) << wb
            s = ql.scale[:, g]
            sc = s * (h - ql.zero[:, g])
            out[:, b] = out[:, b] + (s * ts) * acc.astype(np.float32)
            out[:, b] = out[:, b] + sc * xsum
    return out


def _impls():
    return ["portable", pytest.param("avx512", marks=needs_avx512), pytest.param("avx2", marks=needs_avx2)]


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 140), groups=st.integers(1, 3), group_size=st.sampled_from([32, 64, 128]),
       w_bits=st.integers(1, 8), batch=st.integers(1, 5), vec=st.booleans(), seed=st.integers(0, 2**31))
def test_paths_identical_and_within_tmac_gate(m, groups, group_size, w_bits, batch, vec, seed):
    rng = np.random.default_rng(seed)
    k = groups * group_size
    ql = random_quant_linear(rng, m, k, w_bits, group_size)
    x = rng.standard_normal(k if vec else (k, batch)).astype(np.float32)
    prep = prepare_simd(pack_linear(ql))
    y = simd_gemv(prep, x, impl="portable")
    ref = reference.dequant_linear(ql.q, ql.scale, ql.zero, group_size, x)
    assert y.dtype == np.float32 and y.shape == ref.shape
    # analytic bound of the table rounding (|error| <= ts/2 per lookup, (2**w - 1) gs/4 weighted lookups per
    # group) plus float32 slack; NMSE itself is only meaningful over realistic shapes (tests below)
    _, ts, _ = simd.build_int8_tables(np.ascontiguousarray(x.reshape(k, -1).T), group_size)
    bound = (np.abs(ql.scale).astype(np.float64) @ ts.T.astype(np.float64)) * ((1 << w_bits) - 1) * group_size / 8
    slack = 1e-5 * (np.abs(reference.dequant_linear(ql.q, ql.scale, ql.zero, group_size, np.abs(x))) + 1e-30)
    assert np.all(np.abs(y - ref).reshape(bound.shape) <= bound + slack.reshape(bound.shape))
    np.testing.assert_array_equal(y, slow_reference(ql, x).reshape(y.shape))
    for impl, have in (("avx512", HAVE_AVX512), ("avx2", HAVE_AVX2)):
        if have:
            np.testing.assert_array_equal(simd_gemv(prep, x, impl=impl), y)


@pytest.mark.parametrize("impl", _impls())
@pytest.mark.parametrize("w_bits", [1, 2, 4, 8])
def test_realistic_shape_within_gate(impl, w_bits, rng):
    # several 64-row tiles plus a partial one, K with many groups, a small batch
    ql = random_quant_linear(rng, 200, 1024, w_bits, 128)
    x = rng.standard_normal((1024, 3)).astype(np.float32)
    y = simd_gemv(prepare_simd(pack_linear(ql)), x, impl=impl)
    ref = reference.dequant_linear(ql.q, ql.scale, ql.zero, 128, x)
    assert _nmse(y, ref) < NMSE_GATE
    np.testing.assert_array_equal(y, slow_reference(ql, x))


@pytest.mark.parametrize("impl", _impls())
def test_every_bit_plane_and_row_is_used(impl, rng):
    ql = random_quant_linear(rng, 70, 64, 3, 32)
    x = rng.standard_normal(64).astype(np.float32)
    base = simd_gemv(pack_linear(ql), x, impl=impl)
    for r, kk, b in [(0, 0, 0), (69, 63, 2), (33, 17, 1)]:
        q2 = ql.q.copy()
        q2[r, kk] ^= 1 << b
        ql2 = type(ql)(q=q2, scale=ql.scale, zero=ql.zero, w_bits=3, group_size=32)
        d = simd_gemv(pack_linear(ql2), x, impl=impl) - base
        assert np.flatnonzero(d != 0).tolist() == [r]


@pytest.mark.parametrize("impl", _impls())
def test_one_thread_runner_equals_the_parallel_one(impl, rng):
    # simd_gemv skips numba's thread pool at one thread: both runners must give the same bits
    import numba

    ql = random_quant_linear(rng, 150, 128, 3, 64)
    x = rng.standard_normal((128, 2)).astype(np.float32)
    prep = prepare_simd(pack_linear(ql))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        y1 = simd_gemv(prep, x, impl=impl)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        yn = simd_gemv(prep, x, impl=impl)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(y1, yn)
    np.testing.assert_array_equal(y1, slow_reference(ql, x))


def test_zero_activations_give_exact_zeros(rng):
    # all-zero groups take the scale-1, zero-table branch of the table builder
    ql = random_quant_linear(rng, 10, 64, 4, 32)
    y = simd_gemv(pack_linear(ql), np.zeros(64, np.float32), impl="portable")
    np.testing.assert_array_equal(y, np.zeros(10, np.float32))


def test_prepared_layout_holds_the_codes(rng):
    ql = random_quant_linear(rng, 70, 96, 3, 32)
    pr = prepare_simd(pack_linear(ql))
    tiles, n_chunks, w, subs, nbytes = pr.wq.shape
    assert (tiles, n_chunks, w, subs, nbytes) == (2, 3, 3, 4, 64) and pr.nbytes == pr.wq.nbytes + 2 * pr.s.nbytes
    q = np.zeros((tiles * 64, 96), np.int64)
    for tile in range(tiles):
        for c in range(n_chunks):
            for b in range(w):
                for sub in range(4):
                    for r in range(16):
                        for t in range(4):
                            byte = int(pr.wq[tile, c, b, sub, 4 * r + t])
                            row = tile * 64 + sub * 16 + r
                            for half, nib in ((0, byte & 15), (1, byte >> 4)):
                                j = 8 * c + 4 * half + t  # group of 4 activations
                                for u in range(4):
                                    q[row, 4 * j + u] |= ((nib >> u) & 1) << b
    np.testing.assert_array_equal(q[:70], ql.q)
    assert not q[70:].any()
    np.testing.assert_array_equal(pr.s.transpose(0, 2, 1).reshape(-1, 3)[:70], ql.scale)


def test_int8_tables_bounded_and_close(rng):
    xt = rng.standard_normal((2, 128)).astype(np.float32)
    tabs, ts, xs = simd.build_int8_tables(xt, 64)
    assert tabs.shape == (2, 4, 2, 64) and np.abs(tabs.astype(int)).max() == 127
    np.testing.assert_allclose(xs, xt.reshape(2, 2, 64).sum(axis=2), rtol=1e-5)
    j, p = 13, 11  # group 13 = 8 * chunk 1 + 4 * half 1 + table 1
    exact = sum((0.5 if (p >> u) & 1 else -0.5) * float(xt[0, 4 * j + u]) for u in range(4))
    assert abs(tabs[0, 1, 1, 16 * 1 + p] * float(ts[0, 0]) - exact) <= 0.5 * float(ts[0, 0]) + 1e-7


@needs_avx512
def test_avx512_path_emits_vpermb_and_vpdpbusd():
    tile = simd.make_tile_intrinsic(0)

    @njit
    def one_tile(wq, tabs, s, sc, ts, xs, out):
        tile(wq, tabs, s, sc, ts, xs, out, (np.int64(0), np.int64(0), np.int64(0), np.int64(0), np.int64(0)),
             np.int64(s.shape[1]), np.int64(1), np.int64(wq.shape[2]))

    rng = np.random.default_rng(0)
    pr = prepare_simd(pack_linear(random_quant_linear(rng, 64, 32, 2, 32)))
    x = rng.standard_normal((1, 32)).astype(np.float32)
    tabs, ts, xs = simd.build_int8_tables(x, 32)
    out = np.zeros((1, 64), np.float32)
    one_tile(pr.wq, tabs, pr.s, pr.sc, ts, xs, out)
    np.testing.assert_array_equal(out, simd_gemv(pr, x.T, impl="portable").T)
    asm = next(iter(one_tile.inspect_asm().values()))
    assert "vpermb" in asm and "vpdpbusd" in asm


def test_env_var_and_missing_features_route_to_the_portable_path(monkeypatch, rng):
    ql = random_quant_linear(rng, 20, 64, 2, 32)
    x = rng.standard_normal(64).astype(np.float32)
    want = simd_gemv(pack_linear(ql), x, impl="portable")

    def boom(*args):
        raise AssertionError("a SIMD path must not run here")

    for name in ("_run_avx512", "_run_avx2", "_run_avx512_serial", "_run_avx2_serial"):
        monkeypatch.setattr(simd, name, boom)
    monkeypatch.setenv(simd.ENV_VAR, "portable")
    np.testing.assert_array_equal(simd_gemv(pack_linear(ql), x), want)
    monkeypatch.delenv(simd.ENV_VAR)
    monkeypatch.setattr(simd, "avx512_available", lambda: False)  # a CPU with neither
    monkeypatch.setattr(simd, "avx2_available", lambda: False)
    np.testing.assert_array_equal(simd_gemv(pack_linear(ql), x), want)


def test_guard_and_override(monkeypatch):
    monkeypatch.setenv(simd.ENV_VAR, "portable")
    assert simd.resolve_impl() == "portable"
    monkeypatch.setenv(simd.ENV_VAR, "auto")
    assert simd.resolve_impl() == ("avx512" if HAVE_AVX512 else "avx2" if HAVE_AVX2 else "portable")
    monkeypatch.setattr(simd, "avx512_available", lambda: False)  # e.g. Zen 3, Intel client cores
    assert simd.resolve_impl() == ("avx2" if HAVE_AVX2 else "portable")
    with pytest.raises(ValueError, match="avx512"):
        simd.resolve_impl("avx512")
    monkeypatch.setattr(simd, "avx2_available", lambda: True)
    monkeypatch.setattr(simd, "numba_targets_host", lambda: False)  # NUMBA_CPU_NAME=generic: auto stays portable
    assert simd.resolve_impl() == "portable" and simd.resolve_impl("avx2") == "avx2"
    monkeypatch.setenv(simd.ENV_VAR, "sse9")
    with pytest.raises(ValueError, match="sse9"):
        simd.resolve_impl()


# numba takes the host's features unless told otherwise, so the CPU name alone would still allow AVX-512
HASWELL_FEATURES = ("+64bit,+avx,+avx2,+bmi,+bmi2,+cmov,+cx16,+f16c,+fma,+fxsr,+lzcnt,+mmx,+movbe,+popcnt,+sse,+sse2,"
                    "+sse3,+sse4.1,+sse4.2,+ssse3,+xsave")
AVX2_ONLY_SCRIPT = """
import numpy as np
from sail.kernels import simd
from sail.kernels.simd import _one_tile_avx2, prepare_simd, simd_gemv
from sail.kernels.bench import random_packed
p = prepare_simd(random_packed(np.random.default_rng(0), 70, 64, 3, 32))
x = np.random.default_rng(1).standard_normal((64, 2)).astype(np.float32)
assert simd.resolve_impl() == "portable"  # numba targets haswell, not the host
assert np.array_equal(simd_gemv(p, x, impl="avx2"), simd_gemv(p, x, impl="portable"))
asm = next(iter(_one_tile_avx2.inspect_asm().values()))
print("vpshufb" in asm, "vpmaddubsw" in asm, "zmm" in asm)
"""


@needs_avx2
def test_avx2_path_compiles_to_avx2_only_code(tmp_path):
    # on an AVX-512 host LLVM widens the AVX2 intrinsics to zmm; compiling for haswell shows the code an
    # AVX2-only machine gets (ymm only) and that it is still bit-identical to the portable path
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=HASWELL_FEATURES, NUMBA_CACHE_DIR=str(tmp_path),
               NUMBA_NUM_THREADS="1")
    env.pop(simd.ENV_VAR, None)
    res = subprocess.run([sys.executable, "-c", AVX2_ONLY_SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split() == ["True", "True", "False"]


def test_bad_input(rng):
    p = pack_linear(random_quant_linear(rng, 2, 64, 2, 32))
    with pytest.raises(ValueError, match="K=64"):
        simd_gemv(p, np.zeros(63, np.float32))
    with pytest.raises(ValueError, match="float"):
        simd_gemv(p, np.zeros(64, np.int64))
    with pytest.raises(ValueError, match="'fast'"):
        simd_gemv(p, np.zeros(64, np.float32), impl="fast")
    with pytest.raises(ValueError, match="group_size a multiple of 32, got 16"):
        prepare_simd(pack_linear(random_quant_linear(rng, 2, 64, 2, 16)))
    with pytest.raises(ValueError, match="finite"):
        simd_gemv(p, np.full(64, np.nan, np.float32))
    pr = prepare_simd(p)
    with pytest.raises(ValueError, match="SimdPrepared.wq"):
        simd.SimdPrepared(wq=pr.wq[..., ::-1], s=pr.s, sc=pr.sc, w_bits=2, group_size=32, m=2, k=64)
    with pytest.raises(ValueError, match="ndarray"):
        simd_gemv(np.zeros((2, 64)), np.zeros(64, np.float32))


def test_registered_in_the_benchmark():
    from sail.kernels.bench import KERNELS, BenchConfig, check_config, run_benchmark

    assert "act_lut_simd" in KERNELS and "act_lut_simd_portable" in KERNELS
    cfg = BenchConfig(shapes=[[64, 128]], batch_shapes=[[64, 128]], w_bits=[2], batch_w_bits=[2], batches=[1, 2],
                      threads=[1], reps=2, group_size=64, a_bits=8, weight_lut_n_bw=[4],
                      kernels=["dequant", "act_lut_simd", "act_lut_simd_portable"],
                      weight_lut_w_bits=[], rotate_factor=0.001, bandwidth_bytes=2 << 20, seed=0)
    df, _ = run_benchmark(cfg, progress=False)
    simd_rows = df[df.kernel == "act_lut_simd"]
    assert sorted(simd_rows.batch) == [1, 2]
    assert (simd_rows.weight_bytes == df[df.kernel == "dequant"].weight_bytes.iloc[0]).all()  # same bytes streamed
    assert (simd_rows.rel_err > 0).all() and (simd_rows.rel_err**2 < NMSE_GATE).all()  # rel_err = sqrt(NMSE)
    # both paths, same weights and activations: bit-identical, so the same error
    np.testing.assert_array_equal(simd_rows.rel_err, df[df.kernel == "act_lut_simd_portable"].rel_err)
    with pytest.raises(ValueError, match="multiple of 32, got 16"):
        check_config(BenchConfig(**(cfg.__dict__ | {"group_size": 16})))
