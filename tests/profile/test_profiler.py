"""PatternProfiler tables: consistent with the literal PRT simulation and naive twins, deterministic."""

import io

import numpy as np
import pytest

from sail.profile import PRT_HITS_COLUMNS, PatternProfiler, ProfileGrid, prt
from sail.profile.capture import calibration_windows, position_major_rows
from sail.profile.patterns import extract_patterns

import profile_naive as naive


def quantize(x, a_bits):
    """Stand-in for sail.quant.act.quantize_activations: per-token symmetric, round half to even."""
    qmax = 2 ** (a_bits - 1) - 1
    amax = np.abs(x).max(axis=1)
    s = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    return np.clip(np.round(x / s[:, None]), -qmax, qmax).astype(np.int8), s


GRID = ProfileGrid(points=((3, 4, "twos_complement"), (4, 4, "twos_complement"), (4, 4, "sign_magnitude"),
                           (3, 2, "twos_complement")),
                   batches=(1, 2, 4), prt_entries=(2, 4, 8), detail=((3, 4, "twos_complement"),),
                   order_entries=(4,))


def layers(seed=0):
    rng = np.random.default_rng(seed)
    # K = 10 is not a multiple of n_bw 3 or 4: the profiler pads
    return [("q", rng.standard_t(3, size=(8, 10)).astype(np.float32)),
            ("down", rng.standard_t(3, size=(8, 14)).astype(np.float32)),
            ("q", rng.standard_t(3, size=(8, 10)).astype(np.float32))]


def run(seed=0):
    prof = PatternProfiler(GRID, quantize)
    for lt, x in layers(seed):
        prof.add(lt, x)
    return prof


def test_prt_hits_match_literal_simulation_summed_over_layers():
    hits = run().prt_hits_table()
    assert list(hits.columns) == PRT_HITS_COLUMNS
    assert set(hits.layer_type) == {"q", "down"}
    assert (hits.sram_reads == hits.lookups - hits.zero_skips - hits.prt_hits).all()
    assert np.allclose(hits.avoided_fraction, (hits.zero_skips + hits.prt_hits) / hits.lookups)
    assert set(hits[hits.policy == "fifo"][["n_bw", "a_bits"]].itertuples(index=False)) == {(3, 4)}
    for row in hits.itertuples():
        ref = [0, 0, 0]
        for lt, x in layers():
            if lt != row.layer_type:
                continue
            P = extract_patterns(quantize(x, row.a_bits)[0], row.n_bw, row.a_bits, row.encoding, pad=True)
            c = naive.prt_counts(P.tolist(), row.batch, row.prt_entries, row.policy, row.zero_skip)
            ref = [r + v for r, v in zip(ref, c)]
        assert [row.lookups, row.zero_skips, row.prt_hits] == ref, row


def test_order_table_matches_naive():
    order = run().order_table()
    assert set(order.order) == set(prt.ORDERS)
    for row in order.itertuples():
        P = [extract_patterns(quantize(x, row.a_bits)[0], row.n_bw, row.a_bits, row.encoding, pad=True).tolist()
             for lt, x in layers() if lt == row.layer_type]
        ref = sum(naive.prt_counts(p, row.batch, row.prt_entries, row.policy, False, row.order)[2] for p in P)
        assert row.prt_hits == ref


def test_planes_and_distinct_tables():
    prof = run()
    planes = prof.planes_table()
    q = planes[(planes.layer_type == "q") & (planes.n_bw == 4) & (planes.a_bits == 4)
               & (planes.encoding == "twos_complement")]
    Ps = [extract_patterns(quantize(x, 4)[0], 4, 4, pad=True) for lt, x in layers() if lt == "q"]
    for i in range(4):
        pats = np.concatenate([P[:, :, i].ravel() for P in Ps])
        row = q[q.plane == i].iloc[0]
        assert row.presentations == pats.size
        assert row.zero_fraction == pytest.approx(np.mean(pats == 0))
        assert row.entropy_bits == pytest.approx(naive.entropy_bits(np.bincount(pats, minlength=16).tolist()))
    d = prof.distinct_table()
    row = d[(d.layer_type == "q") & (d.n_bw == 4) & (d.a_bits == 4) & (d.encoding == "twos_complement")
            & (d.batch == 2) & (d.plane == "all")].iloc[0]
    n_life = sum(P.shape[1] * P.shape[0] // 2 for P in Ps)
    assert row.mean_distinct == pytest.approx(sum(naive.distinct_per_batch(P.tolist(), 2) for P in Ps) / n_life)
    assert (d.mean_distinct <= d.max_distinct + 1e-12).all()
    h = prof.histogram_table()
    keys = ["layer_type", "n_bw", "a_bits", "encoding", "plane"]
    per_plane = h.groupby(keys)["count"].sum().reset_index().merge(planes, on=keys)
    assert len(per_plane) == len(planes) and (per_plane["count"] == per_plane.presentations).all()


def test_tables_are_byte_identical_across_runs():
    def dump(prof):
        out = io.StringIO()
        for t in (prof.prt_hits_table(), prof.planes_table(), prof.distinct_table(), prof.order_table()):
            t.to_csv(out, index=False, float_format="%.6g")
        return out.getvalue()

    assert dump(run()) == dump(run())


def test_grid_rejects_bad_configuration():
    with pytest.raises(ValueError, match="batch=3 must be positive and divide the largest batch 4"):
        ProfileGrid(points=((4, 4, "twos_complement"),), batches=(3, 4), prt_entries=(8,), order_entries=(8,))
    with pytest.raises(ValueError, match=r"detail point \(n_bw=4, a_bits=4, sign_magnitude\) is outside"):
        ProfileGrid(points=((4, 4, "twos_complement"),), batches=(4,), prt_entries=(8,),
                    detail=((4, 4, "sign_magnitude"),), order_entries=(8,))
    with pytest.raises(ValueError, match="order_entries value 16 is not among prt_entries"):
        ProfileGrid(points=((4, 4, "twos_complement"),), batches=(4,), prt_entries=(8,), order_entries=(16,))
    with pytest.raises(ValueError, match="layer_type must be one of"):
        PatternProfiler(GRID, quantize).add("lm_head", np.zeros((4, 8), np.float32))


def test_from_params_builds_the_union_of_sweeps():
    g = ProfileGrid.from_params(dict(sweep=[dict(n_bw=[4, 2], a_bits=[8], encoding=["twos_complement"]),
                                            dict(n_bw=[4], a_bits=[8, 4], encoding=["sign_magnitude",
                                                                                      "twos_complement"])],
                                     batch=[4, 1, 2], prt_entries=[32, 8],
                                     detail=[dict(n_bw=4, a_bits=8, encoding=["twos_complement", "sign_magnitude"])],
                                     order_entries=[32]))
    assert set(g.points) == {(2, 8, "twos_complement"), (4, 8, "twos_complement"), (4, 8, "sign_magnitude"),
                             (4, 4, "sign_magnitude"), (4, 4, "twos_complement")}
    assert g.batches == (1, 2, 4) and g.prt_entries == (8, 32) and g.a_bits == (4, 8)
    assert g.detail == ((4, 8, "twos_complement"), (4, 8, "sign_magnitude"))


def test_capture_helpers():
    w = calibration_windows(list(range(20)), 3, 6)
    assert w.tolist() == [list(range(0, 6)), list(range(6, 12)), list(range(12, 18))]
    with pytest.raises(ValueError, match="fewer than n_windows\\*window = 24"):
        calibration_windows(list(range(20)), 4, 6)
    perm = position_major_rows(3, 2)  # hook rows (w, pos): (0,0) (0,1) (1,0) (1,1) (2,0) (2,1)
    assert perm.tolist() == [0, 2, 4, 1, 3, 5]  # position 0 of each window, then position 1


def test_identical_inputs_reuse_counters_with_identical_results():
    x = layers()[0][1]
    prof = PatternProfiler(GRID, quantize)
    prof.add("q", x)
    prof.add("k", x.copy())  # same bytes: reused
    prof.add("o", layers(1)[0][1])  # different: computed
    prof.add("v", x)  # same bytes as q but not the previous call: computed again
    assert prof.reused == 1
    hits = prof.prt_hits_table()
    cols = [c for c in hits.columns if c != "layer_type"]
    q, k, v = (hits[hits.layer_type == t][cols].reset_index(drop=True) for t in ("q", "k", "v"))
    assert q.equals(k) and q.equals(v)
    ref = PatternProfiler(GRID, quantize)
    ref.add("k", x)
    r = ref.prt_hits_table()
    assert r[cols].reset_index(drop=True).equals(k)
