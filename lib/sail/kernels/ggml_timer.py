"""llama.cpp's own CPU GEMVs as benchmark candidates: build and drive ``cpp/ggml_gemv_timer.cpp``.

The timer is a small C++ program of ours linked against the static ggml libraries of the pipeline's
llama.cpp build. It holds the quantised weights (``n_copies`` copies at distinct addresses, sized by
the benchmark like our kernels' copies) and times one ``ggml_backend_graph_compute`` of a
``ggml_mul_mat`` per ``run`` command, so the benchmark can interleave llama.cpp's calls with ours in
each repetition (:func:`sail.kernels.bench.time_group`). The seconds are measured inside the process
(``std::chrono::steady_clock`` around the call), so the pipe round trip is not counted.

Peer kernels are named ``llamacpp_<type>`` with the ggml type name (``q4_0``, ``q2_K``, ...), and
``llamacpp_<type>_plain`` for the same type forced into the plain CPU buffer (no repacking).
``llamacpp_<type>`` uses llama.cpp's default choice for weights: the ``CPU_REPACK`` buffer when it
supports the type on this CPU, else the plain buffer (the row's ``impl`` column says which).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sail.io import PASSIVE_POOLS_ENV

SOURCE = Path(__file__).with_name("cpp") / "ggml_gemv_timer.cpp"
# Supported ggml weight types: nominal weight bits (the bench's w_bits column; tq*_0 are ternary, listed at
# 2) and bits per weight including block scales (ggml_row_size(type, K) * 8 / K; block layouts in
# ggml-common.h; the timer's own answer is checked against it, so a changed layout fails loudly).
TYPE_W_BITS = {"q8_0": 8, "q6_K": 6, "q5_0": 5, "q5_K": 5, "q4_0": 4, "q4_1": 4, "q4_K": 4, "iq4_nl": 4,
               "iq4_xs": 4, "q3_K": 3, "q2_K": 2, "tq2_0": 2, "tq1_0": 2}
TYPE_BPW = {"q8_0": 8.5, "q6_K": 6.5625, "q5_0": 5.5, "q5_K": 5.5, "q4_0": 4.5, "q4_1": 5.0, "q4_K": 4.5,
            "iq4_nl": 4.5, "iq4_xs": 4.25, "q3_K": 3.4375, "q2_K": 2.625, "tq2_0": 2.0625, "tq1_0": 1.6875}
PREFIX = "llamacpp_"


def parse_kernel(name: str) -> tuple[str, bool]:
    """``llamacpp_q4_0`` -> ``("q4_0", True)`` (default weight buffer); ``llamacpp_q4_0_plain`` ->
    ``("q4_0", False)``. Raises ``ValueError`` naming an unknown type."""
    if not name.startswith(PREFIX):
        raise ValueError(f"not a llama.cpp kernel name (want {PREFIX}<type>): {name!r}")
    t = name[len(PREFIX):]
    repack = True
    if t.endswith("_plain"):
        t, repack = t[: -len("_plain")], False
    if t not in TYPE_W_BITS:
        raise ValueError(f"unknown llama.cpp weight type {t!r} in kernel {name!r}; known: {sorted(TYPE_W_BITS)}")
    return t, repack


def compile_timer(out: str | os.PathLike, include_dirs, static_libs, cxx: str | None = None) -> list[str]:
    """Compile the timer with g++ against the ggml static libraries; returns the command run.

    ``static_libs``: ``libggml.a``, ``libggml-cpu.a``, ``libggml-base.a`` (any order: linked as a group).
    """
    from sail.peers.llamacpp import compile_cpp

    return compile_cpp(SOURCE, out, include_dirs, static_libs, cxx=cxx)


@dataclass
class PeerHandle:
    """One candidate inside the timer process."""

    cid: int
    n_copies: int
    weight_bytes: int
    bits_per_weight: float
    repacked: bool
    buft: str


class GgmlTimer:
    """A running ``ggml_gemv_timer`` process (a context manager; ``close()`` ends it).

    The process gets :data:`sail.io.PASSIVE_POOLS_ENV` (``OMP_WAIT_POLICY=passive``) unless the
    environment sets the variables: after a call,
    OpenMP's worker threads would otherwise spin for a while and steal the second core from the next
    (interleaved) candidate. The benchmark process runs with the same settings, so every candidate pays
    one thread wake-up per call at 2 threads.
    """

    def __init__(self, exe: str | os.PathLike, stderr=None):
        exe = Path(exe)
        if not exe.exists():
            raise ValueError(f"ggml timer executable not found: {exe}")
        env = {**PASSIVE_POOLS_ENV, **os.environ}  # an explicit setting wins, as in the benchmark process
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                     text=True, bufsize=1, env=env)
        self.info = self._info()

    def _ask(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        ans = self.proc.stdout.readline()
        if not ans:
            raise RuntimeError(f"ggml timer exited (code {self.proc.poll()}) on {line!r}")
        ans = ans.strip()
        if ans.startswith("err"):
            raise ValueError(f"ggml timer: {ans[4:]} (command {line!r})")
        return ans

    def _info(self) -> dict[str, str]:
        parts = self._ask("info").split()[1:]
        return dict(p.split("=", 1) for p in parts)

    def set_threads(self, n: int) -> None:
        self._ask(f"threads {int(n)}")

    def add(self, ggml_type: str, repack: bool, m: int, k: int, batch: int, n_copies: int, seed: int) -> PeerHandle:
        a = self._ask(f"add {ggml_type} {int(repack)} {m} {k} {batch} {n_copies} {seed}").split()
        return PeerHandle(int(a[1]), int(n_copies), int(a[2]), float(a[3]), a[4] == "1", a[5])

    def run(self, h: PeerHandle, copy: int) -> float:
        return float(self._ask(f"run {h.cid} {copy}"))

    def check(self, h: PeerHandle) -> float:
        return float(self._ask(f"check {h.cid}"))

    def free(self, h: PeerHandle) -> None:
        self._ask(f"free {h.cid}")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
            except BrokenPipeError:
                pass
            self.proc.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
