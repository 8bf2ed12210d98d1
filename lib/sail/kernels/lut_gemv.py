"""SAIL's weight-LUT GEMV on the CPU (numba), exact in int64, any ``w_bits``, ``a_bits``, ``n_bw`` in 1..8.

Dataflow (docs/simulator.md): K is split into LUT groups of ``n_bw`` channels. For row ``r`` and group
``j`` the kernel builds the table of all ``2**n_bw`` subset sums ``T[p] = sum_t p_t Q[r, j n_bw + t]``
incrementally (``T[p] = T[p without its lowest bit] + Q[lowest bit]``: ``2**n_bw - n_bw - 1``
additions, as :func:`sail.sim.opcount.lut_gemv` counts them). Activations are fed bit-serially,
LSB to MSB: at bit-plane ``i`` the ``n_bw`` activation bits of token ``b`` form the pattern ``p``
and ``T[p]`` is accumulated with weight ``sign_i 2**i`` (``sign = -1`` on the MSB plane, two's
complement). One table serves every token of the batch, so its cost is amortised over ``batch``.

Per-plane partial sums are accumulated first and shifted once per row
(``sum_i sign_i 2**i sum_j T_j[p_ij]`` equals ``sum_j sum_i sign_i 2**i T_j[p_ij]`` exactly in
integers); the number of table reads is unchanged.

The fast path (:func:`lut_gemv_prepared`) follows SAIL's memory organisation: a looked-up table row
holds ``T_j[p]`` of many output rows side by side (a tile of ``WLUT_TILE`` rows here, all M columns
of the SRAM array in SAIL), so one pattern drives one contiguous vector add. Per token the work is
``a_bits`` row-lookups and, amortised over the batch, ``2**n_bw - 1`` row-writes of table building
per LUT group: the per-token time falls with batch only as far as table building dominates, i.e.
``(build / B + a_bits) / (build + a_bits)`` in row-operations (``n_bw`` 4, A8: 0.44 at batch 32;
``n_bw`` 8: 0.06).

K not a multiple of ``n_bw`` is padded with zero channels (code 0, activation 0), which leaves
the result exact; the counters then describe the padded ``K_pad = ceil(K / n_bw) * n_bw``.

PRT semantics of :func:`lut_gemv_pattern_aware` (the profiling stage implements the same)
------------------------------------------------------------------------------------------
* One Pattern Reuse Table per **data-feeding module = per LUT group j**; it is empty at the start
  of each group (of each GEMV call).
* Presentation order within a group: for each token ``b`` of the batch (in order), bit-planes
  ``i = 0 .. a_bits-1`` (LSB to MSB).
* An all-zero pattern is a **zero skip** (when ``skip_zeros``): no SRAM read, no accumulate, and
  the PRT is neither consulted nor updated.
* Otherwise the PRT (``prt_entries`` entries, fully associative, **LRU**, keyed on the ``n_bw``-bit
  pattern) is consulted: a **hit** reuses the looked-up row (no SRAM read) and makes the entry most
  recent; a **miss** is an SRAM read and inserts the pattern, evicting the least recently used.
  ``prt_entries = 0`` disables the PRT.
* The pattern stream of a group is the same for every matrix row (the looked-up SRAM row spans
  the tables of all M rows), so every count is ``M x`` the per-group stream count.

Counters (:class:`LutCounters`): ``lookups = batch a_bits M K_pad/n_bw`` (all presentations),
``sram_reads = lookups - zero_skips - prt_hits``, ``table_build_adds`` and ``shift_accumulates``
as in :mod:`sail.sim.opcount` (``shift_accumulates = lookups`` without reuse and
``opcount...after_reuse(zero_skips + prt_hits)`` with it, i.e. a PRT hit is counted as an avoided
shift-accumulate too). Note: the software kernel still adds the reused value on a hit;
``accumulates_performed = lookups - zero_skips`` counts what it really does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from sail.quant.packing import PackedLinear
from sail.sim import opcount

MAX_N_BW = 8
MAX_A_BITS = 8
SKIP = -1  # action codes of the PRT plan
MISS_BASE = 1 << 16  # action = MISS_BASE + slot: read SRAM, then store in PRT slot


@dataclass(frozen=True)
class LutCounters:
    table_build_adds: int
    lookups: int
    zero_skips: int
    prt_hits: int
    sram_reads: int
    shift_accumulates: int
    accumulates_performed: int


# ---------------------------------------------------------------------------------------------
# argument checks


def _check_int_in(name, v, lo, hi):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {v!r}")
    return int(v)


def check_activations(x_int, a_bits: int, k: int) -> np.ndarray:
    """Return ``x_int`` as a (K, B) int64 array; ValueError if shape or range is wrong."""
    x = np.asarray(x_int)
    if x.dtype.kind not in "iu":
        raise ValueError(f"x_int must be an integer array, got dtype {x.dtype}")
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != k:
        raise ValueError(f"x_int must have shape (K,) or (K, B) with K={k}, got {np.shape(x_int)}")
    if x.shape[1] < 1:
        raise ValueError("x_int has an empty batch")
    lo, hi = -(1 << (a_bits - 1)), (1 << (a_bits - 1)) - 1
    if x.size and (int(x.min()) < lo or int(x.max()) > hi):
        raise ValueError(f"activations out of range for a_bits={a_bits} (signed {lo}..{hi}): "
                         f"min {int(x.min())}, max {int(x.max())}")
    return x.astype(np.int64)


def check_codes(q_codes, w_bits: int) -> np.ndarray:
    q = np.asarray(q_codes)
    if q.ndim != 2:
        raise ValueError(f"q_codes must be 2-D (M, K), got shape {q.shape}")
    if q.dtype.kind not in "iu":
        raise ValueError(f"q_codes must be an integer array, got dtype {q.dtype}")
    if q.size and (int(q.min()) < 0 or int(q.max()) >= (1 << w_bits)):
        raise ValueError(f"codes out of range for w_bits={w_bits}: min {int(q.min())}, max {int(q.max())}")
    return q.astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# activation patterns


def activation_patterns(x: np.ndarray, a_bits: int, n_bw: int) -> np.ndarray:
    """Patterns ``P[j, i, b]`` (uint8): the ``n_bw`` bits of plane ``i`` of token ``b`` in LUT group ``j``.

    ``x`` is (K, B) int64 with K a multiple of ``n_bw``; bit ``t`` of the pattern is channel
    ``j*n_bw + t``.
    """
    k, batch = x.shape
    ng = k // n_bw
    xr = x.reshape(ng, n_bw, batch)
    pats = np.zeros((ng, a_bits, batch), dtype=np.uint8)
    for i in range(a_bits):
        bits = ((xr >> i) & 1).astype(np.uint8)  # (ng, n_bw, B)
        for t in range(n_bw):
            pats[:, i, :] |= bits[:, t, :] << np.uint8(t)
    return pats


@njit(cache=True)
def _prt_plan(pats, prt_entries, skip_zeros):
    """LRU simulation of each group's pattern stream -> action per presentation, plus counts.

    action: SKIP (zero pattern), slot (PRT hit: reuse the value cached in that slot) or
    MISS_BASE + slot (SRAM read; cache in slot) or MISS_BASE - 1 (SRAM read, no PRT).
    """
    ng, a_bits, batch = pats.shape
    plan = np.empty((ng, batch * a_bits), dtype=np.int32)
    keys = np.empty(max(prt_entries, 1), dtype=np.int32)
    stamp = np.empty(max(prt_entries, 1), dtype=np.int64)
    zero_skips = 0
    hits = 0
    reads = 0
    for j in range(ng):
        used = 0
        clock = 0
        for b in range(batch):
            for i in range(a_bits):
                n = b * a_bits + i
                p = np.int32(pats[j, i, b])
                clock += 1
                if skip_zeros and p == 0:
                    plan[j, n] = SKIP
                    zero_skips += 1
                    continue
                if prt_entries == 0:
                    plan[j, n] = MISS_BASE - 1
                    reads += 1
                    continue
                slot = -1
                for s in range(used):
                    if keys[s] == p:
                        slot = s
                        break
                if slot >= 0:
                    stamp[slot] = clock
                    plan[j, n] = slot
                    hits += 1
                    continue
                if used < prt_entries:
                    slot = used
                    used += 1
                else:
                    slot = 0
                    for s in range(1, used):
                        if stamp[s] < stamp[slot]:
                            slot = s
                keys[slot] = p
                stamp[slot] = clock
                plan[j, n] = MISS_BASE + slot
                reads += 1
    return plan, zero_skips, hits, reads


# ---------------------------------------------------------------------------------------------
# kernels


@njit(inline="always")
def _build_table(codes, base, n_bw, table):
    # doubling: after step t the first 2**(t+1) entries are the subset sums of channels 0..t.
    # Entries 2**t are copies (0 + Q[t]), so the real additions are 2**n_bw - n_bw - 1 (opcount).
    table[0] = 0
    for t in range(n_bw):
        w = np.int32(codes[base + t])
        half = 1 << t
        for p in range(half):
            table[half + p] = table[p] + w


# Row-broadcast layout (SAIL's dataflow): one looked-up table row serves every matrix row. In SAIL
# the pattern selects one SRAM row that holds ``T_j[p]`` of all M output rows side by side; here a
# tile of WLUT_TILE output rows keeps ``table[p, 0:WLUT_TILE]`` contiguous, so a lookup is one
# contiguous vector add over the tile (LLVM vectorises the fixed-length lane loops) instead of a
# scalar gather per row. Table building is vectorised the same way.
WLUT_TILE = 64


@dataclass(frozen=True)
class WlutPrepared:
    """Codes re-laid out once (at load time) for :func:`lut_gemv_prepared`.

    ``codes[tile, k, lane]`` (uint8) is the code of row ``tile * WLUT_TILE + lane`` at input channel
    ``k``; rows are zero-padded to a multiple of ``WLUT_TILE`` and channels to ``K + MAX_N_BW - 1``
    (zero codes with zero activations leave every dot product exact, for any ``n_bw``).
    One byte per weight, whatever ``w_bits``: the weight-LUT is compute-bound, not bandwidth-bound.
    """

    codes: np.ndarray
    w_bits: int
    m: int
    k: int

    @property
    def nbytes(self) -> int:
        """Bytes one GEMV reads from the weights (the re-laid-out codes, padding included)."""
        return int(self.codes.nbytes)


def prepare_wlut(p) -> WlutPrepared:
    """Re-lay out a :class:`PackedLinear` once for :func:`lut_gemv_prepared`."""
    if not isinstance(p, PackedLinear):
        raise ValueError(f"expected a PackedLinear, got {type(p).__name__}")
    return _prepare_codes(p.codes(), p.w_bits)


def _prepare_codes(q: np.ndarray, w_bits: int) -> WlutPrepared:
    m, k = q.shape
    tiles = -(-m // WLUT_TILE)
    lay = np.zeros((tiles * WLUT_TILE, k + MAX_N_BW - 1), dtype=np.uint8)
    lay[:m, :k] = q
    lay = np.ascontiguousarray(lay.reshape(tiles, WLUT_TILE, -1).transpose(0, 2, 1))
    return WlutPrepared(codes=lay, w_bits=int(w_bits), m=int(m), k=int(k))


@njit(parallel=True, cache=True)
def _wlut_tiled(codes, pats, n_bw, a_bits, out):
    tiles = codes.shape[0]
    ng = pats.shape[0]
    npres = pats.shape[1]
    batch = npres // a_bits
    m = out.shape[0]
    for tile in prange(tiles):
        table = np.empty((1 << n_bw, WLUT_TILE), dtype=np.int16)  # entries <= n_bw * 255
        part = np.zeros((npres, WLUT_TILE), dtype=np.int32)
        for j in range(ng):
            for lane in range(WLUT_TILE):
                table[0, lane] = 0
            for t in range(n_bw):  # doubling, as _build_table, on all rows of the tile at once
                half = 1 << t
                ch = j * n_bw + t
                for p in range(half):
                    for lane in range(WLUT_TILE):
                        table[half + p, lane] = table[p, lane] + np.int16(codes[tile, ch, lane])
            for n in range(npres):
                p = pats[j, n]
                for lane in range(WLUT_TILE):
                    part[n, lane] += table[p, lane]
        r0 = tile * WLUT_TILE
        for lane in range(min(WLUT_TILE, m - r0)):
            for b in range(batch):
                acc = np.int64(0)
                for i in range(a_bits - 1):
                    acc += np.int64(part[i * batch + b, lane]) << i
                acc -= np.int64(part[(a_bits - 1) * batch + b, lane]) << (a_bits - 1)
                out[r0 + lane, b] = acc


@njit(parallel=True, cache=True)
def _wlut_codes_prt(q, pats, plan, n_bw, prt_entries, out):
    m = q.shape[0]
    ng, a_bits, batch = pats.shape
    for r in prange(m):
        table = np.empty(1 << n_bw, dtype=np.int32)
        cache = np.zeros(max(prt_entries, 1), dtype=np.int32)
        part = np.zeros((a_bits, batch), dtype=np.int64)
        for j in range(ng):
            _build_table(q[r], j * n_bw, n_bw, table)
            for b in range(batch):
                for i in range(a_bits):
                    act = plan[j, b * a_bits + i]
                    if act == SKIP:
                        continue
                    if act < MISS_BASE - 1:  # PRT hit: no table read
                        v = cache[act]
                    else:
                        v = table[pats[j, i, b]]
                        if act >= MISS_BASE:
                            cache[act - MISS_BASE] = v
                    part[i, b] += v
        for b in range(batch):
            acc = np.int64(0)
            for i in range(a_bits - 1):
                acc += part[i, b] << i
            acc -= part[a_bits - 1, b] << (a_bits - 1)
            out[r, b] = acc


@njit(cache=True)
def _tables_all(q, n_bw, out):
    for r in range(q.shape[0]):
        for j in range(q.shape[1] // n_bw):
            _build_table(q[r], j * n_bw, n_bw, out[r, j])


def weight_tables(q_codes, w_bits: int, n_bw: int) -> np.ndarray:
    """The kernel's tables ``T[r, j, p]`` (int32, (M, K/n_bw, 2**n_bw)), built by the same routine as
    :func:`lut_gemv` (for figures and teaching; the kernel itself never materialises them all)."""
    w_bits = _check_int_in("w_bits", w_bits, 1, 8)
    n_bw = _check_int_in("n_bw", n_bw, 1, MAX_N_BW)
    q = check_codes(q_codes, w_bits)
    if q.shape[1] % n_bw:
        raise ValueError(f"K={q.shape[1]} is not a multiple of n_bw={n_bw}")
    out = np.zeros((q.shape[0], q.shape[1] // n_bw, 1 << n_bw), dtype=np.int32)
    _tables_all(np.ascontiguousarray(q), n_bw, out)
    return out


# ---------------------------------------------------------------------------------------------
# public entry points


def _flat(pats):
    ng, a_bits, batch = pats.shape
    return np.ascontiguousarray(pats).reshape(ng, a_bits * batch)


def _check_int32_sums(k):
    if k * 255 >= 2**31:  # per-plane partial sums are int32 in the fast kernels
        raise ValueError(f"K={k} too large for int32 partial sums (K * 255 must be < 2**31)")


def _pad_k(q, x, n_bw):
    k = q.shape[1]
    k_pad = -(-k // n_bw) * n_bw
    if k_pad != k:
        q = np.concatenate([q, np.zeros((q.shape[0], k_pad - k), q.dtype)], axis=1)
        x = np.concatenate([x, np.zeros((k_pad - k, x.shape[1]), x.dtype)], axis=0)
    return q, x, k_pad


def lut_gemv(q_codes, x_int, w_bits: int, a_bits: int, n_bw: int) -> np.ndarray:
    """Exact ``q_codes @ x_int`` (int64) by SAIL's weight-LUT, bit-serial over activations.

    Parameters
    ----------
    q_codes : (M, K) integer codes in ``0 .. 2**w_bits - 1``.
    x_int : (K,) or (K, B) signed ``a_bits`` integers (two's complement range).
    w_bits, a_bits, n_bw : integers in 1..8.

    Returns (M,) or (M, B) int64. K not a multiple of ``n_bw`` is zero-padded (exact).
    """
    w_bits = _check_int_in("w_bits", w_bits, 1, 8)
    q = check_codes(q_codes, w_bits)
    return lut_gemv_prepared(_prepare_codes(q, w_bits), x_int, a_bits, n_bw)


def lut_gemv_prepared(prep: WlutPrepared, x_int, a_bits: int, n_bw: int) -> np.ndarray:
    """:func:`lut_gemv` on a layer prepared once by :func:`prepare_wlut` (the benchmarked fast path)."""
    if not isinstance(prep, WlutPrepared):
        raise ValueError(f"expected a WlutPrepared, got {type(prep).__name__}")
    a_bits = _check_int_in("a_bits", a_bits, 1, MAX_A_BITS)
    n_bw = _check_int_in("n_bw", n_bw, 1, MAX_N_BW)
    vec = np.ndim(x_int) == 1
    x = check_activations(x_int, a_bits, prep.k)
    k_pad = -(-prep.k // n_bw) * n_bw
    _check_int32_sums(k_pad)
    if k_pad != prep.k:
        x = np.concatenate([x, np.zeros((k_pad - prep.k, x.shape[1]), x.dtype)], axis=0)
    pats = activation_patterns(x, a_bits, n_bw)
    out = np.empty((prep.m, x.shape[1]), dtype=np.int64)
    _wlut_tiled(prep.codes, _flat(pats), n_bw, a_bits, out)
    return out[:, 0] if vec else out


def lut_gemv_packed(p: PackedLinear, x_int, a_bits: int, n_bw: int) -> np.ndarray:
    """Integer dot products ``Q @ X`` from the packed bit-plane layout (re-laid out on every call;
    prepare once with :func:`prepare_wlut` when the layer is used repeatedly)."""
    return lut_gemv_prepared(prepare_wlut(p), x_int, a_bits, n_bw)


def lut_gemv_pattern_aware(q_codes, x_int, w_bits: int, a_bits: int, n_bw: int, prt_entries: int = 32,
                           skip_zeros: bool = True) -> tuple[np.ndarray, LutCounters]:
    """:func:`lut_gemv` with zero-pattern skipping and PRT reuse (module docstring); returns ``(y, counters)``."""
    w_bits = _check_int_in("w_bits", w_bits, 1, 8)
    a_bits = _check_int_in("a_bits", a_bits, 1, MAX_A_BITS)
    n_bw = _check_int_in("n_bw", n_bw, 1, MAX_N_BW)
    prt_entries = _check_int_in("prt_entries", prt_entries, 0, 1 << 14)
    q = check_codes(q_codes, w_bits)
    vec = np.ndim(x_int) == 1
    x = check_activations(x_int, a_bits, q.shape[1])
    q, x, k_pad = _pad_k(q, x, n_bw)
    m, batch = q.shape[0], x.shape[1]
    pats = activation_patterns(x, a_bits, n_bw)
    plan, zero_skips, hits, reads = _prt_plan(pats, prt_entries, bool(skip_zeros))
    out = np.empty((m, batch), dtype=np.int64)
    _wlut_codes_prt(np.ascontiguousarray(q), pats, plan, n_bw, prt_entries, out)
    ops = opcount.lut_gemv(m, k_pad, n_bw, a_bits, batch)
    avoided = m * (zero_skips + hits)
    counters = LutCounters(
        table_build_adds=ops.table_build_adds,
        lookups=ops.lookups,
        zero_skips=m * zero_skips,
        prt_hits=m * hits,
        sram_reads=m * reads,
        shift_accumulates=ops.after_reuse(avoided).shift_accumulates,
        accumulates_performed=ops.lookups - m * zero_skips,
    )
    return (out[:, 0] if vec else out), counters


@njit(parallel=True, cache=True)
def _wlut_grouped(q, pats, n_bw, a_bits, luts_per_group, out):
    # out (M, n_qgroups, B): one integer accumulator per quantisation group (it carries its own scale)
    m = q.shape[0]
    ng = pats.shape[0]
    npres = pats.shape[1]
    batch = npres // a_bits
    for r in prange(m):
        table = np.empty(1 << n_bw, dtype=np.int32)
        part = np.empty(npres, dtype=np.int32)
        for gq in range(ng // luts_per_group):
            part[:] = 0
            for j in range(gq * luts_per_group, (gq + 1) * luts_per_group):
                _build_table(q[r], j * n_bw, n_bw, table)
                for n in range(npres):
                    part[n] += table[pats[j, n]]
            for b in range(batch):
                acc = np.int64(0)
                for i in range(a_bits - 1):
                    acc += np.int64(part[i * batch + b]) << i
                acc -= np.int64(part[(a_bits - 1) * batch + b]) << (a_bits - 1)
                out[r, gq, b] = acc


def lut_gemv_grouped(q_codes, x_int, w_bits: int, a_bits: int, n_bw: int, group_size: int) -> np.ndarray:
    """Per-quantisation-group integer dot products ``acc[r, g, b] = sum_{k in g} Q[r, k] X[k, b]`` by the weight-LUT.

    ``group_size`` must be a multiple of ``n_bw`` (a group's scale must cover whole LUT groups) and divide K.
    Returns (M, K // group_size, B) int64.
    """
    w_bits = _check_int_in("w_bits", w_bits, 1, 8)
    a_bits = _check_int_in("a_bits", a_bits, 1, MAX_A_BITS)
    n_bw = _check_int_in("n_bw", n_bw, 1, MAX_N_BW)
    q = check_codes(q_codes, w_bits)
    x = check_activations(x_int, a_bits, q.shape[1])
    k = q.shape[1]
    if not isinstance(group_size, (int, np.integer)) or group_size < 1 or k % group_size or group_size % n_bw:
        raise ValueError(f"group_size={group_size!r} must divide K={k} and be a multiple of n_bw={n_bw}")
    _check_int32_sums(group_size)
    pats = activation_patterns(x, a_bits, n_bw)
    out = np.empty((q.shape[0], k // group_size, x.shape[1]), dtype=np.int64)
    _wlut_grouped(np.ascontiguousarray(q), _flat(pats), n_bw, a_bits, group_size // n_bw, out)
    return out


def weight_lut_linear(p: PackedLinear, x_int, s_x, a_bits: int, n_bw: int) -> tuple[np.ndarray, np.ndarray]:
    """Float output of a quantised layer via the weight-LUT: ``y = s_x * sum_g s_g (Q.X - z_g sum X)``.

    ``x_int`` (N, K) signed ``a_bits`` integers and ``s_x`` (N,) per-token scales (the layout of
    ``sail.quant.act.quantize_activations``). Returns ``(y (N, M) float32, acc (N, M, n_groups) int64)``:
    the per-group integer accumulators, so callers can check them against the integer reference.
    """
    x = np.asarray(x_int)
    if x.ndim != 2 or x.shape[1] != p.k:
        raise ValueError(f"x_int must be (N, K={p.k}), got shape {x.shape}")
    s_x = np.asarray(s_x, np.float32)
    if s_x.shape != (x.shape[0],):
        raise ValueError(f"s_x must have shape ({x.shape[0]},), got {s_x.shape}")
    g = p.group_size
    ng = p.k // g
    acc = lut_gemv_grouped(p.codes(), x.T, p.w_bits, a_bits, n_bw, g).transpose(2, 0, 1)  # (N, M, ng)
    xsum = x.reshape(x.shape[0], ng, g).astype(np.int64).sum(axis=2)  # (N, ng)
    corr = acc.astype(np.float64) - p.zero[None, :, :].astype(np.float64) * xsum[:, None, :]
    y = (corr * p.scale[None, :, :].astype(np.float64)).sum(axis=2) * s_x[:, None].astype(np.float64)
    return y.astype(np.float32), acc
