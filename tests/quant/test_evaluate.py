"""The model-facing glue, on a tiny stand-in that implements the documented sail.model API."""

import contextlib
from pathlib import Path

import numpy as np
import pytest
import torch

from sail.quant.act import fake_quantize_activations_torch
from sail.quant.evaluate import (check_method, quantize_layers, quantized_activations, set_quantized_weights,
                                 spread_windows, window_perplexity)
from sail.quant.gptq import capture_hessians, hessian_error, hessian_key
from sail.quant.report import INT_GRID_NOTE, Q4_1_NOTE, accuracy_table, write_tab03
from sail.quant.rtn import quantize_rtn


class TinyModel:
    """Embedding -> q,k (shared input) -> down(q*k): enough structure for hooks and shared Hessians."""

    def __init__(self, seed=0, vocab=11, dim=16):
        g = torch.Generator().manual_seed(seed)
        self.emb = torch.randn(vocab, dim, generator=g)
        self.w = {"blocks.0.attn.q": torch.randn(dim, dim, generator=g),
                  "blocks.0.attn.k": torch.randn(dim, dim, generator=g),
                  "blocks.0.mlp.down": torch.randn(dim, dim, generator=g)}
        self.hook = self.impl = None
        self.inputs = {}

    def linear_names(self):
        return list(self.w)

    def get_linear_weight(self, name):
        return self.w[name]

    def set_linear_weight(self, name, w):
        self.w[name] = torch.as_tensor(w, dtype=torch.float32)

    @contextlib.contextmanager
    def linear_input_hook(self, fn):
        self.hook = fn
        yield
        self.hook = None

    @contextlib.contextmanager
    def linear_impl(self, fn):
        self.impl = fn
        yield
        self.impl = None

    def _lin(self, name, x):
        self.inputs.setdefault(name, []).append(x)
        if self.hook:
            self.hook(name, x)
        return self.impl(name, x, self.w[name]) if self.impl else x @ self.w[name].T

    def __call__(self, ids):
        x = self.emb[ids].reshape(-1, self.emb.shape[1])
        h = self._lin("blocks.0.attn.q", x) * self._lin("blocks.0.attn.k", x)
        return self._lin("blocks.0.mlp.down", h)


def test_capture_hessians_counts_shared_inputs_once():
    model = TinyModel()
    ids = torch.randint(0, 11, (5, 6), generator=torch.Generator().manual_seed(1))
    hs = capture_hessians(model, ids, batch_windows=2, progress=False)
    assert sorted(hs) == ["blocks.0.attn.qkv", "blocks.0.mlp.down"]
    x = torch.cat(model.inputs["blocks.0.attn.q"])
    np.testing.assert_allclose(hs[hessian_key("blocks.0.attn.q")].numpy(), (2 / x.shape[0] * x.T @ x).numpy(),
                               rtol=1e-5, atol=1e-5)
    assert x.shape[0] == 30  # 5 windows x 6 tokens, not doubled by k


def test_quantize_layers_rtn_matches_direct_call_and_restores_nothing():
    model = TinyModel()
    before = {n: w.clone() for n, w in model.w.items()}
    out = quantize_layers(model, "rtn", [2, 4], 8, progress=False)
    assert sorted(out) == [2, 4]
    for n in model.linear_names():
        torch.testing.assert_close(model.w[n], before[n])  # the model is left unmodified
        np.testing.assert_array_equal(out[4][n].q, quantize_rtn(before[n].numpy(), 4, 8).q)
    set_quantized_weights(model, out[2])
    np.testing.assert_allclose(model.w["blocks.0.mlp.down"].numpy(), out[2]["blocks.0.mlp.down"].dequantize())


def test_gptq_layers_have_lower_proxy_error_than_rtn():
    model = TinyModel()
    ids = torch.randint(0, 11, (8, 16), generator=torch.Generator().manual_seed(2))
    hs = capture_hessians(model, ids, progress=False)
    def errors(qls):
        return sum(hessian_error(model.w[n].numpy(), ql.dequantize(), hs[hessian_key(n)]) for n, ql in qls.items())

    rtn = errors(quantize_layers(model, "rtn", [2], 8, progress=False)[2])
    gptq = errors(quantize_layers(model, "gptq", [2], 8, hessians=hs, progress=False)[2])
    gptq_ao = errors(quantize_layers(model, "gptq", [2], 8, hessians=hs, act_order=True, progress=False)[2])
    assert gptq < rtn and gptq_ao < rtn


def test_activation_quantisation_is_applied_inside_the_block_only():
    model = TinyModel()
    ids = torch.arange(11)[None]
    y0 = model(ids)
    with quantized_activations(model, 4):
        y4 = model(ids)
    x = model.emb[ids].reshape(-1, 16)
    q = fake_quantize_activations_torch(x, 4) @ model.w["blocks.0.attn.q"].T
    k = fake_quantize_activations_torch(x, 4) @ model.w["blocks.0.attn.k"].T
    ref = fake_quantize_activations_torch(q * k, 4) @ model.w["blocks.0.mlp.down"].T
    torch.testing.assert_close(y4, ref)
    torch.testing.assert_close(model(ids), y0)
    assert not torch.allclose(y4, y0)


def test_a_shared_input_is_quantised_once(monkeypatch):
    """q and k read one tensor: one quantisation for both, none reused after an in-place change."""
    import sail.quant.evaluate as ev

    calls = []
    monkeypatch.setattr(ev, "fake_quantize_activations_torch",
                        lambda x, a: calls.append(tuple(x.shape)) or fake_quantize_activations_torch(x, a))
    model = TinyModel()
    with quantized_activations(model, 4):
        model(torch.arange(11)[None])
    assert len(calls) == 2  # x (for q and k), then q * k (for down)
    calls.clear()
    with quantized_activations(model, 4):
        x, w = torch.randn(5, 16), torch.randn(3, 16)
        a = model.impl("l", x, w)
        x.mul_(2.0)
        torch.testing.assert_close(model.impl("l", x, w), 2.0 * a)
        assert len(calls) == 2


def test_fused_fake_quantisation_is_bit_identical():
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((9, 40)).astype(np.float32) * 3)
    x[2] = 0.0
    for a_bits in (2, 4, 8):
        qmax = (1 << (a_bits - 1)) - 1
        amax = x.abs().amax(dim=-1, keepdim=True)
        s_x = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
        ref = torch.clamp(torch.round(x / s_x), -qmax - 1, qmax) * s_x
        assert torch.equal(fake_quantize_activations_torch(x, a_bits), ref)


def test_unknown_method_named():
    with pytest.raises(ValueError, match="'awq'"):
        check_method("awq")
    with pytest.raises(ValueError, match="Hessians"):
        quantize_layers(TinyModel(), "gptq", [3], 8, progress=False)


def rec(ppl, **kw):
    return {"ppl": ppl, "n_tokens": 100, "seconds": 1.0, "tokens_per_s": 200.0, "eval_s": 1.5, **kw}


def test_accuracy_table_rows_labels_and_notes(tmp_path):
    ref = rec(20.0, method="fp", a_bits=None)
    rows = [rec(21.0, method="fp", a_bits=8, w_bits=None, group_size=None, symmetric=False),
            rec(900.0, method="fp", a_bits=4, rotated=False),
            rec(40.0, method="fp", a_bits=4, rotated=True),
            rec(30.0, method="rtn", w_bits=4, group_size=32, a_bits=None, symmetric=False),
            rec(20.0, method="rtn_fmin", w_bits=4, group_size=32, a_bits=None, symmetric=False),
            rec(25.0, method="gptq", w_bits=3, group_size=-1, a_bits=None, symmetric=False, sequential=True,
                act_order=True, damp=0.01),
            rec(300.0, method="gptq", w_bits=2, group_size=32, a_bits=None, symmetric=False, sequential=True,
                act_order=True, damp=0.1),
            rec(26.5, method="gptq", w_bits=4, group_size=32, a_bits=8, symmetric=False, sequential=True,
                act_order=True, damp=0.01)]
    mixed = [dict(rec(24.0), budget=3.0, avg_bits=2.998, method="gptq", group_size=32, sensitivity="fisher"),
             dict(rec(30.0), budget=3.0, avg_bits=3.0, method="gptq", group_size=32, sensitivity="hessian")]
    table, timing = accuracy_table(ref, rows, mixed, default_damp=0.01)
    assert list(table["row"]) == [
        "reference", "A8 per-token", "A4 per-token", "A4 per-token, rotated",
        "RTN W4 group 32", "GPTQ W2 group 32, damp 0.1", "GPTQ W3 per-channel", "RTN W4 group 32, float min",
        "GPTQ W4 group 32 + A8", "mixed 3.0 bits, Fisher", "mixed 3.0 bits, proxy"]
    assert table["row"].str.len().max() <= 30
    assert "gper" not in " ".join(table["group_size"].astype(str))
    assert table.loc[6, "group_size"] == "per-channel" and table.loc[6, "method"] == "GPTQ (sequential, act-order)"
    assert table.loc[4, "note"] == INT_GRID_NOTE and table.loc[7, "note"] == Q4_1_NOTE
    assert table["delta_ppl"].tolist() == [0.0, 1.0, 880.0, 20.0, 10.0, 280.0, 5.0, 0.0, 6.5, 4.0, 10.0]
    assert table.loc[9, "avg_w_bits"] == 3.0  # 2.998 shown with the column's two decimals
    assert len(timing) == len(table)
    paths = {ext: tmp_path / f"t.{ext}" for ext in ("csv", "md", "tex")}
    write_tab03(table, paths)
    md = paths["md"].read_text()
    assert "880.00" in md and "e+0" not in md


def test_rows_must_share_the_reference_windows():
    with pytest.raises(ValueError, match="scored 99 tokens, the reference 100"):
        accuracy_table(rec(20.0), [dict(rec(21.0, method="fp", a_bits=8), n_tokens=99)], [])


def test_spread_windows_cover_the_text_without_overlap():
    ids = np.arange(1000)
    w = spread_windows(ids, 50, 7)
    assert w.shape == (7, 50)
    assert w[0, 0] == 0 and w[-1, -1] == 999  # from the first token to the last
    starts = w[:, 0]
    assert np.all(np.diff(starts) >= 50)
    np.testing.assert_array_equal(w[3], ids[starts[3]:starts[3] + 50])
    with pytest.raises(ValueError, match="1000 tokens cannot hold 21 windows of 50"):
        spread_windows(ids, 50, 21)


def test_window_perplexity_equals_the_model_perplexity():
    from sail.model import perplexity
    from small_llama import small_llama

    model = small_llama(seed=1)
    ids = np.random.default_rng(0).integers(0, 64, 5 * 24)
    ours, _ = window_perplexity(model, ids.reshape(5, 24), batch_windows=2, progress=False)
    theirs = perplexity(model, ids, window=24, batch_windows=3, progress=False)
    assert ours.ppl == pytest.approx(theirs.ppl, rel=1e-5)
    assert ours.n_tokens == theirs.n_tokens == 5 * 23


GGUF = Path(__file__).resolve().parents[2] / "resources/model/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.mark.model
@pytest.mark.skipif(not GGUF.exists(), reason=f"real model absent: {GGUF} (run `make model`)")
def test_real_model_w8_is_lossless_and_w2_is_not():
    """On the real model, 8-bit RTN barely moves the logits and 2-bit RTN moves them a lot."""
    from sail.model import load_model

    model = load_model(GGUF)
    ids = torch.arange(100, 164)[None]
    with torch.inference_mode():
        y0 = model(ids)
        names = [n for n in model.linear_names() if n.startswith("blocks.0.")]
        orig = {n: model.get_linear_weight(n).clone() for n in names}
        set_quantized_weights(model, quantize_layers(model, "rtn", [8], 32, names=names, progress=False)[8])
        d8 = (model(ids) - y0).abs().max().item()
        set_quantized_weights(model, {n: quantize_rtn(orig[n].numpy(), 2, -1) for n in names})
        d2 = (model(ids) - y0).abs().max().item()
    assert d8 < 0.05 * d2


def test_weight_error_stats_detect_a_coinciding_grid():
    from sail.quant.evaluate import weight_error_stats

    rng = np.random.default_rng(4)
    w = rng.standard_normal((8, 64)).astype(np.float32)
    on_grid = quantize_rtn(w, 3, 16).dequantize()
    same = weight_error_stats({"a": on_grid}, {"a": quantize_rtn(on_grid, 3, 16)})
    assert same["w_exact_frac"] == 1.0 and same["w_rel_rmse"] < 1e-6
    coarse = weight_error_stats({"a": w}, {"a": quantize_rtn(w, 2, 16)})
    assert coarse["w_exact_frac"] < 0.05 and 0.1 < coarse["w_rel_rmse"] < 1.0
