"""Register-table activation-LUT GEMV (T-MAC's recipe): AVX-512 VBMI/VNNI, AVX2 and portable paths.

What is computed
----------------
``y = W @ x`` for ``W = s (Q - z)`` (per-group scale ``s`` and zero-point ``z``, codes ``Q`` of any
``w_bits`` 1..8) from the bit-planes of :mod:`sail.quant.packing`, like
:func:`sail.kernels.act_lut_gemv` with ``g = 4``, but with T-MAC's **int8 tables**:

* per group of 4 activations ``x_0..x_3`` the 16-entry table ``T'[p] = sum_t (p_t - 1/2) x_t``
  (the "bias" form: symmetric, so its range is half that of ``sum_t p_t x_t``);
* quantised to int8 with one scale per quantisation group (``group_size`` activations):
  ``ts = max_j (sum_t |x_{4j+t}|) / 2 / 127``, entries ``round(T' / ts)``;
* per row and group the kernel sums ``acc = sum_b 2**b sum_j T'_q[j][nibble_b(j)]`` exactly in int32
  and returns ``y = sum_g [ (s ts) acc + s ((2**w - 1)/2 - z) X_g ]`` with ``X_g = sum_k x_k`` over the
  group, because ``sum_k Q_k x_k = sum_b 2**b (sum_j T'[nibble] + X_g / 2)``.

The only approximation is the int8 rounding of the tables (T-MAC's NMSE gate 5e-4 applies; tests).

Why this layout (prepared once per layer, :func:`prepare_simd`)
---------------------------------------------------------------
AVX-512 VBMI's ``vpermb`` looks up 64 bytes in a 64-byte table held in a register. Four 16-entry
tables (4 consecutive groups of 4 activations) fill one register, and the index byte is
``16 t + nibble`` for table ``t``. So the prepared weights put, for 16 rows at a time, the nibbles
of the same row for 4 consecutive activation groups in one 32-bit word (low nibble: groups
``8c + t``; high nibble: groups ``8c + 4 + t``, ``t = 0..3``, for a 32-activation chunk ``c``).
Then per 64 weight bytes (16 rows x 32 activations of one bit-plane):

    1 load, 2 and/or (vpternlogq), 1 shift, 2 vpermb (tables in registers), 2 vpdpbusd

where ``vpdpbusd`` with the constant ``2**b`` in every byte both widens the four int8 lookups of a
row to int32, sums them and weights the plane (no int16 overflow management). A tile is 64 rows
(4 independent accumulators); each tile streams its weights contiguously
(``wq[tile, chunk, plane, sub, 64]``); scales are re-laid out as ``[tile, group, 64]``.

Paths
-----
All three are bit-identical (same int32 sums, same float32 operations in the same order; tests).

``impl="avx512"``: the loop body is LLVM IR emitted through :func:`numba.extending.intrinsic`
(``llvm.x86.avx512.permvar.qi.512``, ``llvm.x86.avx512.vpdpbusd.512``; the rest generic IR, which
LLVM turns into ``vpternlogq``/``vpsrlq``).

``impl="avx2"``: same layout; ``vpshufb`` has one 16-entry table per 128-bit lane, so each of the
four tables is looked up once with the bytes of the other three positions masked (bit 7 set:
``vpshufb`` writes 0) and the four results OR-ed; then ``vpmaddubsw`` (x ``2**b``, exact: at most
2 x 127 x 128 per pair) and ``vpmaddwd`` (x 1) sum a row's four bytes into int32. About 4x the
instructions of the AVX-512 path per weight byte.

``impl="portable"``: plain numba; one lookup per prepared byte in a 256-entry int16 table of the
pair sums ``T_lo[16 t + lo] + T_hi[16 t + hi]``.

``"auto"`` (the default) picks avx512, then avx2, then portable, from
``llvmlite.binding.get_host_cpu_features()``, and portable whenever numba compiles for another CPU
than the host. ``SAIL_SIMD_IMPL=avx512|avx2|portable`` in the environment (or ``impl=``) forces a
path; forcing one the host lacks raises ``ValueError``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from sail.kernels.act_lut import check_float_activations
from sail.quant.packing import PackedLinear

TILE_ROWS = 64  # rows per tile: 4 sub-blocks of 16 rows, one 512-bit int32 accumulator each
SUB_ROWS = 16
# software prefetch distance along the weight stream (bytes ahead; 0 = none); a constant, not an
# environment knob, because it is baked into numba's on-disk cache of the compiled kernel. 256-2048
# bytes ahead made no measurable difference on a Zen 4 VM (hardware prefetch covers the stream), but on
# the Xeon (Emerald Rapids) VM, where one core's DRAM stream is latency-bound, 4096 bytes ahead made the
# 4096 x 4096 GEMV 1.45x faster at 2, 3 and 4 bits (0.48 -> 0.33 ms at w2, 0.97 -> 0.64 ms at w4; 3072 to
# 8192 bytes all within 5 % of each other; measured, docs/kernels.md). Prefetches never change results.
PREFETCH_BYTES = 4096
CHUNK = 32  # activations per chunk: 8 groups of 4 = two 64-byte registers of 4 tables each
REQUIRED_FEATURES = {"avx512": ("avx512f", "avx512bw", "avx512vbmi", "avx512vnni"), "avx2": ("avx2",)}
IMPLS = ("auto", "avx512", "avx2", "portable")
ENV_VAR = "SAIL_SIMD_IMPL"


@functools.lru_cache(maxsize=1)
def host_features() -> dict[str, bool]:
    """The host's CPU features as llvmlite reports them (queried once: the call takes ~0.2 ms)."""
    import llvmlite.binding as ll

    try:
        return dict(ll.get_host_cpu_features())
    except RuntimeError:  # llvmlite cannot query this host: assume nothing
        return {}


def _isa_available(isa: str) -> bool:
    feats = host_features()
    return all(feats.get(f, False) for f in REQUIRED_FEATURES[isa])


def avx512_available() -> bool:
    """True when the host has AVX-512 F/BW/VBMI/VNNI (llvmlite's view of the CPU)."""
    return _isa_available("avx512")


def avx2_available() -> bool:
    """True when the host has AVX2."""
    return _isa_available("avx2")


def numba_targets_host() -> bool:
    """numba compiles for the host CPU unless ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` say otherwise."""
    return numba.config.CPU_NAME in (None, "host") and not numba.config.CPU_FEATURES


def resolve_impl(impl: str | None = None) -> str:
    """``impl`` (or ``$SAIL_SIMD_IMPL``, else ``"auto"``) -> ``"avx512"``, ``"avx2"`` or ``"portable"``.

    ``"auto"`` takes the widest path the host supports, or the portable one when numba compiles for
    another CPU than the host (e.g. ``NUMBA_CPU_NAME=generic`` for shareable caches: the intrinsics
    might not be selectable there). Asking for a path the host lacks is an error; asking for one
    while numba targets a named CPU (e.g. ``NUMBA_CPU_NAME=haswell`` to emulate an AVX2-only machine)
    is allowed, and that CPU must have the features.
    """
    if impl is None:
        impl = os.environ.get(ENV_VAR, "auto") or "auto"
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    available = {"avx512": avx512_available, "avx2": avx2_available}
    if impl == "auto":
        if not numba_targets_host():
            return "portable"
        return next((isa for isa in ("avx512", "avx2") if available[isa]()), "portable")
    if impl in available and not available[impl]():
        raise ValueError(f"impl={impl!r} needs CPU features {REQUIRED_FEATURES[impl]}, which this host lacks")
    return impl


# ---------------------------------------------------------------------------------------------
# prepared layout


@dataclass(frozen=True)
class SimdPrepared:
    """A packed layer re-laid out for :func:`simd_gemv` (module docstring)."""

    wq: np.ndarray  # (tiles, K/32, w_bits, 4, 64) uint8
    s: np.ndarray  # (tiles, n_groups, 64) float32: scale
    sc: np.ndarray  # (tiles, n_groups, 64) float32: scale * ((2**w_bits - 1)/2 - zero)
    w_bits: int
    group_size: int
    m: int
    k: int

    def __post_init__(self):
        # the AVX-512 path reads raw memory: insist on the exact dtypes, shapes and C order
        tiles, n_chunks = -(-self.m // TILE_ROWS), self.k // CHUNK
        ng = self.k // self.group_size if self.group_size > 0 else -1
        want = {"wq": (np.uint8, (tiles, n_chunks, self.w_bits, 4, 64)), "s": (np.float32, (tiles, ng, TILE_ROWS)),
                "sc": (np.float32, (tiles, ng, TILE_ROWS))}
        for name, (dt, shape) in want.items():
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.dtype != dt or arr.shape != shape or not arr.flags.c_contiguous:
                raise ValueError(f"SimdPrepared.{name} must be C-contiguous {np.dtype(dt)} of shape {shape}, got "
                                 f"{getattr(arr, 'dtype', type(arr).__name__)} {getattr(arr, 'shape', '')}")

    @property
    def nbytes(self) -> int:
        """Bytes a batch-1 GEMV streams (codes + two float32 per row and group; rows padded to 64)."""
        return int(self.wq.nbytes + self.s.nbytes + self.sc.nbytes)


def prepare_simd(p: PackedLinear) -> SimdPrepared:
    """Re-lay out a :class:`PackedLinear` once (at load time) for :func:`simd_gemv`."""
    if not isinstance(p, PackedLinear):
        raise ValueError(f"expected a PackedLinear, got {type(p).__name__}")
    if p.group_size % CHUNK:
        raise ValueError(f"simd_gemv needs group_size a multiple of {CHUNK}, got {p.group_size}")
    if p.group_size // 4 * 127 * 255 >= 2**31:  # int32 accumulator bound per group
        raise ValueError(f"group_size={p.group_size} too large for the int32 accumulator")
    w, m, kb = p.planes.shape
    k = p.k  # a multiple of group_size, hence of 32: kb = k / 8, no padding bits
    n_chunks = k // CHUNK
    tiles = -(-m // TILE_ROWS)
    mp = tiles * TILE_ROWS
    # nibble n of plane byte j holds activation group 2j + n
    nib = np.empty((w, mp, k // 4), dtype=np.uint8)
    nib[:, m:] = 0
    nib[:, :m, 0::2] = p.planes & 15
    nib[:, :m, 1::2] = p.planes >> 4
    nib = nib.reshape(w, mp, n_chunks, 2, 4)  # [.., chunk, half, t]: group 8c + 4 half + t
    byte = nib[:, :, :, 0, :] | (nib[:, :, :, 1, :] << 4)  # (w, mp, chunks, 4)
    byte = byte.reshape(w, tiles, 4, SUB_ROWS, n_chunks, 4).transpose(1, 4, 0, 2, 3, 5)
    wq = np.ascontiguousarray(byte).reshape(tiles, n_chunks, w, 4, 64)
    ng = k // p.group_size
    s = np.zeros((mp, ng), np.float32)
    sc = np.zeros((mp, ng), np.float32)
    s[:m] = p.scale
    sc[:m] = p.scale * (np.float32(((1 << w) - 1) / 2) - p.zero)
    to_tiles = lambda a: np.ascontiguousarray(a.reshape(tiles, TILE_ROWS, ng).transpose(0, 2, 1))  # noqa: E731
    return SimdPrepared(wq=wq, s=to_tiles(s), sc=to_tiles(sc), w_bits=int(w), group_size=int(p.group_size),
                        m=int(m), k=int(k))


# ---------------------------------------------------------------------------------------------
# activation tables (shared by both paths)


@njit(cache=True)
def build_int8_tables(xt, group_size):
    """Per token: int8 tables ``(B, K/32, 2, 64)``, table scales ``(B, ng)`` and group sums ``(B, ng)``.

    ``tabs[b, c, h, 16 t + p]`` is the quantised ``T'`` of activation group ``8 c + 4 h + t``.
    """
    batch, k = xt.shape
    ng = k // group_size
    tabs = np.zeros((batch, k // CHUNK, 2, 64), dtype=np.int8)
    ts = np.ones((batch, ng), dtype=np.float32)
    xs = np.zeros((batch, ng), dtype=np.float32)
    for b in range(batch):
        for gi in range(ng):
            k0 = gi * group_size
            mx = 0.0
            tot = np.float32(0.0)
            for j in range(k0 // 4, (k0 + group_size) // 4):
                a = 0.0
                for t in range(4):
                    a += abs(np.float64(xt[b, 4 * j + t]))
                    tot += xt[b, 4 * j + t]
                mx = max(mx, 0.5 * a)
            xs[b, gi] = tot
            if mx == 0.0:
                continue  # all-zero activations: zero tables, scale 1
            scale = np.float32(mx / 127.0)
            ts[b, gi] = scale
            inv = 1.0 / np.float64(scale)
            for j in range(k0 // 4, (k0 + group_size) // 4):
                c = j // 8
                h = (j % 8) // 4
                t = j % 4
                for p in range(16):
                    v = 0.0
                    for u in range(4):
                        xv = np.float64(xt[b, 4 * j + u])
                        v += xv * 0.5 if (p >> u) & 1 else -xv * 0.5
                    q = np.rint(v * inv)
                    tabs[b, c, h, 16 * t + p] = np.int8(min(127.0, max(-127.0, q)))
    return tabs, ts, xs


# ---------------------------------------------------------------------------------------------
# portable path


@njit(cache=True)
def _byte_tables(tabs):
    """``(B, K/32, 4, 256)`` int16: ``T_lo[16 t + (v & 15)] + T_hi[16 t + (v >> 4)]`` for every byte ``v``.

    One lookup per prepared byte instead of two (the portable path's analogue of the two ``vpermb``);
    the integer sums are unchanged, so results stay bit-identical to the AVX-512 path.
    """
    batch, n_chunks = tabs.shape[0], tabs.shape[1]
    out = np.empty((batch, n_chunks, 4, 256), dtype=np.int16)
    for b in range(batch):
        for c in range(n_chunks):
            for t in range(4):
                for v in range(256):
                    lo = np.int16(tabs[b, c, 0, 16 * t + (v & 15)])
                    out[b, c, t, v] = lo + np.int16(tabs[b, c, 1, 16 * t + (v >> 4)])
    return out


@njit(cache=True)
def _tile_portable(wq, tab2, s, sc, ts, xs, out, cpg, tile):
    # no fastmath: the float32 operations must be those of the SIMD paths, in the same order
    n_chunks, w_bits = wq.shape[1], wq.shape[2]
    ng = s.shape[1]
    batch = tab2.shape[0]
    acc = np.zeros(TILE_ROWS, dtype=np.int64)
    for b in range(batch):
        y = np.zeros(TILE_ROWS, dtype=np.float32)
        for g in range(ng):
            acc[:] = 0
            for c in range(g * cpg, (g + 1) * cpg):
                for wb in range(w_bits):
                    for sub in range(4):
                        for r in range(SUB_ROWS):
                            part = 0
                            for t in range(4):
                                part += tab2[b, c, t, wq[tile, c, wb, sub, 4 * r + t]]
                            acc[sub * SUB_ROWS + r] += part << wb
            for rr in range(TILE_ROWS):
                t1 = s[tile, g, rr] * ts[b, g]
                yr = y[rr] + t1 * np.float32(acc[rr])
                y[rr] = yr + sc[tile, g, rr] * xs[b, g]
        for rr in range(TILE_ROWS):
            out[b, tile * TILE_ROWS + rr] = y[rr]


@njit(parallel=True, cache=True)
def _run_portable(wq, tabs, s, sc, ts, xs, out, cpg):
    tab2 = _byte_tables(tabs)
    for tile in prange(wq.shape[0]):
        _tile_portable(wq, tab2, s, sc, ts, xs, out, cpg, tile)


@njit(cache=True)
def _run_portable_serial(wq, tabs, s, sc, ts, xs, out, cpg):
    tab2 = _byte_tables(tabs)
    for tile in range(wq.shape[0]):
        _tile_portable(wq, tab2, s, sc, ts, xs, out, cpg, tile)


# ---------------------------------------------------------------------------------------------
# SIMD paths (AVX-512, AVX2): LLVM IR through numba intrinsics


def _data_ptr(context, builder, aty, val):
    arr = context.make_array(aty)(context, builder, value=val)
    return builder.ptrtoint(arr.data, ir.IntType(64))


def make_tile_intrinsic(prefetch_bytes: int, isa: str = "avx512"):
    """The tile kernel as a numba intrinsic for ``isa`` ("avx512" or "avx2"); ``prefetch_bytes`` > 0 adds
    software prefetches along the weight stream."""
    if isa not in ("avx512", "avx2"):
        raise ValueError(f"isa must be avx512 or avx2, got {isa!r}")

    @intrinsic
    def tile_kernel(typingctx, wq, tabs, s, sc, ts, xs, out, offs, ng, cpg, w_bits):
        """One 64-row tile for one token. ``offs`` = byte offsets (wq, tabs, s/sc, ts/xs, out)."""
        return _tile_signature_and_codegen(isa, prefetch_bytes, wq, tabs, s, sc, ts, xs, out, offs, ng, cpg, w_bits)

    return tile_kernel


def _tile_signature_and_codegen(isa, prefetch_bytes, wq, tabs, s, sc, ts, xs, out, offs, ng, cpg, w_bits):
    sig = types.void(wq, tabs, s, sc, ts, xs, out, offs, ng, cpg, w_bits)

    def codegen(context, builder, signature, args):
        a_wq, a_tabs, a_s, a_sc, a_ts, a_xs, a_out, a_offs, a_ng, a_cpg, a_wb = args
        aty = signature.args
        i8, i32, i64, f32 = ir.IntType(8), ir.IntType(32), ir.IntType(64), ir.FloatType()
        v64i8, v16i32, v16f, v8i64 = ir.VectorType(i8, 64), ir.VectorType(i32, 16), ir.VectorType(f32, 16), \
            ir.VectorType(i64, 8)
        mod = builder.module
        v32i8, v16i16, v8i32 = ir.VectorType(i8, 32), ir.VectorType(ir.IntType(16), 16), ir.VectorType(i32, 8)
        if isa == "avx512":
            permb = cgutils.get_or_insert_function(mod, ir.FunctionType(v64i8, [v64i8, v64i8]),
                                                   "llvm.x86.avx512.permvar.qi.512")
            dpbusd = cgutils.get_or_insert_function(mod, ir.FunctionType(v16i32, [v16i32, v64i8, v64i8]),
                                                    "llvm.x86.avx512.vpdpbusd.512")
        else:
            pshufb = cgutils.get_or_insert_function(mod, ir.FunctionType(v32i8, [v32i8, v32i8]),
                                                    "llvm.x86.avx2.pshuf.b")
            maddubs = cgutils.get_or_insert_function(mod, ir.FunctionType(v16i16, [v32i8, v32i8]),
                                                     "llvm.x86.avx2.pmadd.ub.sw")
            maddwd = cgutils.get_or_insert_function(mod, ir.FunctionType(v8i32, [v16i16, v16i16]),
                                                    "llvm.x86.avx2.pmadd.wd")
            ones16 = ir.Constant(v16i16, [1] * 16)
            # pshufb zeroes a byte whose index has bit 7 set: posmask[t] keeps only bytes at position t of
            # each row's 32-bit word, so table t is applied exactly where vpermb would have applied it
            posmask = [ir.Constant(v32i8, [0 if i % 4 == t else 0x80 for i in range(32)]) for t in range(4)]
            nib_mask = ir.Constant(v32i8, [15] * 32)

            v32idx = ir.VectorType(i32, 32)

            def half(v, h):  # bytes 32h..32h+31 of a 64-byte vector
                return builder.shuffle_vector(v, v, ir.Constant(v32idx, list(range(32 * h, 32 * h + 32))))

            def table(v, t):  # 16-byte table t of a 64-byte table vector, in both 128-bit lanes
                return builder.shuffle_vector(v, v, ir.Constant(v32idx, list(range(16 * t, 16 * t + 16)) * 2))

            def lookup(tabs4, idx):  # idx: nibbles (0..15) of 8 rows x 4 positions
                res = None
                for t in range(4):
                    r = builder.call(pshufb, [tabs4[t], builder.or_(idx, posmask[t])])
                    res = r if res is None else builder.or_(res, r)
                return res

            def row_sums(mult, looked):  # 8 rows' 4 int8 lookups x 2**b -> <8 x i32> (exact: |pair| <= 32512)
                return builder.call(maddwd, [builder.call(maddubs, [mult, looked]), ones16])

        prefetch = cgutils.get_or_insert_function(
            mod, ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), i32, i32, i32]), "llvm.prefetch.p0")
        offs = [builder.extract_value(a_offs, i) for i in range(5)]
        p_wq = builder.add(_data_ptr(context, builder, aty[0], a_wq), offs[0])
        p_tab = builder.add(_data_ptr(context, builder, aty[1], a_tabs), offs[1])
        p_s = builder.add(_data_ptr(context, builder, aty[2], a_s), offs[2])
        p_sc = builder.add(_data_ptr(context, builder, aty[3], a_sc), offs[2])
        p_ts = builder.add(_data_ptr(context, builder, aty[4], a_ts), offs[3])
        p_xs = builder.add(_data_ptr(context, builder, aty[5], a_xs), offs[3])
        p_out = builder.add(_data_ptr(context, builder, aty[6], a_out), offs[4])

        def load(addr, ty, align):
            ptr = builder.inttoptr(addr, ty.as_pointer())
            return builder.load(ptr, align=align)

        def store(val, addr, align):
            builder.store(val, builder.inttoptr(addr, val.type.as_pointer()), align=align)

        def splat(val, vty):
            v = builder.insert_element(ir.Constant(vty, ir.Undefined), val, ir.Constant(i32, 0))
            return builder.shuffle_vector(v, ir.Constant(vty, ir.Undefined),
                                          ir.Constant(ir.VectorType(i32, vty.count), [0] * vty.count))

        mask = ir.Constant(v64i8, [15] * 64)
        toff = ir.Constant(v64i8, [16 * (i % 4) for i in range(64)])
        four = ir.Constant(v8i64, [4] * 8)
        accs = [cgutils.alloca_once(builder, v16i32) for _ in range(4)]
        ys = [cgutils.alloca_once(builder, v16f) for _ in range(4)]
        for y in ys:
            builder.store(ir.Constant(v16f, None), y)
        wb = a_wb
        cpg = a_cpg
        plane_bytes = ir.Constant(i64, 256)
        with cgutils.for_range(builder, a_ng) as lg:
            g = lg.index
            for acc in accs:
                builder.store(ir.Constant(v16i32, None), acc)
            with cgutils.for_range(builder, cpg) as lc:
                c = builder.add(builder.mul(g, cpg), lc.index)
                tb = builder.add(p_tab, builder.mul(c, ir.Constant(i64, 128)))
                t0 = load(tb, v64i8, 1)
                t1 = load(builder.add(tb, ir.Constant(i64, 64)), v64i8, 1)
                if isa == "avx2":
                    t0s = [table(t0, t) for t in range(4)]
                    t1s = [table(t1, t) for t in range(4)]
                cw = builder.mul(c, wb)
                with cgutils.for_range(builder, wb) as lb:
                    b = lb.index
                    mult32 = builder.shl(ir.Constant(i32, 0x01010101), builder.trunc(b, i32))
                    mult = builder.bitcast(splat(mult32, v16i32), v64i8)
                    base = builder.add(p_wq, builder.mul(builder.add(cw, b), plane_bytes))
                    if prefetch_bytes:
                        for sub in range(4):
                            pa = builder.add(base, ir.Constant(i64, prefetch_bytes + 64 * sub))
                            builder.call(prefetch, [builder.inttoptr(pa, ir.IntType(8).as_pointer()),
                                                    ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
                    if isa == "avx2":
                        mult_h = half(mult, 0)
                        for sub in range(4):
                            parts = []
                            for h in range(2):
                                x = load(builder.add(base, ir.Constant(i64, 64 * sub + 32 * h)), v32i8, 1)
                                lo = builder.and_(x, nib_mask)
                                hi = builder.and_(builder.bitcast(builder.lshr(builder.bitcast(x, v16i16),
                                                                               ir.Constant(v16i16, [4] * 16)), v32i8),
                                                  nib_mask)
                                parts.append(builder.add(row_sums(mult_h, lookup(t0s, lo)),
                                                         row_sums(mult_h, lookup(t1s, hi))))
                            both = builder.shuffle_vector(parts[0], parts[1], ir.Constant(ir.VectorType(i32, 16),
                                                                                          list(range(16))))
                            builder.store(builder.add(builder.load(accs[sub]), both), accs[sub])
                    for sub in range(4 if isa == "avx512" else 0):
                        x = load(builder.add(base, ir.Constant(i64, 64 * sub)), v64i8, 1)
                        lo = builder.or_(builder.and_(x, mask), toff)
                        xh = builder.bitcast(builder.lshr(builder.bitcast(x, v8i64), four), v64i8)
                        hi = builder.or_(builder.and_(xh, mask), toff)
                        l0 = builder.call(permb, [t0, lo])
                        l1 = builder.call(permb, [t1, hi])
                        acc = builder.load(accs[sub])
                        acc = builder.call(dpbusd, [acc, mult, l0])
                        acc = builder.call(dpbusd, [acc, mult, l1])
                        builder.store(acc, accs[sub])
            goff = builder.mul(g, ir.Constant(i64, 4))
            tsv = splat(load(builder.add(p_ts, goff), f32, 4), v16f)
            xsv = splat(load(builder.add(p_xs, goff), f32, 4), v16f)
            row0 = builder.mul(g, ir.Constant(i64, TILE_ROWS * 4))
            for sub in range(4):
                so = builder.add(row0, ir.Constant(i64, SUB_ROWS * 4 * sub))
                sv = load(builder.add(p_s, so), v16f, 4)
                scv = load(builder.add(p_sc, so), v16f, 4)
                accf = builder.sitofp(builder.load(accs[sub]), v16f)
                y = builder.load(ys[sub])
                y = builder.fadd(y, builder.fmul(builder.fmul(sv, tsv), accf))
                y = builder.fadd(y, builder.fmul(scv, xsv))
                builder.store(y, ys[sub])
        for sub in range(4):
            store(builder.load(ys[sub]), builder.add(p_out, ir.Constant(i64, SUB_ROWS * 4 * sub)), 4)
        return context.get_dummy_value()

    return sig, codegen


_tile_avx512 = make_tile_intrinsic(PREFETCH_BYTES, "avx512")
_tile_avx2 = make_tile_intrinsic(PREFETCH_BYTES, "avx2")


@njit(cache=True)
def _one_tile_avx512(wq, tabs, s, sc, ts, xs, out, cpg, tile):
    tiles, n_chunks, w_bits = wq.shape[0], wq.shape[1], wq.shape[2]
    ng = s.shape[1]
    for b in range(tabs.shape[0]):
        offs = (np.int64(tile * n_chunks * w_bits * 256), np.int64(b * n_chunks * 128),
                np.int64(tile * ng * TILE_ROWS * 4), np.int64(b * ng * 4), np.int64((b * tiles + tile) * TILE_ROWS * 4))
        _tile_avx512(wq, tabs, s, sc, ts, xs, out, offs, np.int64(ng), np.int64(cpg), np.int64(w_bits))


@njit(cache=True)
def _one_tile_avx2(wq, tabs, s, sc, ts, xs, out, cpg, tile):
    tiles, n_chunks, w_bits = wq.shape[0], wq.shape[1], wq.shape[2]
    ng = s.shape[1]
    for b in range(tabs.shape[0]):
        offs = (np.int64(tile * n_chunks * w_bits * 256), np.int64(b * n_chunks * 128),
                np.int64(tile * ng * TILE_ROWS * 4), np.int64(b * ng * 4), np.int64((b * tiles + tile) * TILE_ROWS * 4))
        _tile_avx2(wq, tabs, s, sc, ts, xs, out, offs, np.int64(ng), np.int64(cpg), np.int64(w_bits))


@njit(parallel=True, cache=True)
def _run_avx512(wq, tabs, s, sc, ts, xs, out, cpg):
    for tile in prange(wq.shape[0]):
        _one_tile_avx512(wq, tabs, s, sc, ts, xs, out, cpg, tile)


@njit(cache=True)
def _run_avx512_serial(wq, tabs, s, sc, ts, xs, out, cpg):
    for tile in range(wq.shape[0]):
        _one_tile_avx512(wq, tabs, s, sc, ts, xs, out, cpg, tile)


@njit(parallel=True, cache=True)
def _run_avx2(wq, tabs, s, sc, ts, xs, out, cpg):
    for tile in prange(wq.shape[0]):
        _one_tile_avx2(wq, tabs, s, sc, ts, xs, out, cpg, tile)


@njit(cache=True)
def _run_avx2_serial(wq, tabs, s, sc, ts, xs, out, cpg):
    for tile in range(wq.shape[0]):
        _one_tile_avx2(wq, tabs, s, sc, ts, xs, out, cpg, tile)


# ---------------------------------------------------------------------------------------------
# fused entries: finiteness check, table build and tile loop in ONE numba dispatch per GEMV.
# Why: the Python-level prologue (array checks, three separate numba dispatches, allocations) took
# ~0.04 ms back to back but ~0.1 ms when another kernel had run just before (its instructions and data
# evicted from L1/L2 by the other kernel): the interleaved benchmark charged that to our 2-bit kernel
# (measured; docs/kernels.md, "A measurement that holds still"). One dispatch keeps the cold part small.


@njit(cache=True)
def _all_finite(xt):
    for b in range(xt.shape[0]):
        for i in range(xt.shape[1]):
            if not np.isfinite(xt[b, i]):
                return False
    return True


def _make_fused(runner):
    @njit(cache=True)
    def fused(wq, s, sc, xt, group_size):
        if not _all_finite(xt):
            return np.empty((0, 0), dtype=np.float32)
        tabs, ts, xs = build_int8_tables(xt, group_size)
        out = np.empty((xt.shape[0], wq.shape[0] * TILE_ROWS), dtype=np.float32)
        runner(wq, tabs, s, sc, ts, xs, out, group_size // CHUNK)
        return out

    return fused


_FUSED = {(impl, serial): _make_fused(run) for (impl, serial), run in {
    ("avx512", True): _run_avx512_serial, ("avx512", False): _run_avx512,
    ("avx2", True): _run_avx2_serial, ("avx2", False): _run_avx2,
    ("portable", True): _run_portable_serial, ("portable", False): _run_portable}.items()}


def bind_gemv(p: "SimdPrepared", impl: str | None = None, serial: bool | None = None):
    """A fast caller for one prepared layer: ``f(xt) -> (B, M_padded) float32`` with ``xt`` the
    activations as a C-contiguous float32 ``(B, K)`` array (one token per row).

    Everything :func:`simd_gemv` checks per call is settled here once (path, thread mode, layout), so a
    call is a single numba dispatch. Why it matters: right after another kernel has streamed a large
    matrix, each Python-level step of a call costs ~20 us instead of ~0.4 us (caches and TLB cold; an
    empty numba dispatch measured 0.4 -> 20 us), which added ~0.1 ms to a 0.6 ms GEMV in the interleaved
    benchmark. ``serial`` (default: numba's thread count is 1 at bind time) skips the thread pool.
    Bit-identical to :func:`simd_gemv`. Raises ``ValueError`` for non-finite activations (at the call) and
    for a wrong ``xt`` (shape/dtype/order).
    """
    if not isinstance(p, SimdPrepared):
        raise ValueError(f"expected a SimdPrepared, got {type(p).__name__}")
    if serial is None:
        serial = numba.get_num_threads() == 1
    fn = _FUSED[resolve_impl(impl), bool(serial)]
    wq, s, sc, gs, k = p.wq, p.s, p.sc, p.group_size, p.k

    def gemv(xt):
        if xt.dtype != np.float32 or xt.ndim != 2 or xt.shape[1] != k or not xt.flags.c_contiguous:
            raise ValueError(f"xt must be a C-contiguous float32 (B, {k}) array, got {xt.dtype} {xt.shape}")
        out = fn(wq, s, sc, xt, gs)
        if out.size == 0:
            raise ValueError("x must be finite (got NaN or inf)")
        return out

    return gemv


# ---------------------------------------------------------------------------------------------
# entry point


def simd_gemv(p, x, impl: str | None = None) -> np.ndarray:
    """``W @ x`` (float32) by the int8 register-table activation-LUT (module docstring).

    Parameters
    ----------
    p : :class:`SimdPrepared` (from :func:`prepare_simd`, done once per layer) or a
        :class:`PackedLinear` (prepared on the fly; slow, for convenience).
    x : (K,) or (K, B) float activations.
    impl : ``"auto"`` (default; ``$SAIL_SIMD_IMPL`` if set), ``"avx512"``, ``"avx2"`` or
        ``"portable"``; all paths give bit-identical results.

    Returns (M,) or (M, B) float32.
    """
    if isinstance(p, PackedLinear):
        p = prepare_simd(p)
    if not isinstance(p, SimdPrepared):
        raise ValueError(f"expected a SimdPrepared or PackedLinear, got {type(p).__name__}")
    impl = resolve_impl(impl)
    vec = np.ndim(x) == 1
    xt = check_float_activations(x, p.k)
    # at one thread, skip numba's thread pool: with the workqueue layer a parallel launch costs ~0.1-0.2 ms
    # of wake-up on this loaded VM (measured), a third of the whole 4096 x 4096 2-bit GEMV
    out = _FUSED[impl, numba.get_num_threads() == 1](p.wq, p.s, p.sc, xt, p.group_size)
    if out.size == 0:  # a NaN/inf would make a table scale NaN and the int8 entries undefined
        raise ValueError("x must be finite (got NaN or inf)")
    y = out[:, :p.m].T
    return np.ascontiguousarray(y[:, 0]) if vec else np.ascontiguousarray(y)
