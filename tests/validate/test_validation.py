"""The validate stage's library: GGUF geometry, llama-batched-bench parsing, the fit and its split."""

import numpy as np
import pandas as pd
import pytest

from sail.peers.decode_bench import bench_command, parse_jsonl, per_layer_check, run_decode, weight_buffers
from sail.peers.gguf_models import LlamaGeometry, bits_per_weight, check_weight_type, quantize_gguf, write_random_llama_gguf
from sail.sim import load_hw
from sail.sim.validation import fit, mape_summary, model_spec, predict, split_half, validation_table, weight_format

HOST = "config/hw/validate_host.yaml"


def test_bits_per_weight_of_the_measured_types():
    assert bits_per_weight("Q4_0") == 4.5
    assert bits_per_weight("Q8_0") == 8.5
    assert bits_per_weight("Q4_K") == 4.5
    assert bits_per_weight("Q2_K") == 2.625  # 84 B per 256 weights (ggml-org/ggml#680)


@pytest.mark.parametrize("bad", ["Q3_K", "q4_0", "IQ2_XXS", ""])
def test_unknown_weight_type_is_named(bad, tmp_path):
    with pytest.raises(ValueError, match=repr(bad).replace("[", r"\[")):
        check_weight_type(bad)
    with pytest.raises(ValueError, match="unknown llama.cpp weight type"):
        quantize_gguf(tmp_path / "q", tmp_path / "a", tmp_path / "b", bad)
    with pytest.raises(ValueError, match="unknown llama.cpp weight type"):
        run_decode(tmp_path / "bench", tmp_path / "m", bad, 2, 1, 128, 4, [1], "x")


def test_random_gguf_has_llama_geometry(tmp_path):
    import gguf

    g = LlamaGeometry(n_layers=2, dim=64, ffn_dim=96, n_heads=4, n_kv_heads=2, vocab=100)
    p = write_random_llama_gguf(tmp_path / "m.gguf", g, seed=3)
    r = gguf.GGUFReader(p)
    shapes = {t.name: tuple(int(x) for x in t.shape) for t in r.tensors}
    assert len(shapes) == 2 * 9 + 3
    assert shapes["blk.1.ffn_down.weight"] == (96, 64)  # gguf lists ne0 (the input dim) first
    assert shapes["blk.0.attn_k.weight"] == (64, 32)  # GQA: 2 kv heads of 16
    assert shapes["output.weight"] == (64, 100)
    kv = {f.name: f for f in r.fields.values()}
    assert "llama.block_count" in kv and "tokenizer.ggml.model" in kv
    a = np.array(r.tensors[1].data)
    p2 = write_random_llama_gguf(tmp_path / "m2.gguf", g, seed=3)
    assert np.array_equal(a, np.array(gguf.GGUFReader(p2).tensors[1].data))  # same seed, same weights


def test_bench_command_sizes_the_kv_cache():
    cmd = bench_command("bb", "m.gguf", 2, 512, 4, [1, 64, 8])
    assert cmd[cmd.index("-c") + 1] == str(64 * 768)  # 516 cells per stream, rounded up to 256s
    assert cmd[cmd.index("-npl") + 1] == "1,8,64"
    assert cmd[1] == "batched"  # sail-llama-decode's llama-batched-bench -pps loop
    assert "--no-repack" not in cmd and bench_command("bb", "m.gguf", 2, 512, 4, [1], repack=False)[-1] == "--no-repack"
    with pytest.raises(ValueError, match="threads"):
        bench_command("bb", "m.gguf", 0, 512, 4, [1])
    cmd = bench_command("bb", "m.gguf", 2, 512, 4, [1], prefill_once=True, cache_flush_bytes=3 << 20)
    assert cmd[-3:] == ["--prefill-once", "--flush-mb", "3"]
    for bad in (-1, 1000, True, 1.5 * 2**20):
        with pytest.raises(ValueError, match="cache_flush_bytes"):
            bench_command("bb", "m.gguf", 2, 512, 4, [1], cache_flush_bytes=bad)


def test_decode_loop_options_on_the_real_build():
    """--prefill-once and --flush-mb on SmolLM2: every batch starts from batch x context cached prompt
    cells (run_decode checks n_cached); one prefill serves every batch."""
    import glob

    info = next(iter(sorted(glob.glob("resources/llamacpp/*/programs.json"))), None)
    gguf = next(iter(sorted(glob.glob("resources/model/*.gguf"))), None)
    if info is None or gguf is None:
        pytest.skip("no llama.cpp programs or model under resources/ (run the quick pipeline first)")
    from sail.peers.llamacpp import load_build

    bench = load_build(info).binary("sail-llama-decode")
    kw = dict(model=gguf, weight_type="Q4_1", n_layers=30, threads=1, context=16, decode_tokens=2,
              batches=[1, 4, 2], label="smollm2")
    once = run_decode(bench, prefill_once=True, cache_flush_bytes=8 << 20, **kw)
    every = run_decode(bench, **kw)
    assert once.batch.tolist() == every.batch.tolist() == [1, 2, 4]
    assert once.prefill_tokens_per_s.nunique() == 1 and every.prefill_tokens_per_s.nunique() == 3
    assert once.prefill_once.all() and (once.cache_flush_bytes == 8 << 20).all() and not every.prefill_once.any()
    assert (once.tokens_per_s > 0).all()


def test_parse_jsonl_and_buffers():
    text = ('main: n_kv_max = 33024\n'
            '{"n_kv_max": 2064, "n_batch": 512, "n_ubatch": 512, "flash_attn": -1, "is_pp_shared": 1, '
            '"n_gpu_layers": 0, "n_threads": 2, "n_threads_batch": 2, "pp": 512, "tg": 4, "pl": 4, "n_kv": 2064, '
            '"t_pp": 1.0, "speed_pp": 512.0, "t_tg": 0.5, "speed_tg": 32.0, "t": 1.5, "speed": 352.0}\n')
    df = parse_jsonl(text)
    assert df.speed_tg.iloc[0] == 32.0 and df.pl.iloc[0] == 4
    with pytest.raises(ValueError, match="no JSONL"):
        parse_jsonl("nothing here")
    log = ("load_tensors:   CPU_REPACK model buffer size =  1234.50 MiB\n"
           "load_tensors:   CPU_Mapped model buffer size =   262.00 MiB\n")
    assert weight_buffers(log) == "CPU_REPACK:1234;CPU_Mapped:262"


def test_per_layer_check_recovers_a_linear_cost():
    rows = [{"batch": b, "n_layers": n, "tokens_per_s": b / (0.01 + 0.02 * n * (1 + b / 64))}
            for b in (1, 16) for n in (2, 4, 8)]
    out = per_layer_check(pd.DataFrame(rows))
    assert np.allclose(out.rel_dev_from_mean, 0, atol=1e-9)
    assert out[out.batch == 1].per_layer_s.iloc[0] == pytest.approx(0.02 * (1 + 1 / 64))


def test_model_spec_is_llama2_7b_truncated():
    s = model_spec("llama2-7b-geometry", 2)
    assert (s.n_layers, s.dim, s.ffn_dim, s.n_heads, s.vocab) == (2, 4096, 11008, 32, 32000)
    with pytest.raises(ValueError, match="unknown measured model 'gpt2'"):
        model_spec("gpt2", 2)
    assert weight_format("Q2_K") == (2, 256, 20)


def _synthetic(hw, truth):
    rows = [{"model": "llama2-7b-geometry", "weight_type": t, "n_layers": 2, "threads": th, "batch": b,
             "context": c, "decode_tokens": 4, "tokens_per_s": 1.0, "dram_read_gbps": 8.0 * th}
            for t in ("Q8_0", "Q4_0", "Q2_K") for th in (1, 2) for c in (128, 512) for b in (1, 2, 4, 8, 16, 32, 64)]
    df = pd.DataFrame(rows)
    df["tokens_per_s"] = predict(hw, df, truth)
    return df


def test_split_is_half_and_every_batch_is_held_out_somewhere():
    hw = load_hw(HOST)
    df = _synthetic(hw, {})
    train = split_half(df)
    assert abs(train.mean() - 0.5) < 0.05
    held = df[~train]
    assert set(held.batch) == set(df.batch)


def test_fit_recovers_known_parameters_from_model_generated_data():
    hw = load_hw(HOST)
    truth = {"memory.dram_efficiency": 0.6, "cpu.weight_unpack_reuse_tokens": 8.0,
             "cpu.kernel_efficiency.Q8_0": 0.5, "cpu.kernel_efficiency.Q4_0": 0.25, "cpu.kernel_efficiency.Q2_K": 0.1}
    df = _synthetic(hw, truth)
    train = split_half(df)
    vals, table = fit(hw, df, train)
    assert vals["cpu.weight_unpack_reuse_tokens"] == 8.0
    for k in ("memory.dram_efficiency", "cpu.kernel_efficiency.Q8_0", "cpu.kernel_efficiency.Q4_0",
              "cpu.kernel_efficiency.Q2_K"):
        assert vals[k] == pytest.approx(truth[k], rel=1e-3), k
    summ = mape_summary(validation_table(hw, df, vals, train))
    assert summ[(summ.split == "held-out") & (summ.group == "all")].mape_pct.iloc[0] < 0.1
    assert set(table.parameter) >= {"memory.dram_efficiency", "cpu.weight_unpack_reuse_tokens"}


def test_fit_does_not_hide_a_model_error():
    """Data the model cannot produce (a 2x jump between threads) leaves a held-out error it reports."""
    hw = load_hw(HOST)
    df = _synthetic(hw, {"memory.dram_efficiency": 0.6})
    df.loc[df.threads == 2, "tokens_per_s"] *= np.where(df.loc[df.threads == 2, "batch"] % 4 == 0, 2.0, 0.5)
    train = split_half(df)
    vals, _ = fit(hw, df, train)
    summ = mape_summary(validation_table(hw, df, vals, train))
    assert summ[(summ.split == "held-out") & (summ.group == "all")].mape_pct.iloc[0] > 15
