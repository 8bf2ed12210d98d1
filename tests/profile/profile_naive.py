"""Slow, obvious twins of sail.profile (plain Python loops and collections), for the tests."""

from __future__ import annotations

import math
from collections import OrderedDict, deque


def code_bits(x: int, a_bits: int, encoding: str) -> list[int]:
    """Bit i of the a_bits-bit word of integer x, i = 0 (LSB) .. a_bits-1."""
    if encoding == "twos_complement":
        assert -(2 ** (a_bits - 1)) <= x <= 2 ** (a_bits - 1) - 1
        word = x + 2**a_bits if x < 0 else x
        return [(word >> i) & 1 for i in range(a_bits)]
    assert abs(x) <= 2 ** (a_bits - 1) - 1
    mag = [(abs(x) >> i) & 1 for i in range(a_bits - 1)]
    return mag + [1 if x < 0 else 0]


def extract_patterns(X, n_bw: int, a_bits: int, encoding: str = "twos_complement"):
    """Nested list P[n][j][i]; K is padded with zero channels up to a multiple of n_bw."""
    out = []
    for row in X:
        row = [int(v) for v in row]
        row += [0] * ((-len(row)) % n_bw)
        groups = []
        for j in range(len(row) // n_bw):
            bits = [code_bits(row[j * n_bw + t], a_bits, encoding) for t in range(n_bw)]
            groups.append([sum(bits[t][i] << t for t in range(n_bw)) for i in range(a_bits)])
        out.append(groups)
    return out


def streams(P, batch: int, order: str):
    """For each group, a list of batch streams (lists of patterns) in presentation order."""
    n_tok, n_groups, a_bits = len(P), len(P[0]), len(P[0][0])
    result = []
    for j in range(n_groups):
        per_batch = []
        for b0 in range(0, n_tok, batch):
            toks = range(b0, b0 + batch)
            if order == "token_major":
                per_batch.append([P[n][j][i] for n in toks for i in range(a_bits)])
            else:
                per_batch.append([P[n][j][i] for i in range(a_bits) for n in toks])
        result.append(per_batch)
    return result


def prt_counts(P, batch: int, entries: int, policy: str, zero_skip: bool, order: str = "token_major"):
    """(lookups, zero_skips, prt_hits) of an LRU/FIFO table of `entries`, empty at every batch."""
    lookups = zero_skips = hits = 0
    for per_batch in streams(P, batch, order):
        for stream in per_batch:
            table = OrderedDict() if policy == "lru" else deque()
            for p in stream:
                lookups += 1
                if zero_skip and p == 0:
                    zero_skips += 1
                    continue
                if p in table:
                    hits += 1
                    if policy == "lru":
                        table.move_to_end(p)
                    continue
                if len(table) == entries:
                    if policy == "lru":
                        table.popitem(last=False)
                    else:
                        table.popleft()
                if policy == "lru":
                    table[p] = True
                else:
                    table.append(p)
    return lookups, zero_skips, hits


def distinct_per_batch(P, batch: int):
    """Sum over (group, batch) of the number of distinct patterns in the batch stream."""
    return sum(len(set(s)) for per_batch in streams(P, batch, "token_major") for s in per_batch)


def distinct_per_plane(P, batch: int):
    """List over planes: sum over (group, batch) of distinct patterns on that plane."""
    n_tok, n_groups, a_bits = len(P), len(P[0]), len(P[0][0])
    return [sum(len({P[n][j][i] for n in range(b0, b0 + batch)})
                for j in range(n_groups) for b0 in range(0, n_tok, batch)) for i in range(a_bits)]


def entropy_bits(counts) -> float:
    total = sum(counts)
    return -sum(c / total * math.log2(c / total) for c in counts if c) if total else 0.0
