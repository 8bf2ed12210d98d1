"""Energy per token (sail.sim.energy) and the prompt phase / whole requests (sail.sim.prefill)."""

import numpy as np
import pytest
from sail.sim import get_model
from sail.sim.energy import ENERGY_KEYS, decode_energy, energy_table, sail_op_counts
from sail.sim.engine import evaluate
from sail.sim.experiments import workload_grid
from sail.sim.hw import HwError
from sail.sim.prefill import prefill, request, request_table

SYSTEMS = ["graviton2", "sail", "v100"]


@pytest.mark.parametrize("name", SYSTEMS)
@pytest.mark.parametrize("batch", [1, 16])
def test_energy_components_add_up(load, prt_table, name, batch):
    r = decode_energy(load(name), "llama2-7b", 4, 8, batch, 512, prt_table=prt_table if name == "sail" else None)
    assert all(r[k] >= 0 for k in ENERGY_KEYS)
    assert r["energy_per_step_j"] == pytest.approx(sum(r[k] for k in ENERGY_KEYS))
    assert r["energy_per_token_j"] == pytest.approx(r["energy_per_step_j"] / batch)
    assert r["tokens_per_j"] == pytest.approx(batch / r["energy_per_step_j"])
    assert r["average_power_w"] == pytest.approx(r["energy_per_step_j"] / r["step_s"])


def test_dram_energy_is_bytes_times_pj_per_bit(load):
    hw = load("graviton2")
    spec = get_model("llama2-7b")
    res = evaluate(hw, spec, 4, 8, 4, 512)
    r = decode_energy(hw, "llama2-7b", 4, 8, 4, 512)
    assert r["dram_j"] == pytest.approx(res["dram_bytes"].item() * 8 * hw.value("energy.dram_pj_per_bit") * 1e-12)
    # the CPU baseline's cores are busy for the whole step
    cycles = r["step_s"] * hw.value("cpu.cores") * hw.value("cpu.clock_ghz") * 1e9
    assert r["core_active_j"] == pytest.approx(cycles * hw.value("energy.core_active_pj_per_cycle") * 1e-12)
    assert r["core_idle_j"] == 0


def test_sail_op_counts_agree_with_the_engine(load, prt_table):
    """The energy model counts the same row reads the timing model charges (PRT-avoided share equal)."""
    from sail.sim.api import prt_fractions

    hw = load("sail")
    spec = get_model("llama2-7b")
    types = [t for t, *_ in spec.gemv_layers()]
    prt = prt_fractions(prt_table, types, 4, 8, [8])
    res = evaluate(hw, spec, 4, 8, 8, 512, prt=prt)
    ops = sail_op_counts(hw, spec, 4, 8, 8, prt)
    assert 1 - ops["reads_left"].item() / ops["row_reads"].item() == pytest.approx(res["prt_avoided_fraction"].item())
    # lookups x read cycles / parallel arrays is the engine's lookup time when every array is busy
    assert ops["reads_left"].item() > 0 and ops["accs_left"].item() >= ops["reads_left"].item()


def test_more_pj_per_bit_costs_more_and_a_missing_key_is_named(load):
    hw = load("sail")
    base = decode_energy(hw, "llama2-7b", 4, 8, 8, 512)
    more = decode_energy(hw.with_overrides({"energy.dram_pj_per_bit": 40}), "llama2-7b", 4, 8, 8, 512)
    assert more["dram_j"] == pytest.approx(2 * base["dram_j"]) and more["energy_per_token_j"] > base["energy_per_token_j"]
    params = {k: v for k, v in hw.params.items() if k != "energy.prt_probe_pj"}
    from dataclasses import replace

    with pytest.raises(HwError, match="energy.prt_probe_pj"):
        decode_energy(replace(hw, params=params), "llama2-7b", 4, 8, 8, 512)


def test_gpu_energy_counts_two_flops_per_weight(load):
    hw = load("v100")
    spec = get_model("smollm2-135m")
    r = decode_energy(hw, "smollm2-135m", 8, 8, 2, 0)
    assert r["gpu_compute_j"] == pytest.approx(2 * spec.gemv_params * 2 * hw.value("energy.pj_per_flop") * 1e-12)
    assert r["core_active_j"] == r["uncore_j"] == 0


def test_energy_table_skips_systems_without_a_model(load, prt_table):
    grid = workload_grid(["smollm2-135m"], [4], [8], [1, 4], [128])
    t = energy_table([load(n) for n in SYSTEMS + ["neural_cache"]], grid, prt_table, 128)
    assert sorted(t.hw.unique()) == sorted(SYSTEMS) and len(t) == 3 * 2
    with pytest.raises(ValueError, match="no hardware with an energy model"):
        energy_table([load("neural_cache")], grid, prt_table, 128)


# ---- prefill and whole requests -----------------------------------------------------------------------
@pytest.mark.parametrize("name", SYSTEMS)
def test_one_token_prefill_gemm_equals_a_decode_step_without_cache(load, name):
    hw = load(name)
    pf = prefill(hw, "llama2-7b", 4, 8, 3, 1)
    step = evaluate(hw, get_model("llama2-7b"), 4, 8, 3, 0)
    assert pf["gemm_s"] == pytest.approx(step["step_s"].item(), rel=1e-12)


@pytest.mark.parametrize("name", SYSTEMS)
def test_prefill_reads_the_weights_once(load, name):
    """A P-token prompt is faster than P batch-1 decode steps (the GEMM reuses every weight), never faster
    than reading the weights once."""
    hw = load(name)
    spec = get_model("llama2-7b")
    pf = prefill(hw, "llama2-7b", 4, 8, 1, 64)
    step = evaluate(hw, spec, 4, 8, 1, 0)
    assert pf["prefill_s"] < 64 * step["step_s"].item()
    assert pf["prefill_s"] >= step["weight_bytes"].item() / (4e12)  # no system streams 4 TB/s


def test_prefill_attention_grows_quadratically(load):
    hw = load("graviton2")
    a = prefill(hw, "llama2-7b", 4, 8, 1, 256)["attention_s"]
    b = prefill(hw, "llama2-7b", 4, 8, 1, 512)["attention_s"]
    assert b / a == pytest.approx((512 * 513) / (256 * 257))


def test_request_adds_up(load, prt_table):
    hw = load("sail")
    r = request(hw, "llama2-7b", 4, 8, 4, 128, 16, prt_table=prt_table)
    assert r["request_s"] == pytest.approx(r["prefill_s"] + r["decode_s"])
    assert r["prefill_s"] == pytest.approx(min(r["prefill_csram_s"], r["prefill_host_s"]))
    assert r["prefill_s"] < r["ttft_s"] < r["request_s"]
    assert r["request_energy_j"] == pytest.approx(r["prefill_energy_j"] + r["decode_energy_j"])
    assert r["generated_per_s"] == pytest.approx(4 * 16 / r["request_s"])
    step = decode_energy(hw, "llama2-7b", 4, 8, 4, 136, prt_table=prt_table)  # mean context 128 + 16 / 2
    assert r["decode_s"] == pytest.approx(16 * step["step_s"])


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_bad_prompt_length_is_named(load, bad):
    with pytest.raises(ValueError, match="prompt_tokens"):
        prefill(load("graviton2"), "llama2-7b", 4, 8, 1, bad)


def test_request_table_covers_every_system_point_and_mix(load, prt_table):
    grid = workload_grid(["smollm2-135m"], [4], [8], [1, 8], [0])
    mixes = [{"prompt_tokens": 16, "generated_tokens": 4}, {"prompt_tokens": 64, "generated_tokens": 8}]
    t = request_table([load(n) for n in SYSTEMS], grid, mixes, prt_table, 64)
    assert len(t) == 3 * 2 * 2
    assert np.isfinite(t.ttft_s).all() and (t.request_energy_j > 0).all()
    with pytest.raises(ValueError, match="mix"):
        request_table([load("sail")], grid, [], prt_table, 64)


def test_fig16_draws_the_table_values(load, prt_table):
    import matplotlib.pyplot as plt
    from sail.plots.energy import plot_energy

    grid = workload_grid(["llama2-7b"], [4], [8], [1, 8, 64], [512])
    hws = [load(n) for n in SYSTEMS]
    e = energy_table(hws, grid, prt_table, 128)
    r = request_table(hws, grid, [{"prompt_tokens": 32, "generated_tokens": 4}], prt_table, 128)
    fig = plot_energy(e, r)
    lines = {l.get_label(): l.get_ydata() for l in fig.axes[1].get_lines()}
    assert np.allclose(lines["SAIL"], e[e.system == "sail"].sort_values("batch").tokens_per_j)
    ttft = {l.get_label(): l.get_ydata() for l in fig.axes[2].get_lines()}
    assert np.allclose(ttft["V100"], r[r.system == "v100"].sort_values("batch").ttft_s)
    # the stacked bars of panel (a) reach each row's energy per token (mJ)
    tops = {}
    for p in fig.axes[0].patches:
        x = round(p.get_x() + p.get_width() / 2, 6)
        tops[x] = max(tops.get(x, 0.0), p.get_y() + p.get_height())
    assert np.allclose(sorted(tops.values()), sorted(1e3 * e.energy_per_token_j))
    with pytest.raises(ValueError, match="no rows"):
        plot_energy(e, r, model="llama2-7b", w_bits=3)
    plt.close("all")


def test_fig12_keeps_one_unit_per_panel(load):
    import matplotlib.pyplot as plt
    from sail.plots.sim import plot_type_conversion
    from sail.sim.experiments import type_conversion_table

    t = type_conversion_table(load("sail"))
    fig = plot_type_conversion(t)
    widths_b = [p.get_width() for p in fig.axes[1].patches]
    assert np.allclose(widths_b, t.ns_per_element_chip * 1e3)
    assert "one array or one core" in fig.axes[0].get_xlabel() and "all arrays or all cores" in fig.axes[1].get_xlabel()
    assert not any("one core" in tl.get_text() and "all" not in tl.get_text() for tl in fig.axes[1].get_yticklabels())
    plt.close("all")


def test_a_model_that_needs_several_gpus_pays_every_board(load):
    hw = load("v100")
    r = decode_energy(hw, "llama2-70b", 8, 8, 1, 512)
    assert r["n_devices"] > 1
    assert r["gpu_static_j"] == pytest.approx(r["n_devices"] * hw.value("energy.static_w") * r["step_s"])
    q = request(hw, "llama2-70b", 8, 8, 1, 128, 16)
    assert q["n_devices"] == r["n_devices"] and q["request_energy_j"] > 0
    one = decode_energy(hw, "smollm2-135m", 8, 8, 1, 512)
    assert one["n_devices"] == 1
