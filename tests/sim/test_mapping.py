"""Explicit mapping and the one resource description: area = what the timing uses, infeasible mappings."""

import math

import numpy as np
import pandas as pd
import pytest

from sail.sim import simulate
from sail.sim.area import area_breakdown
from sail.sim.mapping import gemv_mapping, resources_from_params, sail_resources


def _row(df, prefix):
    hit = df[df.component.str.startswith(prefix)]
    assert len(hit) == 1, prefix
    return float(hit.area_mm2.iloc[0])


@pytest.mark.parametrize("scope", ["per_array", "per_slice"])
@pytest.mark.parametrize("acc_tokens", [1, 8, 64])
def test_area_counts_the_resources_the_timing_uses(load, scope, acc_tokens):
    hw = load("sail").with_overrides({"prt_scope": scope, "dfm.acc_tokens": acc_tokens})
    res = sail_resources(hw)
    bit = hw.value("dfm.bit_area_mm2")
    df = area_breakdown(hw)
    assert _row(df, "PRT (") == pytest.approx(float(res.prt_bits) * bit)
    assert _row(df, "accumulator registers") == pytest.approx(float(res.acc_register_bits) * bit)
    assert _row(df, "near-array adders") == pytest.approx(float(res.adders) * hw.value("dfm.adder_area_mm2_per_lane"))
    n_prt = res.arrays if scope == "per_array" else res.slices
    assert float(res.prt_tables) == float(n_prt)
    # the timing's token passes come from the same accumulator registers
    mp = gemv_mapping(res, 4096, 4096, 4, 8, 64)
    epr = 256 // 6
    assert float(mp.tokens_per_pass) == min(64, acc_tokens * hw.value("dfm.acc_lanes") // epr)
    # the per-placement total in tab05 equals the row of the description's own placement
    own = _row(df, "total, arrays repurposed from LLC ways")
    assert _row(df, f"total, arrays repurposed, PRT {scope}, accumulators for {acc_tokens} tokens") == pytest.approx(own)


def test_more_accumulators_cost_area_and_save_time(load):
    small, big = load("sail"), load("sail").with_overrides({"dfm.acc_tokens": 64})
    a_small = _row(area_breakdown(small), "total, arrays repurposed from LLC ways")
    a_big = _row(area_breakdown(big), "total, arrays repurposed from LLC ways")
    assert a_big > a_small
    t = [simulate(h, "llama2-7b", 4, 8, 64, 0).breakdown_s["accumulate_s"] for h in (small, big)]
    assert t[1] < t[0]  # no token passes, no spills


def test_scope_without_measured_hits_is_refused(load, prt_table):
    hw = load("sail").with_overrides({"prt_scope": "per_slice"})
    with pytest.raises(ValueError, match="scope"):
        simulate(hw, "smollm2-135m", 4, 8, 8, 128, prt=prt_table)
    scoped = prt_table.assign(scope="per_slice")
    assert simulate(hw, "smollm2-135m", 4, 8, 8, 128, prt=scoped).tokens_per_s > 0


def test_infeasible_mappings_raise(load):
    hw = load("sail")
    p, o = hw.values(), {k: v.value for k, v in hw.options.items()}
    with pytest.raises(ValueError, match="does not fit an array"):
        gemv_mapping(resources_from_params(p | {"csram.n_bw": 9}, o), 64, 64, 4, 8, 1)
    with pytest.raises(ValueError, match="accumulator bits"):
        gemv_mapping(resources_from_params(p | {"dfm.acc_bits": 16}, o), 4096, 11008, 4, 8, 1)
    with pytest.raises(ValueError, match="register file holds"):
        gemv_mapping(resources_from_params(p | {"dfm.acc_tokens": 0.5, "dfm.acc_lanes": 10}, o), 64, 64, 4, 8, 1)
    with pytest.raises(ValueError, match="wider than"):
        gemv_mapping(resources_from_params(p | {"csram.cols": 4}, o), 64, 64, 4, 8, 1)
    with pytest.raises(ValueError, match="prt_scope"):
        resources_from_params(p, o | {"prt_scope": "per_chip"})


def test_large_batch_falls_back_to_token_passes(load):
    res = sail_resources(load("sail"))
    mp = gemv_mapping(res, 4096, 4096, 4, 8, 64)
    assert float(mp.tokens_per_pass) == 8 and float(mp.token_passes) == 8
    assert float(mp.rounds) == math.ceil(float(mp.blocks_per_array) / (256 // 16))
    one = gemv_mapping(res, 4096, 4096, 4, 8, 8)
    assert float(one.token_passes) == 1


def test_small_layers_leave_arrays_idle_and_split_k(load):
    res = sail_resources(load("sail"))
    mp = gemv_mapping(res, 192, 576, 4, 8, 1)  # SmolLM2 k: 5 slabs x 144 groups = 720 blocks over 256 arrays
    assert float(mp.blocks) == 720 and float(mp.blocks_per_array) == 3
    assert float(mp.busy_arrays) == 240 and float(mp.idle_arrays) == 16
    assert float(mp.imbalance) > 1
    assert float(mp.contributors_max) == 48  # 144 groups / 3 blocks per array


@pytest.mark.parametrize("seed", range(5))
def test_contributor_formula_bounds_the_exact_count(load, seed):
    rng = np.random.default_rng(seed)
    res = sail_resources(load("sail"))
    for _ in range(20):
        m, k = int(rng.integers(1, 3000)), int(rng.integers(4, 3000))
        mp = gemv_mapping(res, m, k, 4, 8, 1)
        S, G, q = int(mp.slabs), int(mp.groups), int(mp.blocks_per_array)
        exact = max(((s + 1) * G - 1) // q - (s * G) // q + 1 for s in range(S))
        assert float(mp.contributors_max) >= exact
        if S >= q // math.gcd(G, q):  # every offset occurs: the formula is exact
            assert float(mp.contributors_max) == exact


def test_mapping_broadcasts_over_layers_and_points(load):
    hw = load("sail")
    p = hw.values() | {"csram.arrays_per_slice": np.array([4.0, 8.0, 16.0])}
    res = resources_from_params(p, {k: v.value for k, v in hw.options.items()})
    mp = gemv_mapping(res, np.array([[576.0], [4096.0]]), np.array([[576.0], [4096.0]]), 4, 8, 8)
    assert mp.blocks_per_array.shape == (2, 3)
    assert np.all(np.diff(mp.blocks_per_array, axis=1) <= 0)  # more arrays, fewer blocks each


def test_prt_table_columns_survive(prt_table):
    assert isinstance(prt_table, pd.DataFrame) and "prt_hits" in prt_table


def test_chunks_cover_every_block_once_and_the_table_names_them(load):
    from sail.sim.mapping import array_chunks, mapping_table

    res = sail_resources(load("sail"))
    for m, k in ((576, 576), (192, 576), (4096, 11008)):
        mp = gemv_mapping(res, m, k, 4, 8, 1)
        chunks = array_chunks(int(mp.blocks), int(mp.blocks_per_array), int(res.arrays))
        covered = [b for b0, b1 in chunks for b in range(b0, b1)]
        assert covered == list(range(int(mp.blocks)))
        assert sum(b1 > b0 for b0, b1 in chunks) == float(mp.busy_arrays)
    rows = mapping_table(res, [("smollm2-135m", "k", 192, 576)], 4, 8, [1, 32])
    assert [r["batch"] for r in rows] == [1, 32]
    assert rows[0]["slice0_array0_holds"] == "slab 0 group 0 .. slab 0 group 2"
    assert rows[0]["last_slice_array0_holds"] == "idle"


def test_chip_command_counts(load):
    from sail.sim.mapping import chip_command_counts

    res = sail_resources(load("sail"))
    mp = gemv_mapping(res, 4096, 4096, 4, 8, 8)
    none, half = chip_command_counts(mp, res, 0.0, 0.0), chip_command_counts(mp, res, 0.0, 0.5)
    lookups = float(mp.blocks) * 8 * 8
    assert float(none["row_reads"] - half["row_reads"]) == pytest.approx(0.5 * lookups)  # hits skip reads only
    assert float(none["prt_probes"]) == lookups
    # bit-parallel build: 11 built rows (2 reads, 1 write) + 5 written rows per block
    assert float(none["row_writes"]) == float(mp.blocks) * 16
    assert float(none["row_reads"]) == float(mp.blocks) * 22 + lookups
