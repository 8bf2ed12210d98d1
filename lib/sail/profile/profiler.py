"""Accumulate pattern statistics and PRT counts over many layers, and turn them into tables.

:class:`PatternProfiler` receives the quantised inputs of one linear layer at a time (``add``) and
keeps only counters, so the profile of 210 layers x 2,048 tokens never holds more than one
layer's activations. The grid it measures is :class:`ProfileGrid`:

- *sweep* (each configured ``(n_bw, a_bits, encoding)`` point): pattern histograms per bit-plane, zero
  fractions, entropies, distinct patterns per (LUT group, batch), and LRU PRT counts for every
  batch, every PRT size and both ``zero_skip`` settings (one stack-distance pass, ``lru_sweep``);
- *detail* points (``(n_bw, a_bits, encoding)`` triples, a subset of the sweep): FIFO as well (a literal simulation wherever FIFO
  can differ from LRU; see ``prt.fifo_equals_lru``), and the ``plane_major`` presentation order
  next to the default ``token_major`` one for the sizes in ``order_entries``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sail.contracts import LAYER_TYPES  # re-exported by sail.profile
from sail.profile import prt
from sail.profile.patterns import (ENCODINGS, check_a_bits, check_encoding, check_n_bw, entropy_bits,
                                   extract_patterns, plane_histogram)


@dataclass(frozen=True)
class ProfileGrid:
    """What to measure. ``points``: the (n_bw, a_bits, encoding) triples of the sweep (config gives
    them as a union of cross products); ``detail``: the points that also get FIFO and the
    plane-major order."""

    points: tuple[tuple[int, int, str], ...]
    batches: tuple[int, ...]  # each divides the largest (nested batches; see prt.lru_sweep)
    prt_entries: tuple[int, ...]
    detail: tuple[tuple[int, int, str], ...] = ()
    order_entries: tuple[int, ...] = (32,)

    def __post_init__(self):
        for n_bw, a_bits, enc in self.points:
            check_n_bw(n_bw)
            check_a_bits(a_bits)
            check_encoding(enc)
        for name in ("points", "batches", "prt_entries"):
            values = getattr(self, name)
            if not values or len(set(values)) != len(values):
                raise ValueError(f"{name} must be a non-empty list without repeats, got {list(values)}")
        for b in self.batches:
            if b < 1 or max(self.batches) % b:
                raise ValueError(f"batch={b} must be positive and divide the largest batch {max(self.batches)}")
        for c in self.prt_entries:
            if c < 1:
                raise ValueError(f"PRT entries must be positive, got {c}")
        for c in self.order_entries:
            if c not in self.prt_entries:
                raise ValueError(f"order_entries value {c} is not among prt_entries {list(self.prt_entries)}")
        for n_bw, a_bits, enc in self.detail:
            if (n_bw, a_bits, enc) not in self.points:
                raise ValueError(f"detail point (n_bw={n_bw}, a_bits={a_bits}, {enc}) is outside the sweep points")

    @property
    def a_bits(self) -> tuple[int, ...]:
        return tuple(sorted({a for _, a, _ in self.points}))

    @classmethod
    def from_params(cls, p: dict) -> "ProfileGrid":
        """From the ``profile`` config block (validated by the schema, checked again here)."""
        points = sorted({(int(n), int(a), str(e)) for block in p["sweep"] for n in block["n_bw"]
                         for a in block["a_bits"] for e in block["encoding"]},
                        key=lambda t: (t[1], ENCODINGS.index(t[2]), t[0]))
        return cls(points=tuple(points), batches=tuple(sorted(p["batch"])),
                   prt_entries=tuple(sorted(p["prt_entries"])),
                   detail=tuple((int(d["n_bw"]), int(d["a_bits"]), str(e)) for d in p["detail"]
                                for e in d["encoding"]),
                   order_entries=tuple(p["order_entries"]))


@dataclass
class PatternProfiler:
    grid: ProfileGrid
    quantize: object  # (x (N, K) f32, a_bits) -> (X int (N, K), s_x (N,)), e.g. sail.quant.act.quantize_activations
    hist: dict = field(default_factory=dict)  # (lt, n_bw, a, enc) -> (a, 2**n_bw) counts
    sweeps: dict = field(default_factory=dict)  # (lt, n_bw, a, enc) -> prt.LruSweep
    literal: dict = field(default_factory=lambda: defaultdict(lambda: prt.PrtCounts(0, 0, 0)))
    layers: dict = field(default_factory=lambda: defaultdict(int))  # lt -> layers added
    reused: int = 0  # layers whose input equalled the previous layer's (counters reused, not recomputed)
    _last: tuple = (None, None)  # (digest of the previous input, its per-layer counters)

    def add(self, layer_type: str, x: np.ndarray) -> None:
        """Profile the (N, K) float inputs of one layer; rows are tokens in batch order.

        q, k and v (and gate and up) read the same tensor, so an input byte-identical to the
        previous call's reuses its counters instead of recomputing them (same numbers, less time).
        """
        if layer_type not in LAYER_TYPES:
            raise ValueError(f"layer_type must be one of {LAYER_TYPES}, got {layer_type!r}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        digest = (x.shape, hashlib.blake2b(x.tobytes(), digest_size=16).digest())
        if digest == self._last[0]:
            contrib = self._last[1]
            self.reused += 1
        else:
            contrib = self._profile(x)
            self._last = (digest, contrib)
        self.layers[layer_type] += 1
        for point, (h, s, lit) in contrib.items():
            key = (layer_type,) + point
            self.hist[key] = self.hist[key] + h if key in self.hist else h
            self.sweeps[key] = self.sweeps[key] + s if key in self.sweeps else s
            for cfg, c in lit.items():
                self.literal[key + cfg] += c

    def _profile(self, x: np.ndarray) -> dict:
        """(n_bw, a_bits, encoding) -> (plane histogram, LruSweep, {literal config: PrtCounts}) of one layer."""
        g = self.grid
        out = {}
        for a_bits in g.a_bits:
            X, _ = self.quantize(x, a_bits)
            for n_bw, a, enc in g.points:
                if a != a_bits:
                    continue
                P = extract_patterns(X, n_bw, a_bits, enc, pad=True)
                lit = self._detail(n_bw, a_bits, P) if (n_bw, a_bits, enc) in g.detail else {}
                out[(n_bw, a_bits, enc)] = (plane_histogram(P, n_bw),
                                            prt.lru_sweep(P, n_bw, g.batches, max(g.prt_entries)), lit)
        return out

    def _detail(self, n_bw: int, a_bits: int, P: np.ndarray) -> dict:
        g = self.grid
        configs = []  # (batch, entries, policy, zero_skip, order) where a literal simulation is needed
        for batch in g.batches:
            for entries in g.prt_entries:
                if not prt.fifo_equals_lru(n_bw, a_bits, batch, entries):
                    configs += [(batch, entries, "fifo", zs, "token_major") for zs in (False, True)]
            for entries in g.order_entries:
                if not prt.fifo_equals_lru(n_bw, a_bits, batch, entries):  # else no order can differ
                    configs += [(batch, entries, policy, False, "plane_major") for policy in prt.POLICIES]
        return {(batch, policy, entries, zs, order): c for (batch, entries, policy, zs, order), c
                in zip(configs, prt.simulate_prt_many(P, n_bw, configs))}

    # ---- tables ----------------------------------------------------------------------------
    def _counts(self, key, batch, policy, entries, zs, order="token_major") -> prt.PrtCounts:
        lt, n_bw, a_bits, enc = key
        lit = key + (batch, policy, entries, zs, order)
        if lit in self.literal:
            return self.literal[lit]
        no_eviction = prt.fifo_equals_lru(n_bw, a_bits, batch, entries)
        if (order == "token_major" and policy == "lru") or no_eviction:
            return self.sweeps[key].counts(batch, entries, zs)
        raise KeyError(f"configuration {lit} was not simulated")

    def _keys(self):
        return sorted(self.sweeps, key=lambda k: (LAYER_TYPES.index(k[0]), k[1], k[2], ENCODINGS.index(k[3])))

    def prt_hits_table(self) -> pd.DataFrame:
        """The simulator's input (schema in ``sail.profile``): LRU everywhere, FIFO at detail points."""
        rows = []
        g = self.grid
        for key in self._keys():
            lt, n_bw, a_bits, enc = key
            policies = prt.POLICIES if (n_bw, a_bits, enc) in g.detail else ("lru",)
            for batch in g.batches:
                for policy in policies:
                    for entries in g.prt_entries:
                        for zs in (False, True):
                            c = self._counts(key, batch, policy, entries, zs)
                            rows.append(dict(layer_type=lt, n_bw=n_bw, a_bits=a_bits, batch=batch, encoding=enc,
                                             policy=policy, prt_entries=entries, zero_skip=zs, lookups=c.lookups,
                                             zero_skips=c.zero_skips, prt_hits=c.prt_hits, sram_reads=c.sram_reads,
                                             avoided_fraction=c.avoided_fraction))
        return pd.DataFrame(rows)

    def order_table(self) -> pd.DataFrame:
        """token_major vs plane_major presentation order at the detail points (zero_skip False)."""
        rows = []
        g = self.grid
        for key in self._keys():
            lt, n_bw, a_bits, enc = key
            if (n_bw, a_bits, enc) not in g.detail:
                continue
            for batch in g.batches:
                for policy in prt.POLICIES:
                    for entries in g.order_entries:
                        for order in prt.ORDERS:
                            c = self._counts(key, batch, policy, entries, False, order)
                            rows.append(dict(layer_type=lt, n_bw=n_bw, a_bits=a_bits, batch=batch, encoding=enc,
                                             policy=policy, prt_entries=entries, order=order, lookups=c.lookups,
                                             prt_hits=c.prt_hits, avoided_fraction=c.avoided_fraction))
        return pd.DataFrame(rows)

    def planes_table(self) -> pd.DataFrame:
        """Per bit-plane: zero fraction, entropy (bits) and mean distinct patterns per (group, batch)."""
        rows = []
        for key in self._keys():
            lt, n_bw, a_bits, enc = key
            h = self.hist[key]
            ent = entropy_bits(h)
            for i in range(a_bits):
                row = dict(layer_type=lt, n_bw=n_bw, a_bits=a_bits, encoding=enc, plane=i,
                           presentations=int(h[i].sum()), zero_fraction=h[i, 0] / h[i].sum(),
                           entropy_bits=ent[i], max_entropy_bits=float(n_bw))
                rows.append(row)
        return pd.DataFrame(rows)

    def distinct_table(self) -> pd.DataFrame:
        """Mean distinct patterns per (LUT group, batch): on each plane and over the whole PRT stream."""
        rows = []
        for key in self._keys():
            lt, n_bw, a_bits, enc = key
            s = self.sweeps[key]
            for b, batch in enumerate(s.batches):
                n_lifetimes = s.lookups // (batch * a_bits)  # (group, batch) pairs over all layers
                rows.append(dict(layer_type=lt, n_bw=n_bw, a_bits=a_bits, encoding=enc, batch=batch, plane="all",
                                 mean_distinct=s.cold[b, 0] / n_lifetimes,
                                 max_distinct=min(1 << n_bw, batch * a_bits)))
                for i in range(a_bits):
                    rows.append(dict(layer_type=lt, n_bw=n_bw, a_bits=a_bits, encoding=enc, batch=batch,
                                     plane=str(i), mean_distinct=s.distinct_plane[b, i] / n_lifetimes,
                                     max_distinct=min(1 << n_bw, batch)))
        return pd.DataFrame(rows)

    def histogram_table(self) -> pd.DataFrame:
        """Pattern counts per (layer type, n_bw, a_bits, encoding, plane); zero counts included."""
        parts = []
        for key in self._keys():
            lt, n_bw, a_bits, enc = key
            h = self.hist[key]
            planes, pats = np.meshgrid(np.arange(a_bits), np.arange(1 << n_bw), indexing="ij")
            parts.append(pd.DataFrame(dict(layer_type=lt, n_bw=n_bw, a_bits=a_bits, encoding=enc,
                                           plane=planes.ravel(), pattern=pats.ravel(), count=h.ravel())))
        return pd.concat(parts, ignore_index=True)
