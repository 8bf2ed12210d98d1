"""Event-level C-SRAM simulator: executes one GEMV's command stream on every array, on real data.

PIMeval's habit: the simulator computes the answer. :func:`run_gemv` takes integer weight codes ``Q``
(M x K, unsigned ``w_bits``) and integer activations ``X`` (batch x K, two's complement ``a_bits``), lays
them out with the explicit mapping of :mod:`sail.sim.mapping`, and executes, array by array:

1. **weight write** -- the ``n_bw`` singleton rows and the zero row of each resident block;
2. **LUT build** -- every other row ``T[p] = T[p - lowbit(p)] + T[lowbit(p)]`` (2 row reads, 1 row-wide add,
   1 row write), on the actual codes;
3. **PRT probe** per lookup -- the DFM forms the pattern of ``n_bw`` activation bits of one bit-plane and
   probes the Pattern Reuse Table (LRU, ``prt_entries``), scoped per array or shared per slice;
4. **row read** on a miss (a hit reuses the stored row, an all-zero pattern is skipped when ``zero_skip``);
5. **shift-accumulate** of the row's ``epr`` entries into the token's accumulators (``-2**i`` on the MSB
   plane, ``+2**i`` otherwise);
6. **spill / reload** of partial sums when a slab continues past a residency round and the batch needs
   several token passes;
7. **partial-sum reduction** over the arrays that split a slab's K range (binary tree, vectors moved over
   the mesh and added at the receiving array);
8. **type conversion** -- the activations in (each busy array its share) and the outputs out (at the home
   arrays), bit-serially over the bit lines.

Each command is counted per array; cycles are counts x the per-command costs of
:class:`sail.sim.mapping.CommandCosts` (the same object the analytical model uses). The chip time is the
slowest array's (conversion in + build + lookups + spills), then the reduction tree, then the output
conversion. The integer result is returned and must equal ``Q @ X.T`` exactly.

SHORTCUT(lockstep-prt): with a shared (per-slice) PRT the arrays of a slice present their lookups round
robin, one per array per step; a hit does not let an array run ahead of the others.
SHORTCUT(group-scales): the per-quantisation-group scale and zero-point are not part of the command stream;
the result is the integer product over the whole K (what the type conversion then scales).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from sail.profile.patterns import extract_patterns
from sail.sim import mapping


@numba.njit(cache=True)
def _lut_block(Qp, r0, epr, c0, n_bw, T):  # pragma: no cover - compiled
    # T[p, e] = sum of the codes of the subset p of the block's n_bw channels, output row r0 + e
    T[0, :] = 0
    for t in range(n_bw):
        for e in range(epr):
            T[1 << t, e] = Qp[r0 + e, c0 + t]
    for p in range(1, 1 << n_bw):
        low = p & (-p)
        if p != low:
            for e in range(epr):
                T[p, e] = T[p - low, e] + T[low, e]


@numba.njit(parallel=True, cache=True)
def _functional(Qp, P, q, cap, tpp, epr, n_bw, G, n_blocks, a_bits, n_arrays, max_segs, acc_bits, cols,
                psum, seg_slab, counts):  # pragma: no cover - compiled
    # counts[a] = (blocks, spill_load_rows, spill_store_rows, lookups, bit-serial build batches)
    B = P.shape[0]
    n_rows = 1 << n_bw
    for a in numba.prange(n_arrays):
        b0 = min(a * q, n_blocks)
        b1 = min((a + 1) * q, n_blocks)
        if b1 <= b0:
            continue
        s_first = b0 // G
        T = np.zeros((cap, n_rows, epr), np.int64)
        nblk = b1 - b0
        counts[a, 0] = nblk
        for sg in range(max_segs):
            seg_slab[a, sg] = -1
        n_rounds = (nblk + cap - 1) // cap
        n_passes = (B + tpp - 1) // tpp
        per_batch = cols // epr  # bit-serial build: one table per column, cols // epr blocks at once
        for r in range(n_rounds):
            rb0 = b0 + r * cap
            rb1 = min(rb0 + cap, b1)
            counts[a, 4] += (rb1 - rb0 + per_batch - 1) // per_batch
            for bid in range(rb0, rb1):
                s = bid // G
                j = bid - s * G
                _lut_block(Qp, s * epr, epr, j * n_bw, n_bw, T[bid - rb0])
                seg_slab[a, s - s_first] = s
            for t in range(n_passes):
                tk0 = t * tpp
                tk1 = min(tk0 + tpp, B)
                ntok = tk1 - tk0
                rows = (ntok * epr * acc_bits + cols - 1) // cols
                if n_passes > 1:
                    # the slab open at the round's start came from the previous round: reload its sums
                    if r > 0 and (rb0 - 1) // G == rb0 // G:
                        counts[a, 1] += rows
                    # the slab open at the round's end continues into the next round: spill its sums
                    if rb1 < b1 and (rb1 - 1) // G == rb1 // G:
                        counts[a, 2] += rows
                for bid in range(rb0, rb1):
                    s = bid // G
                    j = bid - s * G
                    sg = s - s_first
                    Tb = T[bid - rb0]
                    for tok in range(tk0, tk1):
                        for i in range(a_bits):
                            p = P[tok, j, i]
                            w = np.int64(1) << i
                            if i == a_bits - 1:
                                w = -w
                            for e in range(epr):
                                psum[a, sg, tok, e] += w * Tb[p, e]
                            counts[a, 3] += 1


@numba.njit(cache=True)
def _probe(stack, size, key, entries):  # pragma: no cover - compiled
    # LRU probe: returns (hit, new size); the key ends most recent
    pos = -1
    for e in range(size):
        if stack[e] == key:
            pos = e
            break
    hit = pos >= 0
    if not hit:
        if size < entries:
            size += 1
        pos = size - 1
    for e in range(pos, 0, -1):
        stack[e] = stack[e - 1]
    stack[0] = key
    return hit, size


@numba.njit(cache=True)
def _stream(P, b0, b1, cap, tpp, G, a_bits, pat, visit):  # pragma: no cover - compiled
    # One array's lookups in issue order: round, token pass, block, token, plane; visit = (block, pass) id
    B = P.shape[0]
    n = 0
    v = 0
    n_passes = (B + tpp - 1) // tpp
    nblk = b1 - b0
    n_rounds = (nblk + cap - 1) // cap
    for r in range(n_rounds):
        rb0 = b0 + r * cap
        rb1 = min(rb0 + cap, b1)
        for t in range(n_passes):
            tk0 = t * tpp
            tk1 = min(tk0 + tpp, B)
            for bid in range(rb0, rb1):
                j = bid % G
                for tok in range(tk0, tk1):
                    for i in range(a_bits):
                        pat[n] = P[tok, j, i]
                        visit[n] = v
                        n += 1
                v += 1
    return n


@numba.njit(parallel=True, cache=True)
def _prt(P, q, cap, tpp, G, n_blocks, a_bits, n_slices, per_slice, n_per_slice, n_bw, entries, zero_skip,
         out):  # pragma: no cover - compiled
    # out[a] = (lookups, zero_skips, hits, misses)
    B = P.shape[0]
    lmax = q * B * a_bits
    for sl in numba.prange(n_slices):
        pat = np.zeros((n_per_slice, max(lmax, 1)), np.uint8)
        visit = np.zeros((n_per_slice, max(lmax, 1)), np.int64)
        length = np.zeros(n_per_slice, np.int64)
        for la in range(n_per_slice):
            a = sl * n_per_slice + la
            b0 = min(a * q, n_blocks)
            b1 = min((a + 1) * q, n_blocks)
            if b1 > b0:
                length[la] = _stream(P, b0, b1, cap, tpp, G, a_bits, pat[la], visit[la])
        n_stacks = 1 if per_slice else n_per_slice
        stack = np.zeros((n_stacks, entries), np.int64)
        size = np.zeros(n_stacks, np.int64)
        last_visit = np.full(n_per_slice, -1, np.int64)
        steps = 0
        for la in range(n_per_slice):
            steps = max(steps, length[la])
        for n in range(steps):
            for la in range(n_per_slice):
                if n >= length[la]:
                    continue
                a = sl * n_per_slice + la
                st = 0 if per_slice else la
                if visit[la, n] != last_visit[la]:
                    # a new block visit: the PRT's rows for this array belong to the old table
                    last_visit[la] = visit[la, n]
                    if per_slice:
                        k = 0
                        for e in range(size[st]):
                            if (stack[st, e] >> n_bw) != la:
                                stack[st, k] = stack[st, e]
                                k += 1
                        size[st] = k
                    else:
                        size[st] = 0
                p = pat[la, n]
                out[a, 0] += 1
                if p == 0 and zero_skip:
                    out[a, 1] += 1
                    continue
                key = (np.int64(la) << n_bw) | p
                hit, size[st] = _probe(stack[st], size[st], key, entries)
                if hit:
                    out[a, 2] += 1
                else:
                    out[a, 3] += 1


@dataclass(frozen=True)
class EventResult:
    """Result and per-array command counts of one event-level GEMV."""

    y: np.ndarray  # (batch, M) int64, must equal Q @ X.T
    cycles: float  # chip cycles: slowest array, then the reduction tree, then the output conversion
    components: dict  # the critical array's cycles per command class (sum = cycles)
    lookups: int
    zero_skips: int
    prt_hits: int
    sram_reads: int
    per_array: dict  # name -> (arrays,) counts / cycles
    mapping: dict  # mapping.describe of the run


def run_gemv(hw, Q: np.ndarray, X: np.ndarray, w_bits: int, a_bits: int, zero_skip: bool = False,
             params: dict | None = None, options: dict | None = None) -> EventResult:
    """Execute one GEMV ``Q (M, K) x X (batch, K)`` on the arrays of ``hw`` (a sail description).

    ``params``/``options`` override hardware values (``{"csram.n_bw": 8}``, ``{"prt_scope": "per_slice"}``).
    Raises ``ValueError`` for codes or activations outside ``w_bits``/``a_bits`` and for infeasible mappings.
    """
    if hw.system != "sail":
        raise ValueError(f"run_gemv needs a sail description, got system {hw.system!r}")
    p = hw.values() | (params or {})
    opts = {k: v.value for k, v in hw.options.items()} | (options or {})
    Q = np.asarray(Q)
    X = np.asarray(X)
    if Q.ndim != 2 or X.ndim != 2 or Q.shape[1] != X.shape[1]:
        raise ValueError(f"need Q (M, K) and X (batch, K) with the same K, got {Q.shape} and {X.shape}")
    if Q.size and (Q.min() < 0 or Q.max() >= 1 << w_bits):
        raise ValueError(f"weight codes must be in 0..{(1 << w_bits) - 1} for w_bits={w_bits}")
    lo, hi = -(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1
    if X.size and (X.min() < lo or X.max() > hi):
        raise ValueError(f"activations must be in {lo}..{hi} for a_bits={a_bits}")
    M, K = Q.shape
    B = X.shape[0]
    res = mapping.resources_from_params(p, opts)
    mp = mapping.gemv_mapping(res, M, K, w_bits, a_bits, B)
    c = mapping.command_costs(p, opts, mp, res)
    ival = lambda x: int(np.asarray(x).reshape(-1)[0])  # noqa: E731
    fval = lambda x: float(np.asarray(x).reshape(-1)[0])  # noqa: E731
    n_bw, epr, S, G = ival(res.n_bw), ival(mp.epr), ival(mp.slabs), ival(mp.groups)
    q, cap, tpp = ival(mp.blocks_per_array), ival(mp.resident_blocks), ival(mp.tokens_per_pass)
    n_arrays, n_slices, per = ival(res.arrays), ival(res.slices), ival(res.arrays_per_slice)
    n_blocks = S * G
    acc_bits, cols = ival(res.acc_bits), ival(res.cols)
    Qp = np.zeros((S * epr, G * n_bw), np.uint8)
    Qp[:M, :K] = Q
    Pt = extract_patterns(X.astype(np.int16), n_bw, a_bits, "twos_complement", pad=True)  # (B, G, a_bits)
    max_segs = -(-q // G) + 1
    psum = np.zeros((n_arrays, max_segs, B, epr), np.int64)
    seg_slab = np.full((n_arrays, max_segs), -1, np.int64)
    counts = np.zeros((n_arrays, 5), np.int64)
    _functional(Qp, Pt, q, cap, tpp, epr, n_bw, G, n_blocks, a_bits, n_arrays, max_segs, acc_bits, cols,
                psum, seg_slab, counts)
    prt = np.zeros((n_arrays, 4), np.int64)
    _prt(Pt, q, cap, tpp, G, n_blocks, a_bits, n_slices, opts.get("prt_scope", "per_array") == "per_slice",
         per, n_bw, ival(res.prt_entries), bool(zero_skip), prt)
    if not np.array_equal(prt[:, 0], counts[:, 3]):
        raise RuntimeError("PRT stream and functional stream disagree on the lookup count")

    # Partial-sum reduction: per slab, the contributing arrays' vectors summed in a binary tree.
    y = np.zeros((B, S * epr), np.int64)
    reduce_levels = np.zeros(n_arrays)
    homed = np.zeros(n_arrays)
    for s in range(S):
        a0, a1 = (s * G) // q, ((s + 1) * G - 1) // q  # arrays whose chunk meets the slab
        vecs = [psum[a, s - (a * q) // G] for a in range(a0, a1 + 1)]
        levels = 0
        while len(vecs) > 1:  # one tree level: pairs added at the receiving array
            vecs = [vecs[i] + vecs[i + 1] if i + 1 < len(vecs) else vecs[i] for i in range(0, len(vecs), 2)]
            levels += 1
        y[:, s * epr:(s + 1) * epr] = vecs[0]
        reduce_levels[a0] += levels
        homed[a0] += 1
    busy = counts[:, 0] > 0
    n_busy = int(busy.sum())

    ovl = fval(c.overlap_read_accumulate)
    rd, wr, add, acc = fval(c.read), fval(c.write), fval(c.add_row), fval(c.accumulate)
    miss = ovl * max(rd, acc) + (1 - ovl) * (rd + acc)
    nblk = counts[:, 0].astype(float)
    built = (1 << n_bw) - n_bw - 1
    if res.table_build == "bit_serial":  # column-parallel batches: bit-serial writes and adds, then transpose
        e_bits = ival(mp.entry_bits)
        build = counts[:, 4] * ((n_bw + 1) * e_bits * wr + built * fval(c.bs_add) + (1 << n_bw) * fval(c.transpose))
    else:
        build = nblk * ((n_bw + 1) * wr + built * (2 * rd + add + wr))
    lookup = prt[:, 3] * (miss - acc)
    accumulate = (prt[:, 2] + prt[:, 3]) * acc
    spill = counts[:, 1] * rd + counts[:, 2] * wr
    conv_in = np.where(busy, np.ceil(B * K / (n_busy * cols)) * fval(c.convert), 0.0)
    array_total = conv_in + build + lookup + accumulate + spill
    crit = int(np.argmax(array_total))
    red = reduce_levels * B * (add + fval(c.transfer))
    conv_out = np.ceil(homed * B * epr / cols) * fval(c.convert)
    components = {
        "build": float(build[crit]),
        "lookup": float(lookup[crit]),
        "accumulate": float(accumulate[crit] + spill[crit]),
        "spill": float(spill[crit]),
        "reduce": float(red.max()),
        "convert": float(conv_in[crit] + conv_out.max()),
    }
    cycles = float(array_total[crit] + red.max() + conv_out.max())
    return EventResult(
        y=y[:, :M],
        cycles=cycles,
        components=components,
        lookups=int(prt[:, 0].sum()),
        zero_skips=int(prt[:, 1].sum()),
        prt_hits=int(prt[:, 2].sum()),
        sram_reads=int(prt[:, 3].sum()),
        per_array={"blocks": counts[:, 0], "lookups": prt[:, 0], "prt_hits": prt[:, 2], "sram_reads": prt[:, 3],
                   "cycles": array_total},
        mapping=mapping.describe(mp, res),
    )


def analytical_gemv_cycles(hw, m, k, w_bits, a_bits, batch, zero_frac=0.0, hit_frac=0.0,
                           params: dict | None = None, options: dict | None = None) -> dict:
    """The analytical model's cycles for the same GEMV (what :mod:`sail.sim.engine` charges), per component."""
    p = hw.values() | (params or {})
    opts = {k_: v.value for k_, v in hw.options.items()} | (options or {})
    res = mapping.resources_from_params(p, opts)
    mp = mapping.gemv_mapping(res, m, k, w_bits, a_bits, batch)
    c = mapping.command_costs(p, opts, mp, res)
    cyc = mapping.analytical_cycles(mp, res, c, zero_frac, hit_frac)
    out = {key: float(np.asarray(cyc[key]).reshape(-1)[0]) for key in
           ("build", "lookup", "accumulate", "spill", "reduce", "convert")}
    out["cycles"] = out["build"] + out["lookup"] + out["accumulate"] + out["reduce"] + out["convert"]
    return out
