"""The Pattern Reuse Table (PRT) of SAIL's pattern-aware LUT (paper section 2.2, reconstructed).

Semantics (shared with the pattern-aware LUT-GEMV kernel of ``sail.kernels``)
---------------------------------------------------------------------------
- One PRT per data-feeding module, i.e. per **LUT group**: the table rows it caches belong to one
  group's LUT, so it starts **empty** whenever a new group's table is used, i.e. for every
  (layer, LUT group, batch of ``batch`` tokens). Nothing carries over between batches or groups.
- Keyed on the ``n_bw``-bit pattern itself (the paper stores a hash; with ``n_bw <= 8`` the pattern
  is its own perfect hash, so there are no false hits). A **hit** reuses the stored looked-up row
  and skips the C-SRAM read; a miss reads the row and inserts ``pattern -> row``.
- Replacement: ``lru`` (a hit refreshes the entry) or ``fifo`` (a hit changes nothing; the entry
  inserted first is evicted first).
- ``zero_skip=True``: an all-zero pattern selects the table's zero row, so it is skipped before the
  PRT lookup (never inserted, never counted as a hit). With ``zero_skip=False`` it is an ordinary
  pattern.
- **Presentation order** within one (group, batch) stream of ``batch * a_bits`` patterns:
  ``token_major`` (default): for each token of the batch in order, its bit-planes LSB -> MSB (the
  module finishes one token's bit-serial pass before the next token). ``plane_major``: for each
  bit-plane LSB -> MSB, every token of the batch (the bit-plane is broadcast to all batch lanes
  before the next plane). LRU/FIFO hits depend on the order only through evictions; with no
  eviction both orders give ``lookups - distinct patterns`` hits.

Counts (one :class:`PrtCounts` per configuration, summed over layers/groups/batches)
----------------------------------------------------------------------------------
``lookups`` (every pattern presentation, = ``batch * a_bits * groups`` per layer and batch, as in
``sail.sim.opcount``), ``zero_skips`` (all-zero presentations skipped; 0 unless ``zero_skip``),
``prt_hits``, ``sram_reads = lookups - zero_skips - prt_hits``.

Two implementations: :func:`simulate_prt` runs one configuration literally (any order, policy,
size); :func:`lru_sweep` gets every LRU size, every batch size (nested, each dividing the largest)
and both ``zero_skip`` settings from one pass over the ``token_major`` stream using LRU stack
distances (an access hits an LRU of ``C`` entries iff fewer than ``C`` distinct other patterns were
presented since its previous presentation in the same batch; Mattson et al. 1970).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from sail.contracts import POLICIES  # noqa: F401  (re-exported by sail.profile)
from sail.profile.patterns import check_n_bw

ORDERS = ("token_major", "plane_major")


@dataclass(frozen=True)
class PrtCounts:
    lookups: int
    zero_skips: int
    prt_hits: int

    @property
    def sram_reads(self) -> int:
        return self.lookups - self.zero_skips - self.prt_hits

    @property
    def avoided_fraction(self) -> float:
        return (self.zero_skips + self.prt_hits) / self.lookups if self.lookups else 0.0

    def __add__(self, other: "PrtCounts") -> "PrtCounts":
        return PrtCounts(self.lookups + other.lookups, self.zero_skips + other.zero_skips,
                         self.prt_hits + other.prt_hits)


def _check_patterns(P: np.ndarray) -> np.ndarray:
    P = np.asarray(P)
    if P.ndim != 3 or P.dtype != np.uint8:
        raise ValueError(f"P must be a (N, groups, a_bits) uint8 array, got {P.dtype} {P.shape}")
    return P


def _check_batch(batch, n_tok: int) -> int:
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    if n_tok % batch:
        raise ValueError(f"the number of tokens N={n_tok} is not a multiple of batch={batch}")
    return int(batch)


def presentation_streams(P: np.ndarray, batch: int, order: str = "token_major") -> np.ndarray:
    """(groups, N * a_bits) uint8: each LUT group's patterns in presentation order.

    Consecutive runs of ``batch * a_bits`` entries are one PRT lifetime (one batch).
    """
    P = _check_patterns(P)
    n_tok, n_groups, a_bits = P.shape
    batch = _check_batch(batch, n_tok)
    if order == "token_major":
        s = P.transpose(1, 0, 2)  # (G, N, a)
    elif order == "plane_major":
        s = P.reshape(n_tok // batch, batch, n_groups, a_bits).transpose(2, 0, 3, 1)  # (G, N/B, a, B)
    else:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    return np.ascontiguousarray(s).reshape(n_groups, n_tok * a_bits)


@numba.njit(parallel=True, cache=True)
def _simulate(Pg, configs, n_patterns, zeros_out, hits_out):  # pragma: no cover - compiled
    # Pg = P.transpose(1, 0, 2): (groups, N, a_bits), so one job reads one contiguous block.
    # configs[c] = (batch, entries, lru, zero_skip, plane_major); one launch runs every
    # (configuration, LUT group) pair, so a layer's literal simulations cost one thread start-up.
    n_groups, n_tok, a_bits = Pg.shape
    n_cfg = configs.shape[0]
    for job in numba.prange(n_cfg * n_groups):
        c = job // n_groups
        g = job - c * n_groups
        batch = configs[c, 0]
        entries = configs[c, 1]
        lru = configs[c, 2] != 0
        zero_skip = configs[c, 3] != 0
        plane_major = configs[c, 4] != 0
        seg_len = batch * a_bits
        buf = np.empty(seg_len, np.uint8)  # one batch's stream in presentation order
        stack = np.empty(entries, np.int64)  # LRU: most recent first; FIFO: ring buffer
        present = np.zeros(n_patterns, np.bool_)
        zeros = 0
        hits = 0
        for n0 in range(0, n_tok, batch):
            r = 0
            if plane_major:  # plane by plane, every token of the batch
                for i in range(a_bits):
                    for b in range(batch):
                        buf[r] = Pg[g, n0 + b, i]
                        r += 1
            else:  # token by token, its planes LSB -> MSB
                for b in range(batch):
                    for i in range(a_bits):
                        buf[r] = Pg[g, n0 + b, i]
                        r += 1
            count = 0  # a new batch: the PRT starts empty
            head = 0
            present[:] = False
            for r in range(seg_len):
                p = buf[r]
                if p == 0:
                    zeros += 1
                    if zero_skip:
                        continue
                if lru:
                    pos = -1
                    for e in range(count):
                        if stack[e] == p:
                            pos = e
                            break
                    if pos >= 0:
                        hits += 1
                    else:
                        if count < entries:
                            count += 1
                        pos = count - 1  # the last slot: free, or the least recently used (evicted)
                    for e in range(pos, 0, -1):
                        stack[e] = stack[e - 1]
                    stack[0] = p
                else:
                    if present[p]:
                        hits += 1
                        continue
                    if count == entries:
                        present[stack[head]] = False
                    else:
                        count += 1
                    stack[head] = p
                    present[p] = True
                    head += 1
                    if head == entries:
                        head = 0
        zeros_out[c, g] = zeros
        hits_out[c, g] = hits


def simulate_prt_many(P: np.ndarray, n_bw: int, configs) -> list[PrtCounts]:
    """:func:`simulate_prt` for many ``(batch, entries, policy, zero_skip, order)`` tuples at once."""
    n_bw = check_n_bw(n_bw)
    P = _check_patterns(P)
    n_tok, n_groups, a_bits = P.shape
    rows = []
    for batch, entries, policy, zero_skip, order in configs:
        _check_batch(batch, n_tok)
        if isinstance(entries, bool) or not isinstance(entries, (int, np.integer)) or entries < 1:
            raise ValueError(f"entries must be a positive integer, got {entries!r}")
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        if order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
        rows.append((batch, entries, policy == "lru", bool(zero_skip), order == "plane_major"))
    if P.size and int(P.max()) >= 1 << n_bw:
        raise ValueError(f"pattern {int(P.max())} does not fit n_bw={n_bw} bits")
    if not rows:
        return []
    cfg = np.array(rows, np.int64).reshape(len(rows), 5)
    zeros = np.zeros((len(rows), n_groups), np.int64)
    hits = np.zeros((len(rows), n_groups), np.int64)
    if P.size:
        _simulate(np.ascontiguousarray(P.transpose(1, 0, 2)), cfg, 1 << n_bw, zeros, hits)
    return [PrtCounts(lookups=P.size, zero_skips=int(zeros[c].sum()) if rows[c][3] else 0,
                      prt_hits=int(hits[c].sum())) for c in range(len(rows))]


def simulate_prt(P: np.ndarray, n_bw: int, batch: int, entries: int, policy: str = "lru",
                 zero_skip: bool = False, order: str = "token_major") -> PrtCounts:
    """Run one PRT configuration over patterns ``P`` (N, groups, a_bits) from ``extract_patterns``."""
    return simulate_prt_many(P, n_bw, [(batch, entries, policy, zero_skip, order)])[0]


@numba.njit(parallel=True, cache=True)
def _lru_sweep(S, a_bits, batches, max_entries, n_patterns, zeros_out, hist_out, cold_out,
               distinct_plane_out):  # pragma: no cover - compiled
    # Counts are binned by b0 = the smallest batch in which the access is warm (its previous
    # presentation lies in the same batch); the wrapper turns them into per-batch counts with a
    # cumulative sum, because batches are nested (warm in batch b => warm in every larger batch).
    # Written without data-dependent branches: the patterns are close to random, so a branchy
    # version (stack search, early exits) spent most of its time on mispredictions (2x slower).
    n_groups, length = S.shape
    n_b = batches.shape[0]
    n_tok = length // a_bits
    for g in numba.prange(n_groups):
        last = np.full(n_patterns, -1, np.int32)  # stream position of p's latest presentation
        last_tok = np.full(n_patterns, -1, np.int32)  # its token
        last_tok_plane = np.full((a_bits, n_patterns), -1, np.int32)  # token of the latest p on plane i
        seg_start = np.zeros(n_b, np.int32)  # first token of the current batch, per batch size
        hist = np.zeros((n_b + 1, 2, max_entries + 1), np.int64)  # row n_b: cold in every batch
        dplane = np.zeros((n_b + 1, a_bits), np.int64)
        zeros = 0
        t = 0
        for n in range(n_tok):
            for b in range(n_b):
                if n % batches[b] == 0:
                    seg_start[b] = n
            for i in range(a_bits):
                p = S[g, t]
                zeros += p == 0
                # seg_start falls with b, so the first batch sharing token pt = the number of batches
                # whose current segment starts after pt (n_b: none, i.e. a first presentation)
                pt = last_tok_plane[i, p]
                b_plane = 0
                for b in range(n_b):
                    b_plane += pt < seg_start[b]
                dplane[b_plane, i] += 1
                last_tok_plane[i, p] = n
                prev = last[p]
                pt = last_tok[p]
                b0 = 0
                for b in range(n_b):
                    b0 += pt < seg_start[b]
                # LRU stack distance = distinct other patterns presented since prev (Mattson et al.);
                # beyond max_entries it means "a miss at every size", so it is clipped there
                dist = 0
                for q in range(n_patterns):
                    dist += last[q] > prev
                hist[b0, 0, min(dist, max_entries)] += 1
                # zero_skip never presents the zero pattern: one fewer in between if it came after prev
                hist[b0, 1, min(dist - (last[0] > prev), max_entries)] += p != 0
                last[p] = t
                last_tok[p] = n
                t += 1
        zeros_out[g] = zeros
        hist_out[g] += hist[:n_b]
        cold_out[g, 0] += hist[n_b, 0].sum()
        cold_out[g, 1] += hist[n_b, 1].sum()
        distinct_plane_out[g] += dplane


@dataclass(frozen=True)
class LruSweep:
    """LRU PRT statistics of one pattern array for every batch, size <= ``max_entries`` and zero_skip.

    ``hist[b, z, d]``: presentations (batch ``batches[b]``, ``zero_skip = bool(z)``) whose previous
    presentation lies in the same batch with ``d`` distinct other patterns in between (``d`` clipped
    at ``max_entries``, meaning "no hit for any size <= max_entries"); ``cold[b, z]``: first
    presentations of a pattern in a batch (= distinct patterns, summed over groups and batches);
    ``distinct_plane[b, i]``: distinct patterns on plane ``i`` per (group, batch), summed.
    """

    batches: tuple[int, ...]
    max_entries: int
    n_tokens: int
    n_groups: int
    a_bits: int
    lookups: int
    zeros: int
    hist: np.ndarray  # (len(batches), 2, max_entries + 1) int64
    cold: np.ndarray  # (len(batches), 2) int64
    distinct_plane: np.ndarray  # (len(batches), a_bits) int64

    def _b(self, batch: int) -> int:
        if batch not in self.batches:
            raise ValueError(f"batch={batch} was not swept; swept {self.batches}")
        return self.batches.index(batch)

    def counts(self, batch: int, entries: int, zero_skip: bool) -> PrtCounts:
        if not 1 <= entries <= self.max_entries:
            raise ValueError(f"entries must be in 1..{self.max_entries}, got {entries}")
        b, z = self._b(batch), int(bool(zero_skip))
        return PrtCounts(self.lookups, self.zeros if zero_skip else 0, int(self.hist[b, z, :entries].sum()))

    def distinct_per_batch(self, batch: int) -> int:
        """Distinct patterns per (group, batch), summed over groups and batches (zero included)."""
        return int(self.cold[self._b(batch), 0])

    def __add__(self, other: "LruSweep") -> "LruSweep":
        if (self.batches, self.max_entries, self.a_bits) != (other.batches, other.max_entries, other.a_bits):
            raise ValueError("can only add sweeps with the same batches, max_entries and a_bits")
        return LruSweep(self.batches, self.max_entries, self.n_tokens + other.n_tokens,
                        self.n_groups + other.n_groups, self.a_bits, self.lookups + other.lookups,
                        self.zeros + other.zeros, self.hist + other.hist, self.cold + other.cold,
                        self.distinct_plane + other.distinct_plane)


def lru_sweep(P: np.ndarray, n_bw: int, batches, max_entries: int) -> LruSweep:
    """One pass over the ``token_major`` streams of ``P`` giving LRU counts for all batches and sizes.

    ``batches`` must each divide the largest (e.g. 1, 2, 4, ..., 32) and the number of tokens.
    """
    n_bw = check_n_bw(n_bw)
    P = _check_patterns(P)
    n_tok, n_groups, a_bits = P.shape
    batches = tuple(int(b) for b in batches)
    if not batches or batches != tuple(sorted(set(batches))):
        raise ValueError(f"batches must be a non-empty strictly increasing sequence, got {batches}")
    for b in batches:
        _check_batch(b, n_tok)
        if batches[-1] % b:
            raise ValueError(f"batch={b} does not divide the largest batch {batches[-1]}")
    if isinstance(max_entries, bool) or not isinstance(max_entries, (int, np.integer)) or max_entries < 1:
        raise ValueError(f"max_entries must be a positive integer, got {max_entries!r}")
    if P.size and int(P.max()) >= 1 << n_bw:
        raise ValueError(f"pattern {int(P.max())} does not fit n_bw={n_bw} bits")
    S = presentation_streams(P, batches[-1], "token_major")
    nb = len(batches)
    zeros = np.zeros(n_groups, np.int64)
    hist_b0 = np.zeros((n_groups, nb, 2, max_entries + 1), np.int64)  # by first warm batch b0
    cold_all = np.zeros((n_groups, 2), np.int64)  # cold in every batch
    first_b = np.zeros((n_groups, nb + 1, a_bits), np.int64)  # by first batch sharing the plane pattern
    if S.size:
        _lru_sweep(S, a_bits, np.array(batches, np.int64), int(max_entries), 1 << n_bw, zeros, hist_b0,
                   cold_all, first_b)
    hist_b0 = hist_b0.sum(axis=0)
    hist = np.cumsum(hist_b0, axis=0)  # warm in batch b <=> b0 <= b
    # cold in batch b <=> b0 > b: accesses warm only in larger batches, plus those cold everywhere
    warm_later = hist_b0.sum(axis=2)[::-1].cumsum(axis=0)[::-1]  # [b] = warm first in batch >= b
    cold = np.zeros((nb, 2), np.int64)
    cold[:-1] = warm_later[1:]
    cold += cold_all.sum(axis=0)[None, :]
    first_b = first_b.sum(axis=0)
    dplane = first_b[::-1].cumsum(axis=0)[::-1][1:]  # [b] = first shared in a batch > b, or never
    return LruSweep(batches, int(max_entries), n_tok, n_groups, a_bits, S.size, int(zeros.sum()),
                    hist, cold, dplane)


def fifo_equals_lru(n_bw: int, a_bits: int, batch: int, entries: int) -> bool:
    """True when no eviction can happen, so FIFO and LRU both keep every pattern of the batch
    and the presentation order does not matter either (hits = lookups - distinct patterns).

    A batch stream has ``batch * a_bits`` presentations of at most ``2**n_bw`` distinct patterns;
    if ``entries`` covers the smaller of the two, the table never fills past capacity.
    """
    return entries >= min(1 << n_bw, batch * a_bits)
