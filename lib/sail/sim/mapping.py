"""SAIL's explicit mapping of a GEMV onto the C-SRAM arrays, and the one resource description that the
timing model (:mod:`sail.sim.engine`), the area model (:mod:`sail.sim.area`) and the event-level
simulator (:mod:`sail.sim.csram`) all read.

Layout (what one array holds)
-----------------------------
W is M x K (``w_bits``-bit unsigned codes), the batch is ``batch`` tokens of ``a_bits``-bit activations.

- K is cut into ``G = ceil(K / n_bw)`` LUT groups (zero-padded). A **table entry** is the sum of a subset
  of ``n_bw`` codes: ``entry_bits = ceil(log2(n_bw (2**w_bits - 1) + 1))``.
- A **table row** (one C-SRAM row, ``cols`` bit lines) holds the entries of ``epr = floor(cols /
  entry_bits)`` consecutive output rows ("a slab") for the same pattern ``p``; a **block** is the
  ``2**n_bw`` rows of one (slab, group) pair. One row read serves all ``epr`` outputs of the slab.
- Blocks are ordered slab-major, ``(s, j) -> s * G + j``, and cut into contiguous chunks of
  ``q = ceil(blocks / arrays)`` blocks, array ``a`` taking chunk ``a`` (slice ``a // arrays_per_slice``).
  When a slab's ``G`` blocks span several arrays, K is split: those arrays produce **partial sums**
  that are added in a binary tree (``ceil(log2 P)`` levels for ``P`` contributors) ending at the slab's
  **home array** (the one holding its first block), which converts the outputs. Arrays beyond
  ``ceil(blocks / q)`` are **idle**.
- An array holds ``cap = floor(rows / 2**n_bw)`` blocks at a time; its chunk runs in ``ceil(q / cap)``
  **residency rounds** (tables are built once per round and serve every token).
- **Accumulators** sit in a register file beside the array: ``acc_tokens x acc_lanes`` accumulators of
  ``acc_bits`` (``dfm.*``). A slab needs ``epr`` accumulators per token, so ``tokens_per_pass =
  floor(acc_tokens acc_lanes / epr)`` tokens are processed at a time; a larger batch runs
  ``ceil(batch / tokens_per_pass)`` **token passes** over each round's resident tables, and partial
  sums of a slab that continues into the next round are **spilled** and reloaded once per pass.
  An accumulator narrower than the sum needs, or a table wider than the array, raises ``ValueError``.
- The **PRT** (``prt_scope``): ``per_array`` -- one table per array; its stream is one block's
  ``tokens_per_pass x a_bits`` patterns at a time (flushed at every block visit: the cached rows belong
  to that block's table) -- this is the per-LUT-group scope of the profiling stage; ``per_slice`` -- one
  table per slice shared by the slice's arrays, their streams interleaved, keyed on (array, pattern).
- ``table_build = bit_parallel`` (default) builds **in the lookup layout**: singleton rows (the weights) and
  the zero row are written, and every other row is ``T[p] = T[p - lowbit(p)] + T[lowbit(p)]`` (two row reads,
  one pass through the near-array adders, one row write); no bit-serial -> bit-parallel transpose is needed.
  ``bit_serial`` builds ``floor(cols / epr)`` blocks at once with bit-serial adds over every bit line (one
  table per column, in a working area of ``2**n_bw x entry_bits`` rows that is taken from the resident
  tables) and then **transposes** every entry row into the lookup layout (``entry_bits + 2`` cycles each).

Shortcuts (each labelled where it is used; docs/simulator.md lists them all)
---------------------------------------------------------------------------
- SHORTCUT(pad): K is padded to a multiple of ``n_bw`` and M to a multiple of ``epr`` with zero codes.
- SHORTCUT(weight-gather): the loader delivers each block's ``n_bw`` codes per output row as one row write;
  re-packing the row-major weight stream into blocks is not charged.
- SHORTCUT(dfm-transpose): the DFM turns ``n_bw`` activation codes into ``a_bits`` bit-plane patterns (the
  bit-parallel -> bit-serial transpose of the activations) in a pipeline that keeps pace with one lookup per
  cycle; its cycles are hidden.
- SHORTCUT(spill-target): spilled partial sums go to the slice's other LLC ways at one row per cycle.
- SHORTCUT(shared-prt-ports): a per-slice PRT answers every array of its slice in the same cycle (one search
  port per array); its area is charged as storage only.
- SHORTCUT(contributors): the analytical model takes the largest number of arrays sharing one slab from the
  worst offset ``q - gcd(G, q)``; the event-level simulator counts every slab (an upper bound, exact when
  every offset occurs; tested).

Every function is numpy-broadcasting: shapes ``(L, 1)`` for layers and ``(N,)`` for design points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRT_SCOPES = ("per_array", "per_slice")
TABLE_BUILDS = ("bit_parallel", "bit_serial")


def _ceil_log2(x):
    return np.ceil(np.log2(np.maximum(x, 1)))


@dataclass(frozen=True)
class SailResources:
    """The hardware SAIL provisions, from one description (fields may be arrays in a sweep).

    Timing reads the counts and widths; area multiplies the same counts by per-unit areas
    (:func:`sail.sim.area.area_breakdown`), so what is timed is what is paid for.
    """

    slices: np.ndarray
    arrays_per_slice: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    n_bw: np.ndarray
    prt_scope: str
    table_build: str  # bit_parallel (in the lookup layout) or bit_serial (then transposed)
    prt_entries: np.ndarray
    prt_entry_bits: np.ndarray
    acc_lanes: np.ndarray  # near-array adders (and accumulators per token) per array
    acc_tokens: np.ndarray  # tokens whose accumulators the register file holds at once
    acc_bits: np.ndarray  # width of one accumulator register / adder

    @property
    def arrays(self):
        return self.slices * self.arrays_per_slice

    @property
    def prt_tables(self):
        """How many PRTs the chip has under ``prt_scope``."""
        return self.arrays if self.prt_scope == "per_array" else self.slices

    @property
    def prt_bits(self):
        return self.prt_tables * self.prt_entries * self.prt_entry_bits

    @property
    def acc_register_bits(self):
        """Accumulator register bits on the chip (every array)."""
        return self.arrays * self.acc_tokens * self.acc_lanes * self.acc_bits

    @property
    def adders(self):
        return self.arrays * self.acc_lanes


def resources_from_params(p: dict, opts: dict) -> SailResources:
    """:class:`SailResources` from a flat parameter dict (``hw.values()`` plus sweep overrides)."""
    scope = str(opts.get("prt_scope", "per_array"))
    if scope not in PRT_SCOPES:
        raise ValueError(f"prt_scope must be one of {PRT_SCOPES}, got {scope!r}")
    build = str(opts.get("table_build", "bit_parallel"))
    if build not in TABLE_BUILDS:
        raise ValueError(f"table_build must be one of {TABLE_BUILDS}, got {build!r}")
    f = lambda k: np.asarray(p[k], dtype=float)  # noqa: E731
    return SailResources(
        slices=f("llc.slices"),
        arrays_per_slice=f("csram.arrays_per_slice"),
        rows=f("csram.rows"),
        cols=f("csram.cols"),
        n_bw=f("csram.n_bw"),
        prt_scope=scope,
        table_build=build,
        prt_entries=f("dfm.prt_entries"),
        prt_entry_bits=f("dfm.prt_entry_bits"),
        acc_lanes=f("dfm.acc_lanes"),
        acc_tokens=f("dfm.acc_tokens"),
        acc_bits=f("dfm.acc_bits"),
    )


def sail_resources(hw) -> SailResources:
    """The resources of one loaded SAIL description (:class:`sail.sim.hw.HwConfig`)."""
    if hw.system != "sail":
        raise ValueError(f"sail_resources needs a sail description, got system {hw.system!r}")
    return resources_from_params(hw.values(), {k: v.value for k, v in hw.options.items()})


@dataclass(frozen=True)
class GemvMapping:
    """Where one GEMV (or a broadcast batch of them) lives on the arrays; every field is an array."""

    m: np.ndarray
    k: np.ndarray
    batch: np.ndarray
    a_bits: np.ndarray
    w_bits: np.ndarray
    n_bw: np.ndarray
    entry_bits: np.ndarray  # bits of one table entry
    epr: np.ndarray  # entries (output rows) per table row = slab height
    slabs: np.ndarray  # S = ceil(M / epr)
    groups: np.ndarray  # G = ceil(K / n_bw) LUT groups
    blocks: np.ndarray  # S * G tables blocks of 2**n_bw rows
    blocks_per_array: np.ndarray  # q: the largest chunk (the critical array's)
    busy_arrays: np.ndarray  # arrays holding at least one block
    idle_arrays: np.ndarray
    imbalance: np.ndarray  # q / (blocks / arrays): critical array vs a perfect spread
    resident_blocks: np.ndarray  # cap = floor(rows / 2**n_bw) blocks built at a time
    lut_rows_used: np.ndarray  # rows of the critical array's fullest round
    rounds: np.ndarray  # ceil(q / cap) residency rounds
    acc_bits_needed: np.ndarray  # bits of a full-K accumulator
    tokens_per_pass: np.ndarray
    token_passes: np.ndarray
    acc_bits_per_token: np.ndarray  # epr * acc_bits: register bits one token uses
    contributors_max: np.ndarray  # P: arrays adding partial sums into one slab (max over slabs)
    slabs_homed_max: np.ndarray  # slabs whose reduction/output one array hosts (max)
    adder_passes: np.ndarray  # ceil(epr / acc_lanes): adder cycles per row-wide add
    build_batches: np.ndarray  # bit-serial build: column-parallel batches of floor(cols / epr) blocks


def gemv_mapping(res: SailResources, m, k, w_bits, a_bits, batch) -> GemvMapping:
    """The mapping of an (M x K) ``w_bits`` GEMV with ``batch`` tokens of ``a_bits`` onto ``res``.

    Raises ``ValueError`` when it cannot run: a table block taller than the array, a table entry wider
    than a row, an accumulator narrower than the sum, or no room for one token's accumulators.
    """
    m, k, w_bits, a_bits, batch = (np.asarray(x, dtype=float) for x in (m, k, w_bits, a_bits, batch))
    n_bw = res.n_bw
    table_rows = 2.0**n_bw
    if np.any(table_rows > res.rows):
        raise ValueError(f"a 2**n_bw-row table (n_bw={n_bw}) does not fit an array of {res.rows} rows")
    entry_bits = _ceil_log2(n_bw * (2.0**w_bits - 1) + 1)
    epr = np.floor(res.cols / entry_bits)
    if np.any(epr < 1):
        raise ValueError(f"a {entry_bits}-bit table entry is wider than a {res.cols}-bit row")
    slabs = np.ceil(m / epr)
    groups = np.ceil(k / n_bw)
    blocks = slabs * groups
    arrays = res.arrays
    q = np.ceil(blocks / arrays)
    busy = np.ceil(blocks / q)
    # A bit-serial build needs a working area of one vertical table per column (2**n_bw entries of entry_bits
    # rows) beside the resident lookup tables.
    work_rows = table_rows * entry_bits if res.table_build == "bit_serial" else 0.0 * table_rows
    cap = np.floor((res.rows - work_rows) / table_rows)
    if np.any(cap < 1):
        raise ValueError(
            f"a bit-serial table build needs {work_rows} working rows plus one {table_rows}-row table; "
            f"the array has {res.rows} rows"
        )
    rounds = np.ceil(q / cap)
    acc_needed = entry_bits + a_bits + _ceil_log2(groups)
    if np.any(acc_needed > res.acc_bits):
        raise ValueError(
            f"sums need {acc_needed} accumulator bits but dfm.acc_bits is {res.acc_bits} "
            f"(entry_bits + a_bits + log2(K/n_bw))"
        )
    tpp_cap = np.floor(res.acc_tokens * res.acc_lanes / epr)
    if np.any(tpp_cap < 1):
        raise ValueError(
            f"one token needs {epr} accumulators but the register file holds {res.acc_tokens * res.acc_lanes}"
        )
    tpp = np.minimum(batch, tpp_cap)
    passes = np.ceil(batch / tpp)
    # Arrays contributing to one slab: a G-block interval at offset o (mod q) meets ceil((o + G) / q) chunks;
    # the largest offset a slab start s*G can have mod q is q - gcd(G, q).
    qi, gi = q.astype(np.int64), groups.astype(np.int64)
    g = np.gcd(gi, qi).astype(float)
    contributors = np.minimum(np.ceil((groups + q - g) / q), busy)
    homed = np.ceil(q / groups)  # a chunk of q blocks starts at most ceil(q / G) slabs
    return GemvMapping(
        m=m,
        k=k,
        batch=batch,
        a_bits=a_bits,
        w_bits=w_bits,
        n_bw=n_bw + 0 * m,
        entry_bits=entry_bits,
        epr=epr,
        slabs=slabs,
        groups=groups,
        blocks=blocks,
        blocks_per_array=q,
        busy_arrays=busy,
        idle_arrays=arrays - busy,
        imbalance=q / (blocks / arrays),
        resident_blocks=cap + 0 * q,
        lut_rows_used=np.minimum(q, cap) * table_rows,
        rounds=rounds,
        acc_bits_needed=acc_needed,
        tokens_per_pass=tpp,
        token_passes=passes,
        acc_bits_per_token=epr * res.acc_bits,
        contributors_max=contributors,
        slabs_homed_max=homed,
        adder_passes=np.ceil(epr / res.acc_lanes),
        build_batches=build_batches(q, cap, np.floor(res.cols / epr)),
    )


def build_batches(q, cap, per_batch):
    """Column-parallel bit-serial build batches of the critical array: every residency round builds its
    blocks ``per_batch`` at a time (a batch never straddles rounds)."""
    rounds = np.ceil(q / cap)
    last = q - (rounds - 1) * cap
    return (rounds - 1) * np.ceil(cap / per_batch) + np.ceil(last / per_batch)


@dataclass(frozen=True)
class CommandCosts:
    """Cycles of one command on one array (C-SRAM clock). Built from the description by
    :func:`command_costs`; the analytical model and the event-level simulator use the same object."""

    read: np.ndarray  # one row read
    write: np.ndarray  # one row write
    add_row: np.ndarray  # one row-wide add through the adders (build, reduction)
    accumulate: np.ndarray  # one shift-accumulate of a looked-up row into the token's accumulators
    overlap_read_accumulate: np.ndarray  # 1: a read and the previous accumulate overlap
    convert: np.ndarray  # one in-array FP <-> int conversion over the bit lines
    transfer: np.ndarray  # moving one token's partial-sum vector between arrays (C-SRAM cycles)
    bs_add: np.ndarray  # bit-serial add of two entry_bits operands over all bit lines (op profile)
    transpose: np.ndarray  # one bit-serial -> bit-parallel conversion of a row of entries: entry_bits + 2


def command_costs(p: dict, opts: dict, mp: GemvMapping, res: SailResources) -> CommandCosts:
    from sail.sim import profiles

    profile, style = opts["op_profile"], opts["accumulate_style"]
    if style not in ("near_array", "bit_serial"):
        raise ValueError(f"accumulate_style must be near_array or bit_serial, got {style!r}")
    if style == "near_array":
        add_row = mp.adder_passes * p["csram.accumulate_cycles"]
        acc = add_row
    else:  # bit-serial adds of the operands' width on the array's bit lines (all entries in parallel)
        add_row = profiles.add_cycles(profile, mp.entry_bits)
        acc = profiles.add_cycles(profile, mp.acc_bits_needed)
    vec_bytes = mp.epr * res.acc_bits / 8.0
    transfer = np.ceil(vec_bytes / p["noc.link_bytes_per_cycle"]) * p["csram.clock_ghz"] / p["noc.clock_ghz"]
    return CommandCosts(
        read=np.asarray(p["csram.read_cycles"], float),
        write=np.asarray(p["csram.write_cycles"], float),
        add_row=add_row + 0 * mp.m,
        accumulate=acc + 0 * mp.m,
        overlap_read_accumulate=np.asarray(p["csram.overlap_read_accumulate"], float),
        convert=profiles.convert_cycles(profile, mp.a_bits),
        transfer=transfer + 0 * mp.m,
        bs_add=profiles.add_cycles(profile, mp.entry_bits) + 0 * mp.m,
        transpose=mp.entry_bits + 2,
    )


def lookup_cycles(c: CommandCosts, hit, zero_skip=0.0):
    """Cycles of one lookup: a miss reads then accumulates, a hit (PRT) only accumulates, a zero skip is free.

    SHORTCUT(prt-hit): a hit still pays its accumulate (the reused row must be added).
    """
    ovl = c.overlap_read_accumulate
    miss_cost = ovl * np.maximum(c.read, c.accumulate) + (1 - ovl) * (c.read + c.accumulate)
    return (1 - zero_skip - hit) * miss_cost + hit * c.accumulate


def build_cycles_per_block(mp: GemvMapping, c: CommandCosts):
    """Bit-parallel build: weight rows written (n_bw singletons + the zero row), then 2**n_bw - n_bw - 1 built
    rows, each two row reads, one row-wide add and one row write."""
    built = 2.0**mp.n_bw - mp.n_bw - 1
    return (mp.n_bw + 1) * c.write + built * (2 * c.read + c.add_row + c.write)


def build_cycles_per_batch(mp: GemvMapping, c: CommandCosts):
    """Bit-serial build of ``floor(cols / epr)`` blocks at once (one table per column): the n_bw singleton and
    the zero entries written bit by bit (entry_bits rows each), 2**n_bw - n_bw - 1 bit-serial adds over all
    bit lines, then every entry row transposed into the lookup layout (Meta-PIM's BS -> BP cost, p + 2 cycles
    for p-bit elements; github.com/Ssicayoon/meta-pim src/prepare_kernel_cost_model.py)."""
    built = 2.0**mp.n_bw - mp.n_bw - 1
    return (mp.n_bw + 1) * mp.entry_bits * c.write + built * c.bs_add + 2.0**mp.n_bw * c.transpose


def build_cycles(mp: GemvMapping, res: SailResources, c: CommandCosts):
    """Table-build cycles of the critical array under the resources' ``table_build``."""
    if res.table_build == "bit_serial":
        return mp.build_batches * build_cycles_per_batch(mp, c)
    return mp.blocks_per_array * build_cycles_per_block(mp, c)


def reduce_levels(contributors):
    """Levels of the binary reduction tree over ``contributors`` partial sums (0 when K is not split)."""
    return np.ceil(np.log2(np.maximum(contributors, 1)))


def spill_rows(mp: GemvMapping, res: SailResources, tokens):
    """Rows of one spill (or reload) of ``tokens`` tokens' partial sums of one slab."""
    return np.ceil(tokens * mp.epr * res.acc_bits / res.cols)


def analytical_cycles(mp: GemvMapping, res: SailResources, c: CommandCosts, zero_frac=0.0, hit_frac=0.0) -> dict:
    """Closed-form cycles of the critical array (the one with ``q`` blocks), per component.

    Timeline: every array converts its share of the activations, builds each round's tables and runs the
    lookups; after the slowest array, the home arrays reduce the partial sums and convert the outputs.
    ``zero_frac``/``hit_frac`` are the average fractions of lookups skipped / served by the PRT.
    """
    q, b = mp.blocks_per_array, mp.batch
    build = build_cycles(mp, res, c)
    lookups = q * b * mp.a_bits  # every token of the batch visits every block of the array once
    miss_cost = c.overlap_read_accumulate * np.maximum(c.read, c.accumulate) + (1 - c.overlap_read_accumulate) * (
        c.read + c.accumulate
    )
    read_part = lookups * (1 - zero_frac - hit_frac) * (miss_cost - c.accumulate)
    acc_part = lookups * (1 - zero_frac) * c.accumulate
    # Spills: with several token passes, a slab that continues past a round boundary is stored after and
    # reloaded before every pass; each of the rounds - 1 boundaries costs both, for every pass.
    multi = (mp.token_passes > 1).astype(float)
    spill = multi * (mp.rounds - 1) * mp.token_passes * spill_rows(mp, res, mp.tokens_per_pass) * (c.read + c.write)
    # Reduction: a binary tree over the P contributors, ceil(log2 P) levels; at each level a receiving array
    # takes one vector per token over the mesh and adds it.
    reduce = reduce_levels(mp.contributors_max) * b * (c.add_row + c.transfer)
    conv_in = np.ceil(b * mp.k / (mp.busy_arrays * res.cols)) * c.convert
    conv_out = np.ceil(mp.slabs_homed_max * b * mp.epr / res.cols) * c.convert
    return {
        "build": build + 0 * read_part,
        "lookup": read_part,
        "accumulate": acc_part + spill,
        "spill": spill + 0 * read_part,
        "reduce": reduce + 0 * read_part,
        "convert": conv_in + conv_out + 0 * read_part,
        "lookups": lookups + 0 * read_part,
    }


def describe(mp: GemvMapping, res: SailResources) -> dict:
    """Scalar summary of one mapping (first element of every field), for tables and the docs."""
    first = lambda x: float(np.asarray(x).reshape(-1)[0])  # noqa: E731
    d = {k: first(getattr(mp, k)) for k in mp.__dataclass_fields__}
    d["prt_scope"] = res.prt_scope
    d["prt_tables"] = first(res.prt_tables)
    d["acc_register_bits_per_array"] = first(res.acc_tokens * res.acc_lanes * res.acc_bits)
    return d


def array_chunks(n_blocks: int, q: int, arrays: int) -> list[tuple[int, int]]:
    """``[(first_block, end_block)]`` of every array (empty ranges for idle arrays); slab-major block ids
    ``s * G + j`` (slab ``s``, LUT group ``j``)."""
    return [(min(a * q, n_blocks), min((a + 1) * q, n_blocks)) for a in range(arrays)]


def _holds(b0: int, b1: int, groups: int) -> str:
    if b1 <= b0:
        return "idle"
    s0, j0 = divmod(b0, groups)
    s1, j1 = divmod(b1 - 1, groups)
    return f"slab {s0} group {j0} .. slab {s1} group {j1}"


def mapping_table(res: SailResources, shapes, w_bits: int, a_bits: int, batches) -> list[dict]:
    """One row per (layer shape, batch): the mapping's numbers and what the first array of the first and the
    last slice hold. ``shapes``: ``(model, layer_type, M, K)`` tuples."""
    rows = []
    for model, layer_type, m, k in shapes:
        for batch in batches:
            mp = gemv_mapping(res, m, k, w_bits, a_bits, batch)
            d = describe(mp, res)
            n_blocks, q, g = int(d["blocks"]), int(d["blocks_per_array"]), int(d["groups"])
            per = int(np.asarray(res.arrays_per_slice).reshape(-1)[0])
            chunks = array_chunks(n_blocks, q, int(np.asarray(res.arrays).reshape(-1)[0]))
            last = len(chunks) - per
            rows.append(
                {"model": model, "layer_type": layer_type}
                | d
                | {
                    "slice0_array0_holds": _holds(*chunks[0], g),
                    "last_slice_array0_holds": _holds(*chunks[last], g),
                    "lut_rows_per_block": 2 ** int(d["n_bw"]),
                }
            )
    return rows


def prt_stream_tokens(res: SailResources, w_bits, batch):
    """Tokens in one PRT lifetime: a block visit streams ``tokens_per_pass`` tokens' patterns, then the PRT
    moves on to the next block, so hit rates are those of a batch of ``min(batch, tokens_per_pass)``."""
    entry_bits = _ceil_log2(res.n_bw * (2.0 ** np.asarray(w_bits, float) - 1) + 1)
    epr = np.maximum(np.floor(res.cols / entry_bits), 1)  # an entry wider than a row is refused by gemv_mapping
    return np.minimum(np.asarray(batch, float), np.maximum(np.floor(res.acc_tokens * res.acc_lanes / epr), 1))


def chip_command_counts(mp: GemvMapping, res: SailResources, zero_frac=0.0, hit_frac=0.0) -> dict:
    """Chip-wide command counts of one GEMV (every array, not only the critical one), for energy models:
    C-SRAM row reads and writes, row-wide adder operations, PRT probes, partial-sum vectors moved.

    SHORTCUT(spill-count): spills are counted as on the critical array times the busy arrays.
    """
    built = 2.0**mp.n_bw - mp.n_bw - 1
    lookups = mp.blocks * mp.batch * mp.a_bits
    probes = lookups * (1 - zero_frac)
    if res.table_build == "bit_serial":
        # bit-serial adds as row operations (two operand rows read, one sum row written per bit), then the
        # transpose reads every entry's rows and writes them in the lookup layout
        batches = np.ceil(mp.blocks / np.floor(res.cols / mp.epr))
        e = mp.entry_bits
        build_reads = batches * (built * 2 * e + 2.0**mp.n_bw * e)
        build_writes = batches * ((mp.n_bw + 1) * e + built * e + 2.0**mp.n_bw * e)
        build_adds = 0.0 * lookups
    else:
        build_reads = mp.blocks * built * 2
        build_writes = mp.blocks * (built + mp.n_bw + 1)
        build_adds = mp.blocks * built * mp.adder_passes
    multi = (mp.token_passes > 1).astype(float)
    spill = multi * (mp.rounds - 1) * mp.token_passes * spill_rows(mp, res, mp.tokens_per_pass) * mp.busy_arrays
    vectors = np.maximum(mp.busy_arrays - mp.slabs, 0) * mp.batch  # partial sums beyond one per slab
    return {
        "row_reads": build_reads + lookups * (1 - zero_frac - hit_frac) + spill,
        "row_writes": build_writes + spill,
        "adder_ops": build_adds + probes * mp.adder_passes + vectors * mp.adder_passes,
        "prt_probes": probes,
        "partial_sum_vectors": vectors,
    }
