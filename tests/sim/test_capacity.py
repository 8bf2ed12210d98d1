"""Capacity: every configuration fits its memory, or runs on more GPUs, or is refused by name."""

import numpy as np
import pandas as pd
import pytest

from sail.cost import SystemPrice, cost_table, load_prices, tpd_ratios
from sail.sim import load_hw
from sail.sim.api import simulate
from sail.sim.capacity import GIB, CapacityError, device_options, footprint_bytes, place, require_fit
from sail.sim.engine import evaluate
from sail.sim.experiments import decode_table, infeasible_table, workload_grid
from sail.sim.models import get_model

HW = "config/hw"


@pytest.fixture(scope="module")
def v100():
    return load_hw(f"{HW}/v100.yaml")


@pytest.fixture(scope="module")
def cpu():
    return load_hw(f"{HW}/graviton2.yaml")


def test_footprint_by_hand(v100):
    m = get_model("llama2-7b")
    fp = footprint_bytes(m, 4, 8, 512, 128, v100.values())
    n_w = m.gemv_params + m.vocab * m.dim
    assert fp["weights"] == pytest.approx(n_w * 0.5 + n_w / 128 * 4)
    assert fp["kv"] == pytest.approx(8 * 32 * 2 * 4096 * 512 * 2)  # batch x blocks x K,V x kvd x ctx x fp16
    assert fp["activations"] > 0


def test_v100_device_options_are_the_p3_sizes(v100):
    assert [n for n, _ in device_options(v100)] == [1, 4, 8]
    assert all(0 < e <= 1 for _, e in device_options(v100))


def test_70b_needs_several_gpus_and_more_gpus_for_more_kv(v100):
    m = get_model("llama2-70b")
    small = place(v100, m, 2, 1, 512, 128)
    big = place(v100, m, 8, 64, 2048, 128)
    assert int(small["n_devices"]) == 4  # ~19 GB of 2-bit weights: more than one 16 GB card
    assert int(big["n_devices"]) == 8
    for r in (small, big):
        assert float(r["memory_bytes"]) <= float(r["capacity_bytes"])


def test_small_model_stays_on_one_gpu(v100):
    r = place(v100, get_model("llama2-7b"), 4, 1, 512, 128)
    assert int(r["n_devices"]) == 1 and bool(r["fits"])


def test_model_that_fits_nowhere_is_refused_by_name(v100):
    hw = v100.with_overrides({"gpu.memory_gb": 1.0})
    with pytest.raises(CapacityError, match=r"llama2-70b w_bits=8 batch=64 context=2048.*does not fit"):
        require_fit(hw, get_model("llama2-70b"), 8, 64, 2048, 128)
    with pytest.raises(CapacityError, match="llama2-70b"):
        simulate(hw, "llama2-70b", 8, 8, 64, 2048)


def test_decode_table_places_every_row_in_memory(v100, cpu):
    grid = workload_grid(["llama2-70b", "llama2-7b"], [2, 8], [8], [1, 64], [512, 2048])
    d = decode_table([v100, cpu], grid, None, 128)
    assert (d.memory_bytes <= d.capacity_bytes).all()
    v = d[d.hw == "v100"]
    assert set(v.n_devices) == {1, 4, 8}
    # More GPUs run faster than one would (the TP efficiency is below 1 but N x rates more than make up)
    one = float(np.ravel(evaluate(v100, get_model("llama2-70b"), 2, 8, 1, 512)["tokens_per_s"])[0])  # one card
    row = v[(v.model == "llama2-70b") & (v.w_bits == 2) & (v.batch == 1) & (v.context == 512)]
    assert float(row.tokens_per_s.iloc[0]) > one
    assert float(row.tokens_per_s.iloc[0]) == pytest.approx(simulate(v100, "llama2-70b", 2, 8, 1, 512).tokens_per_s)
    tiny = v100.with_overrides({"gpu.memory_gb": 2.0})
    bad = infeasible_table([tiny], grid, 128)
    assert len(bad) and (bad.memory_bytes > bad.capacity_bytes).all()
    assert not len(decode_table([tiny], grid, None, 128).merge(bad[["model", "w_bits", "batch", "context"]]))


def test_cost_prices_multi_gpu_rows_on_the_instance_that_holds_them(v100, cpu):
    grid = workload_grid(["llama2-70b", "llama2-7b"], [2, 4], [8], [1, 64], [512])
    d = decode_table([v100, cpu], grid, None, 128)
    d = pd.concat([d, d[d.hw == "graviton2"].assign(hw="sail", system="sail")], ignore_index=True)
    prices = load_prices("data/prices.csv")
    systems = [SystemPrice("cpu", "m6g.16xlarge", hw="graviton2"), SystemPrice("sail", "m6g.16xlarge", True),
               SystemPrice("v100", "p3.2xlarge", hw="v100",
                           scale_out=((4, "p3.8xlarge"), (8, "p3.16xlarge")))]
    cost = cost_table(d, prices, systems, 0.02)
    v = cost[cost.system == "v100"]
    want = v.n_devices.map({1: "p3.2xlarge", 4: "p3.8xlarge", 8: "p3.16xlarge"})
    assert (v.instance == want).all()
    r = tpd_ratios(cost, "sail", "v100", ["model", "batch", "context"])
    # no ratio rests on a V100 configuration that does not fit its instance's memory
    assert (r.baseline_memory_bytes <= r.baseline_capacity_bytes).all()
    assert set(r.baseline_instance) >= {"p3.8xlarge"}
    with pytest.raises(ValueError, match="needs 4 devices"):
        cost_table(d, prices, [SystemPrice("v100", "p3.2xlarge", hw="v100")], 0.02)


def test_gib_is_binary():
    assert GIB == 2**30 and np.isclose(GIB, 1.073741824e9)
