"""Kernel benchmark on the real CPU: latency, effective bandwidth and % of a DRAM roofline measured in the same run.

Measurement hygiene (learnt on our 2-vCPU build machine; T-MAC, arXiv 2407.00088, for the NMSE gate):

* **Out of cache.** Every candidate cycles through distinct copies of its weights, each call on the
  next copy. The rotation is sized for the interleaved group: ``n_copies`` x (weight bytes of one
  repetition of all candidates) >= ``rotate_factor`` x the L3 size, so between two uses of one copy
  the group has streamed that much and a call never finds its weights in the L3.
* **Threads pinned.** numba (``numba.set_num_threads``), OpenBLAS (its ``set_num_threads`` entry,
  via ctypes, because numpy reads ``OPENBLAS_NUM_THREADS`` only at import) and torch are set to the
  row's ``threads`` before its group runs. One thread is the headline.
* **Interleaved.** All candidates of one (shape, batch, threads) group are timed in turn within
  each repetition (ABCABC...; the order is reversed on odd repetitions), so slow phases of a
  noisy machine hit them equally. Median and inter-quartile range over ``reps``.
* **Roofline.** ``t_roofline = weight_bytes / dram_read_gbps`` with the read bandwidth of a
  streaming sum and an sgemv over ``bandwidth_bytes`` (>> L3), probed at the start and at the end
  of the same run at the same thread count (the larger probe counts);
  ``roofline_fraction = t_roofline / median_s``.

Weights for speed runs are random codes (speed does not depend on their values).
"""

from __future__ import annotations

import ctypes
import warnings
import glob
import logging
import os
import platform
import time
from dataclasses import dataclass, field

import numba
import numpy as np
from numba import njit, prange

from sail.io import BENCH_ENV
from sail.kernels import ggml_timer
from sail.kernels.act_lut import act_lut_gemv
from sail.kernels.dequant import dequant_gemv
from sail.kernels.lut_gemv import lut_gemv_prepared, prepare_wlut
from sail.kernels.simd import SimdPrepared, bind_gemv, prepare_simd, resolve_impl, simd_gemv
from sail.quant.packing import PackedLinear

log = logging.getLogger("sail.kernels.bench")

BENCH_COLUMNS = ["kernel", "m", "k", "w_bits", "a_bits", "n_bw", "batch", "threads", "reps", "median_s", "q25_s",
                 "q75_s", "weight_bytes", "dram_read_gbps", "roofline_fraction", "min_s", "per_token_s",
                 "eff_gbps", "gops", "n_copies", "rel_err", "bits_per_weight", "impl", "peer_build"]

# kernel name -> (w_bits is a sweep axis?, a_bits of its activations, description)
KERNELS = {
    "numpy_fp32": "numpy W @ x, fp32 weights (OpenBLAS sgemv/sgemm)",
    "torch_fp32": "torch F.linear, fp32 weights",
    "torch_int8_dynamic": "torch quantize_dynamic nn.Linear, int8 weights (fbgemm/x86), per-call activation quantisation",
    "dequant": "numba dequantise-and-multiply on the packed bit-planes (sail.kernels.dequant_gemv)",
    "act_lut_g4": "numba activation-LUT, 4 activations per 16-entry fp32 table (T-MAC style)",
    "act_lut_g8": "numba activation-LUT, 8 activations per 256-entry fp32 table",
    "act_lut_simd": "activation-LUT, int8 4-table registers looked up by AVX-512 vpermb + vpdpbusd via llvmlite "
                    "(portable numba fallback when absent; sail.kernels.simd_gemv on the prepared layout)",
    "act_lut_simd_portable": "act_lut_simd forced onto its portable numba path (bit-identical results; what CPUs "
                             "without AVX-512 VBMI/VNNI get)",
    "weight_lut": "numba SAIL weight-LUT, row-broadcast tables, bit-serial int activations (sail.kernels.lut_gemv_prepared)",
}
BASELINES = ("numpy_fp32", "torch_fp32", "torch_int8_dynamic")
# llama.cpp's own GEMVs (sail.kernels.ggml_timer): any "llamacpp_<ggml type>[_plain]" in `kernels`


# ---------------------------------------------------------------------------------------------
# machine


def _cpuinfo() -> dict[str, str]:
    info = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if ":" in line:
                    key, val = (s.strip() for s in line.split(":", 1))
                    info.setdefault(key, val)
    except OSError:
        pass
    return info


def l3_bytes() -> int:
    """L3 size from sysfs (index3), or 32 MiB with a warning when unavailable."""
    for path in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/level")):
        with open(path) as fh:
            if fh.read().strip() == "3":
                with open(os.path.join(os.path.dirname(path), "size")) as fh2:
                    s = fh2.read().strip()
                mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1], 1)
                return int(s.rstrip("KMG")) * mult
    log.warning("L3 size not found in sysfs; assuming 32 MiB")
    return 32 << 20


#: numba's threading layer of the benchmark (:func:`select_threading_layer` says why)
DEFAULT_THREADING_LAYER = "omp"

ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vbmi", "avx512_vnni", "avx512_vpopcntdq",
             "avx512_bf16", "neon", "asimd", "sve")


def select_threading_layer(layer: str) -> None:
    """Choose numba's threading layer before the first parallel kernel runs.

    The benchmark uses ``omp`` with passive waiting (:func:`sail.io.reexec_for_timing`). Measured
    on the 2-vCPU Xeon, act_lut_simd at 4096x4096, 2 bits, 2 threads, weights from DRAM: ``workqueue``
    0.47 ms, slower than the serial path (0.29 ms), because its idle workers and the waiting caller poll
    the task queue with short naps, three threads on two cores; ``omp`` 0.18 ms (the caller is one of the
    two workers). Without passive waiting, ``omp`` workers spin after each call and slow the next
    candidate down instead (docs/kernels.md, "Two threads")."""
    if layer not in ("default", "workqueue", "omp", "tbb"):
        raise ValueError(f"threading_layer must be default, workqueue, omp or tbb, got {layer!r}")
    numba.config.THREADING_LAYER = layer


def machine_info() -> dict:
    cpu = _cpuinfo()
    flags = set((cpu.get("flags") or cpu.get("Features") or "").split())
    import torch

    try:
        numba.config.THREADING_LAYER  # noqa: B018
        _touch_parallel()
        layer = numba.threading_layer()
    except Exception as e:  # noqa: BLE001 - report, don't fail the benchmark
        layer = f"unknown ({e})"
    return {
        "cpu_model": cpu.get("model name", platform.processor() or "unknown"),
        "machine": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "l3_bytes": l3_bytes(),
        "isa_flags": " ".join(f for f in ISA_FLAGS if f in flags),
        "numba_threading_layer": layer,
        # the thread-pool and BLAS settings the process ran with (sail.io.BENCH_ENV)
        **{var.lower(): os.environ.get(var, "unset") for var in (*BENCH_ENV, "MKL_CBWR")},
        "numba_version": numba.__version__,
        "numpy_version": np.__version__,
        "torch_version": torch.__version__,
        "torch_quantized_engine": torch.backends.quantized.engine,
    }


@njit(parallel=True, cache=True)
def _touch(a):
    s = 0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


def _touch_parallel():
    _touch(np.ones(16, np.int64))


_BLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads")


def set_blas_threads(n: int) -> bool:
    """Set numpy's OpenBLAS thread count at run time (numpy reads the env var only at import)."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*"))
    for lib in libs:
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            if hasattr(handle, name):
                getattr(handle, name)(int(n))
                return True
    log.warning("could not set OpenBLAS threads at run time; numpy uses OPENBLAS_NUM_THREADS from import")
    return False


def pin_threads(n: int) -> None:
    import torch

    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    torch.set_num_threads(n)
    set_blas_threads(n)


# ---------------------------------------------------------------------------------------------
# DRAM read bandwidth


@njit(parallel=True, fastmath=True, cache=True)
def _stream_sum(a):
    # read-only stream; fastmath lets LLVM vectorise the reduction so the loads, not the adds, bind
    s = 0.0
    for i in prange(a.shape[0]):
        s += a[i]
    return s


def measure_read_bandwidth(nbytes: int, reps: int = 7, threads: int = 1) -> dict[str, float]:
    """Median read bandwidth (GB/s, 1e9 bytes) over ``nbytes`` (>> L3) by two streaming readers.

    ``stream_sum``: a numba sum over a float64 array; ``sgemv``: numpy fp32 ``W @ x`` on a matrix
    of ``nbytes`` (OpenBLAS keeps several streams in flight and is often faster). The roofline
    uses the larger of the two (``dram_read_gbps``), i.e. the best read rate we could obtain.
    """
    if nbytes < (1 << 20):
        raise ValueError(f"bandwidth_bytes must be at least 1 MiB, got {nbytes}")
    pin_threads(threads)
    a = np.ones(nbytes // 8, dtype=np.float64)
    _stream_sum(a[:1024])
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        _stream_sum(a)
        ts.append(time.perf_counter() - t0)
    sum_gbps = float(a.nbytes / np.median(ts) / 1e9)
    del a
    w = np.ones((4096, nbytes // (4 * 4096)), dtype=np.float32)
    x = np.ones(w.shape[1], dtype=np.float32)
    w @ x
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        w @ x
        ts.append(time.perf_counter() - t0)
    gemv_gbps = float(w.nbytes / np.median(ts) / 1e9)
    return {"stream_sum": sum_gbps, "sgemv": gemv_gbps, "dram_read_gbps": max(sum_gbps, gemv_gbps)}


def _probe_bandwidth(nbytes: int, threads_all) -> dict[int, dict[str, float]]:
    out = {}
    for t in threads_all:
        out[t] = measure_read_bandwidth(nbytes, threads=t)
        log.info("DRAM read bandwidth, %d thread(s): %s GB/s", t, out[t])
    return out


# ---------------------------------------------------------------------------------------------
# candidates


@dataclass
class Candidate:
    kernel: str
    w_bits: int
    a_bits: int
    n_bw: int
    weight_bytes: int
    copies: list = field(repr=False)
    call: object = field(repr=False)  # call(copy, x) -> y
    x: object = field(repr=False)
    check: object = field(repr=False, default=None)  # () -> relative error vs a float64 reference
    # peers timed inside their own process: run() returns the seconds of the call (pipe round trip excluded)
    self_timed: bool = False
    bits_per_weight: float = float("nan")
    impl: str = ""
    peer_build: str = ""

    def run(self, i: int):
        return self.call(self.copies[i % len(self.copies)], self.x)


def n_copies_for(nbytes_one: int, l3: int, rotate_factor: float) -> int:
    return max(1, -(-int(rotate_factor * l3) // max(nbytes_one, 1)))


def random_packed(rng, m, k, w_bits, group_size) -> PackedLinear:
    planes = rng.integers(0, 256, size=(w_bits, m, k // 8), dtype=np.uint8)
    ng = k // group_size
    scale = (rng.random((m, ng), dtype=np.float32) + np.float32(0.5)) / np.float32(1 << w_bits)
    zero = np.full((m, ng), np.float32((1 << w_bits) // 2))
    return PackedLinear(planes=planes, scale=scale, zero=zero, w_bits=w_bits, group_size=group_size, k=k)


def _rel_err(y, ref) -> float:
    y = np.asarray(y, np.float64).reshape(ref.shape)
    return float(np.sqrt(np.mean((y - ref) ** 2) / max(np.mean(ref**2), 1e-300)))


def _packed_reference(p: PackedLinear, x):
    from sail.kernels.reference import dequant_linear

    return dequant_linear(p.codes(), p.scale, p.zero, p.group_size, x)


def group_bytes_per_rep(kernels, m, k, w_bits_list, group_size, weight_lut_n_bw, weight_lut_w_bits) -> int:
    """Weight bytes one interleaved repetition of a batch-1 group streams (all candidates, one call each),
    from the formats' sizes (fp32, int8, packed planes + 2 float32 per group, the prepared layouts, ggml's
    bits per weight); it sizes the group's rotation (:func:`run_benchmark`)."""
    ng = k // group_size
    mp = -(-m // 64) * 64
    total = sum(m * k * 4 for kn in ("numpy_fp32", "torch_fp32") if kn in kernels)
    total += m * k + 8 * m if "torch_int8_dynamic" in kernels else 0
    for w in w_bits_list:
        total += sum(m * k * w // 8 + 8 * m * ng for kn in ("dequant", "act_lut_g4", "act_lut_g8") if kn in kernels)
        total += sum(mp * k * w // 8 + 8 * mp * ng for kn in ("act_lut_simd", "act_lut_simd_portable")
                     if kn in kernels)
        if "weight_lut" in kernels and w in weight_lut_w_bits:
            total += len(weight_lut_n_bw) * mp * (k + 7)
    for kn in peer_kernels(kernels):
        total += int(m * k * ggml_timer.TYPE_BPW[ggml_timer.parse_kernel(kn)[0]] / 8)
    return total


def build_candidates(kernels, m, k, w_bits_list, batch, group_size, a_bits, weight_lut_n_bw, l3, rotate_factor, rng,
                     weight_lut_w_bits, n_copies: int | None = None):
    """The candidates of one (shape, batch) group, each with its rotating set of weight copies.

    ``n_copies``: copies per candidate (the group-wide rotation of :func:`run_benchmark`); ``None`` sizes
    each candidate's copies to ``rotate_factor`` x L3 on its own (needed when it runs back to back).
    """
    import torch


    def copies_for(nbytes_one: int) -> int:
        return int(n_copies) if n_copies is not None else n_copies_for(nbytes_one, l3, rotate_factor)

    x = rng.standard_normal((k, batch)).astype(np.float32)
    xi = rng.integers(-(1 << (a_bits - 1)), 1 << (a_bits - 1), size=(k, batch)).astype(np.int64)
    cands = []
    if any(kn in kernels for kn in ("numpy_fp32", "torch_fp32")):
        nc = copies_for(m * k * 4)
        dense = [rng.standard_normal((m, k), dtype=np.float32) for _ in range(nc)]
        dref = dense[0].astype(np.float64) @ x.astype(np.float64)
        if "numpy_fp32" in kernels:
            cands.append(Candidate("numpy_fp32", 32, 32, 0, m * k * 4, dense, lambda w, xx: w @ xx, x,
                                   lambda: _rel_err(dense[0] @ x, dref)))
        if "torch_fp32" in kernels:
            tw = [torch.from_numpy(w) for w in dense]
            tx = torch.from_numpy(np.ascontiguousarray(x.T))
            cands.append(Candidate("torch_fp32", 32, 32, 0, m * k * 4, tw,
                                   lambda w, xx: torch.nn.functional.linear(xx, w), tx,
                                   lambda: _rel_err(torch.nn.functional.linear(tx, tw[0]).numpy().T, dref)))
    if "torch_int8_dynamic" in kernels:
        from torch.ao.quantization import quantize_dynamic

        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")  # deprecation notice, torch 2.13

        nc = copies_for(m * k)
        mods = []
        w0 = None
        for i in range(nc):
            lin = torch.nn.Linear(k, m, bias=False)
            with torch.no_grad():
                w = torch.from_numpy(rng.standard_normal((m, k), dtype=np.float32))
                lin.weight.copy_(w)
            if i == 0:
                w0 = w.numpy().astype(np.float64)
            mods.append(quantize_dynamic(torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8))
        tx = torch.from_numpy(np.ascontiguousarray(x.T))
        qref = w0 @ x.astype(np.float64)
        cands.append(Candidate("torch_int8_dynamic", 8, 32, 0, m * k + 8 * m, mods, lambda mod, xx: mod(xx), tx,
                               lambda: _rel_err(mods[0](tx).numpy().T, qref)))
    for w_bits in w_bits_list:
        packed_kernels = [kn for kn in ("dequant", "act_lut_g4", "act_lut_g8", "act_lut_simd",
                                                "act_lut_simd_portable") if kn in kernels]
        want_wlut = "weight_lut" in kernels and w_bits in weight_lut_w_bits
        if not packed_kernels and not want_wlut:
            continue
        one = random_packed(rng, m, k, w_bits, group_size)
        nc = copies_for(one.nbytes)
        copies = [one] + [random_packed(rng, m, k, w_bits, group_size) for _ in range(nc - 1)]
        pref = {}  # float64 reference of copies[0] ("y", on first use) and act_lut_simd's prepared copies

        def check_fn(f, copies=copies, pref=pref):
            def check():
                if "y" not in pref:
                    pref["y"] = _packed_reference(copies[0], x)
                return _rel_err(f(copies[0], x), pref["y"])
            return check

        for kn in packed_kernels:
            if kn in ("act_lut_simd", "act_lut_simd_portable"):
                if "prepared" not in pref:
                    # the one-off re-layout at load time is timed here and logged, not in the GEMV's latency
                    t0 = time.perf_counter()
                    p0 = prepare_simd(copies[0])
                    dt = time.perf_counter() - t0
                    # the rotation copies are byte copies of the first prepared matrix (speed does not depend
                    # on the values; re-laying out ~190 random matrices took ~25 s per bit width at 4096^2)
                    pref["prepared"] = [p0] + [SimdPrepared(wq=p0.wq.copy(), s=p0.s.copy(), sc=p0.sc.copy(),
                                                            w_bits=p0.w_bits, group_size=p0.group_size, m=p0.m,
                                                            k=p0.k) for _ in copies[1:]]
                    log.info("act_lut_simd prepare, %dx%d w_bits %d: %.2f ms per matrix (auto path here: %s)", m, k,
                             w_bits, dt * 1e3, resolve_impl("auto"))
                prepared = pref["prepared"]
                impl = "portable" if kn == "act_lut_simd_portable" else None
                f = lambda p, xx, impl=impl: simd_gemv(p, xx, impl=impl)  # noqa: E731
                # timed through the bound caller (one numba dispatch per call; bind_gemv says why), bound
                # after the group's threads are pinned; the check goes through simd_gemv (bit-identical)
                bound = [bind_gemv(pr, impl) for pr in prepared]
                xt = np.ascontiguousarray(x.T)
                cands.append(Candidate(kn, w_bits, 32, 4, prepared[0].nbytes, bound, lambda g, xx: g(xx), xt,
                                       check_fn(lambda p, xx, pr=prepared[0], f=f: f(pr, xx)),
                                       impl=resolve_impl(impl)))
                continue
            if kn == "dequant":
                f, nb = dequant_gemv, 0
            else:
                g = 4 if kn == "act_lut_g4" else 8
                f, nb = (lambda p, xx, g=g: act_lut_gemv(p, xx, g=g)), g
            cands.append(Candidate(kn, w_bits, 32, nb, one.nbytes, copies, f, x, check_fn(f)))
        if want_wlut:
            # the one-off re-layout (prepare_wlut) is load-time work, logged and not timed; the prepared
            # codes are 1 byte per weight, so their own size sets how many copies rotate through L3
            t0 = time.perf_counter()
            wl_copies = [prepare_wlut(copies[0])]
            wl_copies += [prepare_wlut(copies[i % len(copies)])
                          for i in range(1, copies_for(wl_copies[0].nbytes))]
            log.info("weight_lut prepare, %dx%d w_bits %d: %.2f ms per matrix", m, k, w_bits,
                     (time.perf_counter() - t0) / len(wl_copies) * 1e3)
            exact = (copies[0].codes().astype(np.int64) @ xi).astype(np.float64)
            for nbw in weight_lut_n_bw:
                # integer kernel: rel_err against the exact Q @ X is 0.0 exactly when it is bit-exact
                def wl_check(nbw=nbw):
                    return _rel_err(lut_gemv_prepared(wl_copies[0], xi, a_bits, nbw), exact)

                cands.append(Candidate("weight_lut", w_bits, a_bits, nbw, wl_copies[0].nbytes, wl_copies,
                                       lambda pr, xx, nbw=nbw: lut_gemv_prepared(pr, xx, a_bits, nbw), xi, wl_check))
    return cands


class PeerSet:
    """llama.cpp candidates living in one :class:`~sail.kernels.ggml_timer.GgmlTimer` process.

    Their weight copies are kept while consecutive groups share the shape and batch (the thread count
    changes between them), so each shape is quantised and repacked once.
    """

    def __init__(self, timer: "ggml_timer.GgmlTimer", build: str | None = None):
        self.timer = timer
        self.key = None
        self.handles: dict[str, ggml_timer.PeerHandle] = {}
        self.build = build or f"ggml {timer.info.get('version', '?')} commit {timer.info.get('commit', '?')}"

    def candidates(self, names, m, k, batch, l3, rotate_factor, seed, n_copies: int | None = None) -> list[Candidate]:
        if self.key != (m, k, batch):
            for h in self.handles.values():
                self.timer.free(h)
            self.handles = {}
            self.key = (m, k, batch)
        cands = []
        for kn in names:
            t, repack = ggml_timer.parse_kernel(kn)
            if kn not in self.handles:
                bpw = ggml_timer.TYPE_BPW[t]
                nc = n_copies if n_copies is not None else n_copies_for(int(m * k * bpw / 8), l3, rotate_factor)
                t0 = time.perf_counter()
                self.handles[kn] = h = self.timer.add(t, repack, m, k, batch, nc, seed)
                log.info("%s %dx%d batch %d: %d copies, %.3f bits/weight, %s buffer (repacked: %s), set-up %.1f s", kn,
                         m, k, batch, nc, h.bits_per_weight, h.buft, h.repacked, time.perf_counter() - t0)
                if abs(h.bits_per_weight - bpw) > 1e-6:
                    raise ValueError(f"{kn}: ggml reports {h.bits_per_weight} bits/weight, expected {bpw}")
            h = self.handles[kn]
            cands.append(Candidate(
                kn, ggml_timer.TYPE_W_BITS[t], 8, 0, h.weight_bytes, list(range(h.n_copies)),
                lambda copy, xx, h=h: self.timer.run(h, copy), None, lambda h=h: self.timer.check(h),
                self_timed=True, bits_per_weight=h.bits_per_weight, impl=h.buft + ("_repacked" if h.repacked else ""),
                peer_build=self.build))
        return cands

    def set_threads(self, n: int) -> None:
        self.timer.set_threads(n)


def time_group(cands, reps: int, progress=None) -> dict[int, list[float]]:
    """Interleaved timing: within each repetition every candidate runs once on its next weight copy."""
    times = {i: [] for i in range(len(cands))}
    for i, c in enumerate(cands):  # warm-up: compile and touch code paths (not timed)
        c.run(i)
    order = list(range(len(cands)))
    for rep in range(reps):
        seq = order if rep % 2 == 0 else order[::-1]
        for i in seq:
            c = cands[i]
            t0 = time.perf_counter()
            r = c.run(rep + 1 + i)
            dt = time.perf_counter() - t0
            times[i].append(float(r) if c.self_timed else dt)
        if progress is not None:
            progress.update(1)
    return times


@dataclass(frozen=True)
class BenchConfig:
    shapes: list  # [[M, K], ...] measured at batch 1
    batch_shapes: list  # shapes also swept over `batches`
    w_bits: list
    batch_w_bits: list  # w_bits of the batch sweep
    batches: list
    threads: list  # thread counts of the batch-1 groups; the batch sweep runs at threads[0]
    reps: int
    group_size: int
    a_bits: int  # activation bits of the weight-LUT
    weight_lut_n_bw: list  # LUT widths of the weight-LUT (each a candidate; the first is SAIL's default)
    kernels: list
    weight_lut_w_bits: list
    rotate_factor: float
    bandwidth_bytes: int
    seed: int
    threading_layer: str = DEFAULT_THREADING_LAYER


def peer_kernels(kernels) -> list[str]:
    """The llama.cpp peers among ``kernels`` (validated: an unknown ggml type raises ``ValueError``)."""
    peers = [kn for kn in kernels if kn.startswith(ggml_timer.PREFIX)]
    for kn in peers:
        ggml_timer.parse_kernel(kn)
    return peers


def check_config(cfg: BenchConfig) -> None:
    peers = peer_kernels(cfg.kernels)
    unknown = sorted(set(cfg.kernels) - set(KERNELS) - set(peers))
    if unknown:
        raise ValueError(f"unknown kernels {unknown}; known: {sorted(KERNELS)} and "
                         f"{ggml_timer.PREFIX}<type>[_plain] with type in {sorted(ggml_timer.TYPE_W_BITS)}")
    for m, k in list(cfg.shapes) + list(cfg.batch_shapes):
        if k % cfg.group_size or cfg.group_size % 8:
            raise ValueError(f"shape {m}x{k}: K must be a multiple of group_size={cfg.group_size} (itself a multiple of 8)")
    if "act_lut_simd" in cfg.kernels and cfg.group_size % 32:
        raise ValueError(f"act_lut_simd needs group_size a multiple of 32, got {cfg.group_size}")
    if cfg.reps < 1:
        raise ValueError(f"reps must be >= 1, got {cfg.reps}")
    bad = [n for n in cfg.weight_lut_n_bw if not (isinstance(n, int) and 1 <= n <= 8)]
    if bad or not cfg.weight_lut_n_bw:
        raise ValueError(f"weight_lut_n_bw must be a non-empty list of integers in 1..8, got {cfg.weight_lut_n_bw!r}")


def run_benchmark(cfg: BenchConfig, progress: bool = True, ggml_timer_exe: str | None = None, peer_log=None,
                  peer_build: str | None = None):
    """Run every group of ``cfg``; returns ``(bench DataFrame, machine dict)``.

    ``ggml_timer_exe``: the compiled ``ggml_gemv_timer`` (:mod:`sail.kernels.ggml_timer`), required when
    ``cfg.kernels`` names llama.cpp peers; they are timed in the batch-1 groups, interleaved with ours.
    ``peer_log``: a file object for the timer's stderr (ggml warnings). ``peer_build``: the text of the
    peer rows' ``peer_build`` column (default: the ggml version and commit the timer reports).
    """
    import pandas as pd
    from tqdm import tqdm

    check_config(cfg)
    peers = peer_kernels(cfg.kernels)
    if peers and not ggml_timer_exe:
        raise ValueError(f"kernels {peers} need the compiled ggml timer (ggml_timer_exe)")
    select_threading_layer(cfg.threading_layer)
    machine = machine_info()
    peer_set = None
    if peers:
        peer_set = PeerSet(ggml_timer.GgmlTimer(ggml_timer_exe, stderr=peer_log), peer_build)
        machine.update({f"llamacpp_{key}": val for key, val in peer_set.timer.info.items()})
    l3 = machine["l3_bytes"]
    threads_all = sorted(set(cfg.threads))
    probes = {"start": _probe_bandwidth(cfg.bandwidth_bytes, threads_all)}
    machine["l3_rotate_factor"] = cfg.rotate_factor

    groups = []  # (m, k, batch, threads, w_bits_list)
    for m, k in cfg.shapes:
        for t in cfg.threads:
            groups.append((m, k, 1, t, list(cfg.w_bits)))
    for m, k in cfg.batch_shapes:
        for b in cfg.batches:
            if b != 1 or [m, k] not in [list(s) for s in cfg.shapes]:
                groups.append((m, k, b, cfg.threads[0], list(cfg.batch_w_bits)))
    rows = []
    bar = tqdm(total=len(groups) * cfg.reps, desc="kernel bench (reps)", disable=not progress, mininterval=5)
    for gi, (m, k, batch, t, wbl) in enumerate(groups):
        rng = np.random.default_rng([cfg.seed, gi])
        pin_threads(t)  # before building: act_lut_simd binds its serial or parallel runner to it
        # Rotation sized for the whole group: the candidates run interleaved, so between two uses of one
        # copy every candidate streams n_copies of its matrices; n_copies x (bytes of one repetition)
        # >= rotate_factor x L3 keeps every call out of the L3 while holding only ~rotate_factor x L3 of
        # copies in memory in total (per candidate it took ~18 GB per group with this host's 300 MiB L3).
        gb = group_bytes_per_rep(cfg.kernels if batch == 1 else [kn for kn in cfg.kernels if kn not in peers], m,
                                 k, wbl, cfg.group_size, cfg.weight_lut_n_bw, cfg.weight_lut_w_bits) * batch
        nc = n_copies_for(gb, l3, cfg.rotate_factor)
        cands = build_candidates(cfg.kernels, m, k, wbl, batch, cfg.group_size, cfg.a_bits, cfg.weight_lut_n_bw, l3,
                                 cfg.rotate_factor, rng, cfg.weight_lut_w_bits, n_copies=nc)
        if peer_set is not None and batch == 1:
            cands += peer_set.candidates(peers, m, k, batch, l3, cfg.rotate_factor, cfg.seed, n_copies=nc)
            peer_set.set_threads(t)
        pin_threads(t)
        times = time_group(cands, cfg.reps, bar)
        for i, c in enumerate(cands):
            ts = np.asarray(times[i])
            med = float(np.median(ts))
            rows.append({
                "kernel": c.kernel, "m": m, "k": k, "w_bits": c.w_bits, "a_bits": c.a_bits, "n_bw": c.n_bw,
                "batch": batch, "threads": t, "reps": len(ts), "median_s": med,
                "q25_s": float(np.percentile(ts, 25)), "q75_s": float(np.percentile(ts, 75)),
                "weight_bytes": c.weight_bytes, "dram_read_gbps": np.nan, "roofline_fraction": np.nan,  # below
                "min_s": float(ts.min()), "per_token_s": med / batch, "eff_gbps": c.weight_bytes / med / 1e9,
                "gops": 2.0 * m * k * batch / med / 1e9, "n_copies": len(c.copies),
                "rel_err": c.check() if c.check is not None else float("nan"),
                "bits_per_weight": (c.bits_per_weight if np.isfinite(c.bits_per_weight)
                                    else 8.0 * c.weight_bytes / (m * k)),
                "impl": c.impl, "peer_build": c.peer_build,
            })
        log.info("group %d/%d done: %dx%d batch %d threads %d (%d candidates)", gi + 1, len(groups), m, k, batch,
                 t, len(cands))
        del cands
    bar.close()
    if peer_set is not None:
        peer_set.timer.close()
    # A second probe at the end: a neighbour on a shared host can depress either one (seen: 27.5 vs
    # 34.5 GB/s between runs), and the larger is the safer roofline (it never inflates the fraction).
    probes["end"] = _probe_bandwidth(cfg.bandwidth_bytes, threads_all)
    bw = {}
    for t in threads_all:
        for name, col in (("stream_sum", "stream_sum_gbps"), ("sgemv", "sgemv_gbps"), ("dram_read_gbps",) * 2):
            for when, probe in probes.items():
                machine[f"{col}_{t}t_{when}"] = round(probe[t][name], 3)
        bw[t] = max(probe[t]["dram_read_gbps"] for probe in probes.values())
        machine[f"dram_read_gbps_{t}t"] = round(bw[t], 3)
    machine["dram_read_method"] = (f"max of a numba streaming sum and a numpy fp32 sgemv over {cfg.bandwidth_bytes} "
                                   "bytes, median of 7 each, probed at the start and at the end of the run; "
                                   "the larger of the two probes")
    df = pd.DataFrame(rows, columns=BENCH_COLUMNS)
    df["dram_read_gbps"] = df.threads.map(bw)
    df["roofline_fraction"] = df.weight_bytes / (df.dram_read_gbps * 1e9) / df.median_s
    df = df.sort_values(["m", "k", "batch", "threads", "kernel", "w_bits"], kind="stable").reset_index(drop=True)
    return df, machine
