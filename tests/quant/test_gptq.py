import itertools

import numpy as np
import pytest
import torch

from sail.quant.gptq import HessianAccumulator, hessian_error, hessian_key, quantize_gptq
from sail.quant.rtn import quantize_rtn


def correlated_inputs(rng, n, k):
    """Rows with strongly correlated channels, as real LLM activations have (a low-rank mix + noise)."""
    z = rng.standard_normal((n, 4))
    mix = rng.standard_normal((4, k))
    return (z @ mix + 0.1 * rng.standard_normal((n, k))).astype(np.float32)


def hessian(x):
    return torch.from_numpy(2.0 / x.shape[0] * (x.T.astype(np.float64) @ x.astype(np.float64))).float()


@pytest.mark.parametrize("w_bits", [2, 3, 4])
@pytest.mark.parametrize("group_size", [16, -1])
@pytest.mark.parametrize("symmetric", [False, True])
def test_identity_hessian_equals_rtn(w_bits, group_size, symmetric):
    w = np.random.default_rng(w_bits).standard_normal((12, 64)).astype(np.float32)
    g = quantize_gptq(w, torch.eye(64), w_bits, group_size, symmetric=symmetric)
    r = quantize_rtn(w, w_bits, group_size, symmetric=symmetric)
    np.testing.assert_array_equal(g.q, r.q)
    np.testing.assert_array_equal(g.scale, r.scale)
    np.testing.assert_array_equal(g.zero, r.zero)


@pytest.mark.parametrize("w_bits", [2, 3, 4])
@pytest.mark.parametrize("group_size", [16, -1])
def test_gptq_beats_rtn_on_correlated_inputs(w_bits, group_size):
    rng = np.random.default_rng(10 + w_bits)
    x = correlated_inputs(rng, 512, 64)
    h = hessian(x)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    e_gptq = hessian_error(w, quantize_gptq(w, h, w_bits, group_size).dequantize(), h)
    e_rtn = hessian_error(w, quantize_rtn(w, w_bits, group_size).dequantize(), h)
    assert e_gptq < e_rtn


def test_last_column_is_optimal_given_the_first():
    """K=2, per-channel, no damping: GPTQ's second code minimises the output error given its first
    (a 1-D convex quadratic in the code), checked by brute force over every code."""
    rng = np.random.default_rng(3)
    for trial in range(20):
        x = correlated_inputs(rng, 64, 2)
        h = hessian(x)
        w = rng.standard_normal((1, 2)).astype(np.float32)
        ql = quantize_gptq(w, h, 2, -1, damp=0.0)
        s, z = ql.scale[0, 0], ql.zero[0, 0]
        q0 = ql.q[0, 0]
        errs = {q1: hessian_error(w, s * (np.array([[q0, q1]], np.float32) - z), h) for q1 in range(4)}
        best = min(errs.values())
        assert errs[int(ql.q[0, 1])] <= best * (1 + 1e-5) + 1e-9, trial


def test_brute_force_optimum_bounds_gptq():
    """On a tiny layer, the exhaustive optimum over GPTQ's own grid is never worse than GPTQ, and
    GPTQ lands within a modest factor of it (it is a greedy method)."""
    rng = np.random.default_rng(5)
    x = correlated_inputs(rng, 128, 4)
    h = hessian(x)
    w = rng.standard_normal((1, 4)).astype(np.float32)
    ql = quantize_gptq(w, h, 2, -1, damp=0.0)
    s, z = ql.scale[0, 0], ql.zero[0, 0]
    e_gptq = hessian_error(w, ql.dequantize(), h)
    e_best = min(hessian_error(w, s * (np.array([c], np.float32) - z), h)
                 for c in itertools.product(range(4), repeat=4))
    assert e_best <= e_gptq * (1 + 1e-6)
    assert e_gptq <= 4 * e_best + 1e-6


def test_hessian_accumulator_and_error_match_definition():
    rng = np.random.default_rng(0)
    x = correlated_inputs(rng, 300, 16)
    acc = HessianAccumulator(16)
    for chunk in np.array_split(x, 3):
        acc.add(torch.from_numpy(chunk))
    np.testing.assert_allclose(acc.value().numpy(), hessian(x).numpy(), rtol=1e-4, atol=1e-4)
    w = rng.standard_normal((5, 16)).astype(np.float32)
    w_hat = quantize_rtn(w, 2, 8).dequantize()
    direct = 2.0 / 300 * np.sum((x.astype(np.float64) @ (w - w_hat).T.astype(np.float64)) ** 2)
    assert hessian_error(w, w_hat, acc.value()) == pytest.approx(direct, rel=1e-4)


def test_dead_inputs_do_not_break_cholesky():
    rng = np.random.default_rng(1)
    x = correlated_inputs(rng, 200, 32)
    x[:, 5] = 0.0
    ql = quantize_gptq(rng.standard_normal((4, 32)).astype(np.float32), hessian(x), 3, 8)
    assert int(ql.q.max()) < 8


def test_hessian_key_shares_inputs():
    assert hessian_key("blocks.3.attn.q") == hessian_key("blocks.3.attn.v") == "blocks.3.attn.qkv"
    assert hessian_key("blocks.3.mlp.up") == "blocks.3.mlp.gate_up"
    assert hessian_key("blocks.3.mlp.down") == "blocks.3.mlp.down"


@pytest.mark.parametrize("kwargs, match", [
    (dict(w_bits=0, group_size=8), "got 0"),
    (dict(w_bits=9, group_size=8), "got 9"),
    (dict(w_bits=4, group_size=12), "group_size 12 does not divide K=32"),
    (dict(w_bits=4, group_size=8, damp=-0.1), r"damp must be a fraction in \[0, 1\), got -0.1"),
])
def test_bad_arguments_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quantize_gptq(np.zeros((2, 32), np.float32), torch.eye(32), **kwargs)


def test_hessian_shape_checked():
    with pytest.raises(ValueError, match=r"\(32, 32\)"):
        quantize_gptq(np.zeros((2, 32), np.float32), torch.eye(16), 4, 8)


@pytest.mark.parametrize("act_order", [False, True])
@pytest.mark.parametrize("w_bits, group_size, k", [(2, 16, 64), (3, -1, 64), (4, 32, 256), (2, 32, 256)])
def test_matches_slow_twin_from_the_paper(w_bits, group_size, k, act_order):
    """Lazy batches (128 columns), act-order and static groups give the codes of the plain
    column-by-column algorithm: same codes up to float rounding (< 1 % of them), same grid, and
    the same output error within 1 %."""
    import quant_naive

    rng = np.random.default_rng(100 + k + w_bits)
    x = correlated_inputs(rng, 4 * k, k)
    x[:, 3] = 0.0  # a dead input
    x *= rng.uniform(0.2, 3.0, k).astype(np.float32)  # channels of different size: act-order matters
    h = hessian(x)
    w = rng.standard_normal((12, k)).astype(np.float32)
    ql = quantize_gptq(w, h, w_bits, group_size, act_order=act_order)
    q, s, z = quant_naive.gptq(w, h.numpy(), w_bits, group_size, act_order=act_order)
    np.testing.assert_allclose(ql.scale, s, rtol=1e-4)
    np.testing.assert_array_equal(ql.zero, z)
    assert np.mean(ql.q != q) < 0.01
    twin = s.repeat(ql.group_size, axis=1) * (q - z.repeat(ql.group_size, axis=1))
    assert hessian_error(w, ql.dequantize(), h) == pytest.approx(hessian_error(w, twin, h), rel=0.01)


def test_act_order_helps_when_channel_sizes_differ():
    rng = np.random.default_rng(7)
    x = correlated_inputs(rng, 1024, 128) * np.geomspace(0.05, 5.0, 128).astype(np.float32)
    h = hessian(x)
    w = rng.standard_normal((32, 128)).astype(np.float32)
    plain = hessian_error(w, quantize_gptq(w, h, 2, 32).dequantize(), h)
    ordered = hessian_error(w, quantize_gptq(w, h, 2, 32, act_order=True).dequantize(), h)
    assert ordered < plain


def test_failed_cholesky_is_retried_with_more_damping():
    from sail.quant.gptq import factor_hessian

    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 16)).astype(np.float32)  # rank 4 < K: singular without damping
    h = hessian(x) - 1e-3 * torch.eye(16)  # and slightly indefinite
    f = factor_hessian(h, damp=0.0)
    assert f.damp > 0.0
    assert np.all(np.isfinite(f.u))


def test_non_finite_hessian_named():
    h = torch.eye(32)
    h[2, 5] = float("nan")
    with pytest.raises(ValueError, match=r"non-finite.*H\[2, 5\] = nan"):
        quantize_gptq(np.zeros((2, 32), np.float32), h, 4, 8)


def test_act_order_with_non_dividing_group_named():
    with pytest.raises(ValueError, match="act_order.*group_size 12 does not divide K=32"):
        quantize_gptq(np.zeros((2, 32), np.float32), torch.eye(32), 4, 12, act_order=True)


def test_blas_results_do_not_depend_on_the_thread_count():
    """``import sail`` makes MKL's GEMMs thread-count independent (STRICT CNR, no dynamic threads) and
    factor_hessian factorises on one thread, so a job's numbers do not move with the threads MKL uses.
    A fresh interpreter: the variables act only before MKL first runs."""
    import subprocess
    import sys

    code = (
        "import sail, numpy as np, torch\n"
        "from sail.quant.gptq import factor_hessian\n"
        "x = torch.from_numpy(np.random.default_rng(0).standard_normal((4096, 576)).astype(np.float32))\n"
        "out = []\n"
        "for th in (1, 2):\n"
        "    torch.set_num_threads(th)\n"
        "    h = torch.zeros(576, 576); h.addmm_(x.T, x)\n"
        "    out.append((h, factor_hessian(h, 0.01, True).u, torch.get_num_threads()))\n"
        "assert torch.equal(out[0][0], out[1][0]), 'X^T X differs between 1 and 2 threads'\n"
        "assert np.array_equal(out[0][1], out[1][1]), 'the Hessian factor differs between 1 and 2 threads'\n"
        "assert out[1][2] == 2, 'factor_hessian did not restore the thread count'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
