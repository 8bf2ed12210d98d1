"""The paper's abstract claims (its values as numbers, defined here and nowhere else) and the one
verdict policy every stage applies to them.

Each stage that can test a claim writes ``results/<experiment>/claims/<claim_id>.csv`` with one
row in the :data:`COLUMNS` layout; ``tab04_claims`` only concatenates those files, so no value in
the claims table is typed in by hand. The paper's values live in :data:`PAPER_CLAIMS` as floats;
the claim text is a template filled from the value, so ``grep`` finds each number once.

The policy (docs/claims.md):

* :func:`verdict` compares our value with the paper's under one relative tolerance ``rel_tol``
  (``claims.rel_tol`` in ``config/config.yaml``, the same for every stage) and answers with one
  word of :data:`VERDICTS`:

  - ``reproduced``: within ``rel_tol`` of the paper's value;
  - ``exceeded``: beyond the tolerance on the optimistic side (a larger speedup or saving, a
    smaller area overhead): the model is more favourable to SAIL than the paper, which is a
    finding about the model, not a confirmation;
  - ``not reproduced``: beyond the tolerance on the pessimistic side everywhere we looked;
  - ``holds only when``: the paper's value is reached (reproduced or exceeded) in part of the
    region, or only outside the default configuration (e.g. in the sensitivity grid);
  - ``not testable``: no data to judge (a missing profile point); never produced by
    :func:`verdict`, only by a stage that has nothing to compare.

* "up to N" claims are judged on our maximum over the default region; point claims (the PRT's
  saving, the area overhead) are judged at every point of their region, and the row's verdict
  combines them (:func:`verdict` on an array).
* Every row names the region where the claim holds (``holds_where``): the configurations in which
  our value is at least as favourable as the paper's minus the tolerance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from sail.io import write_table

PAPER = "arXiv 2509.25853v1 (abstract)"


@dataclass(frozen=True)
class PaperClaim:
    """One abstract claim: its wording (a template with ``{}`` for the value) and its value as a number.

    ``kind``: ``up_to`` (the paper's value is a maximum over its configurations), ``point`` (a single
    value), or ``qualitative`` (no number; ``value`` is None). ``higher_is_better`` says which side is
    the optimistic one (False for an overhead).
    """

    template: str
    value: float | None
    unit: str  # "x", "%" or "" (qualitative)
    kind: str
    higher_is_better: bool = True
    label_if_qualitative: str = ""

    def __post_init__(self):
        if self.kind not in ("up_to", "point", "qualitative"):
            raise ValueError(f"kind must be up_to, point or qualitative, got {self.kind!r}")
        if (self.value is None) != (self.kind == "qualitative"):
            raise ValueError("a qualitative claim has no value; every other claim has one")

    @property
    def label(self) -> str:
        """The value as the paper prints it: ``<v>x`` for a factor, ``<v> %`` for a percentage."""
        if self.value is None:
            return self.label_if_qualitative
        return format_value(self.value, self.unit)

    @property
    def text(self) -> str:
        return self.template.format(self.label)


def format_value(value: float, unit: str) -> str:
    """``(1.5, "x")`` -> ``1.5x``; ``(12.5, "%")`` -> ``12.5 %`` (the ``%`` claims are stored in percent)."""
    v = f"{value:g}"
    return f"{v}x" if unit == "x" else f"{v} %" if unit == "%" else v


# claim_id -> the claim. Source of every value: arXiv 2509.25853v1, abstract.
PAPER_CLAIMS: dict[str, PaperClaim] = {
    "speedup_cpu": PaperClaim("up to {} speedup vs ARM Neoverse-N1 CPU baselines", 10.7, "x", "up_to"),
    "tpd_cpu": PaperClaim("up to {} higher tokens per dollar vs Neoverse-N1", 19.9, "x", "up_to"),
    "tpd_v100": PaperClaim("up to {} better cost efficiency than an NVIDIA V100", 7.04, "x", "up_to"),
    "prt_cycles": PaperClaim("Pattern-Aware LUT reduces computation cycles by {}", 13.8, "%", "point"),
    "area_overhead": PaperClaim("only {} hardware overhead and a single new instruction", 2.0, "%", "point",
                                higher_is_better=False),
    "arbitrary_precision": PaperClaim("arbitrary weight/activation precision with one LUT-GEMV datapath", None,
                                      "", "qualitative", label_if_qualitative="any w, a"),
    "type_conversion": PaperClaim("in-memory type conversion leverages PIM's parallelism for efficient "
                                  "de-/quantization, alleviating pressure on the CPU's vector units", None, "",
                                  "qualitative", label_if_qualitative="efficient, relieves the cores"),
}

REPRODUCED, EXCEEDED, NOT_REPRODUCED, HOLDS_ONLY_WHEN, NOT_TESTABLE = (
    "reproduced", "exceeded", "not reproduced", "holds only when", "not testable")
VERDICTS = (REPRODUCED, EXCEEDED, NOT_REPRODUCED, HOLDS_ONLY_WHEN, NOT_TESTABLE)

COLUMNS = ["claim_id", "claim", "paper_value", "our_value", "configuration", "verdict", "holds_where", "why"]


def paper_claim(claim_id: str) -> PaperClaim:
    try:
        return PAPER_CLAIMS[claim_id]
    except KeyError:
        raise ValueError(f"unknown claim_id {claim_id!r}; known: {sorted(PAPER_CLAIMS)}") from None


def paper_value(claim_id: str) -> float:
    """The paper's number for a claim (a factor for ``x`` claims; percent claims in percent)."""
    c = paper_claim(claim_id)
    if c.value is None:
        raise ValueError(f"claim {claim_id!r} is qualitative; it has no number")
    return c.value


def paper_fraction(claim_id: str) -> float:
    """A percent claim as a fraction (a 12.5 % claim -> 0.125)."""
    c = paper_claim(claim_id)
    if c.unit != "%":
        raise ValueError(f"claim {claim_id!r} is not a percentage (unit {c.unit!r})")
    return paper_value(claim_id) / 100.0


def paper_label(claim_id: str) -> str:
    return paper_claim(claim_id).label


def check_rel_tol(rel_tol: float) -> float:
    rel_tol = float(rel_tol)
    if not 0 <= rel_tol < 1:
        raise ValueError(f"rel_tol must be in [0, 1), got {rel_tol!r}")
    return rel_tol


def point_verdicts(ours, paper: float, rel_tol: float, higher_is_better: bool = True) -> np.ndarray:
    """The verdict of each value alone: reproduced, exceeded or not reproduced (array of str)."""
    rel_tol = check_rel_tol(rel_tol)
    if not (np.isfinite(paper) and paper > 0):
        raise ValueError(f"paper value must be finite and > 0, got {paper!r}")
    v = np.atleast_1d(np.asarray(ours, dtype=float))
    if v.size == 0:
        raise ValueError("no value to judge")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"our values must be finite, got {ours!r}")
    rel = v / paper - 1.0
    within = np.abs(rel) <= rel_tol + 1e-12
    optimistic = rel > 0 if higher_is_better else rel < 0
    return np.where(within, REPRODUCED, np.where(optimistic, EXCEEDED, NOT_REPRODUCED))


def holds(ours, paper: float, rel_tol: float, higher_is_better: bool = True) -> np.ndarray:
    """Where the paper's value is reached: reproduced or exceeded (boolean array)."""
    return point_verdicts(ours, paper, rel_tol, higher_is_better) != NOT_REPRODUCED


def verdict(ours, paper: float, rel_tol: float, higher_is_better: bool = True,
            holds_elsewhere: bool = False) -> str:
    """The one verdict policy (see the module docstring).

    ``ours`` is one value (an "up to" claim: our maximum over the default region) or an array (a
    point claim judged at every point of its region). ``holds_elsewhere``: the paper's value is
    reached outside the judged region (e.g. with non-default hardware in the sensitivity grid).

    * all points reproduced -> ``reproduced``; all reached and some exceeded -> ``exceeded``;
    * some reached, some not -> ``holds only when``;
    * none reached -> ``holds only when`` if ``holds_elsewhere`` else ``not reproduced``.
    """
    pv = point_verdicts(ours, paper, rel_tol, higher_is_better)
    reached = pv != NOT_REPRODUCED
    if reached.all():
        return REPRODUCED if (pv == REPRODUCED).all() else EXCEEDED
    if reached.any() or holds_elsewhere:
        return HOLDS_ONLY_WHEN
    return NOT_REPRODUCED


def qualitative_verdict(holds_at) -> str:
    """A claim without a number, judged at every point of its region (``holds_at``: booleans):
    everywhere -> reproduced, somewhere -> holds only when, nowhere -> not reproduced."""
    h = np.atleast_1d(np.asarray(holds_at, dtype=bool))
    if h.size == 0:
        raise ValueError("no point to judge")
    return REPRODUCED if h.all() else HOLDS_ONLY_WHEN if h.any() else NOT_REPRODUCED


def claim_holds(claim_id: str, ours, rel_tol: float) -> np.ndarray:
    """:func:`holds` with the paper's value and direction taken from :data:`PAPER_CLAIMS`."""
    c = paper_claim(claim_id)
    return holds(ours, paper_value(claim_id), rel_tol, c.higher_is_better)


def claim_verdict(claim_id: str, ours, rel_tol: float, holds_elsewhere: bool = False) -> str:
    """:func:`verdict` with the paper's value and direction taken from :data:`PAPER_CLAIMS`."""
    c = paper_claim(claim_id)
    return verdict(ours, paper_value(claim_id), rel_tol, c.higher_is_better, holds_elsewhere)


def _fmt_values(values) -> str:
    return "{" + ", ".join(str(v) for v in sorted(set(values), key=lambda v: (str(type(v)), v))) + "}"


def describe_region(region: pd.DataFrame, everything: pd.DataFrame, keys: list[str]) -> str:
    """Say which configurations ``region`` covers, naming only the keys it restricts.

    E.g. ``"12 of 96 configurations: batch in {1, 2}; w_bits in {2}"``; ``"nowhere in the 96
    configurations"`` when it is empty.
    """
    n, total = len(region), len(everything)
    if n == 0:
        return f"nowhere in the {total} configurations"
    parts = []
    for k in keys:
        inside, overall = set(region[k]), set(everything[k])
        if inside != overall:
            parts.append(f"{k} in {_fmt_values(inside)}")
    tail = "; ".join(parts) if parts else "every value of every key"
    # The per-key sets describe a box; say so when the region is smaller than the box they span.
    box = np.ones(total, dtype=bool)
    for k in keys:
        box &= everything[k].isin(set(region[k])).to_numpy()
    short = int(box.sum()) - n
    if short > 0:
        tail += f" (not at {short} other configuration{'s' if short > 1 else ''} with these values)"
    return f"{n} of {total} configurations: {tail}"


@dataclass(frozen=True)
class ClaimResult:
    claim_id: str
    our_value: str  # formatted with its unit, e.g. "8.3x" or "11.2 %"
    configuration: str  # the configuration that produced our_value
    verdict: str  # one of VERDICTS
    why: str  # one or two sentences: why ours differs (or agrees)
    holds_where: str = ""  # the region where the paper's value is reached ("nowhere in ..." if none)
    # Extra columns a stage adds after COLUMNS (e.g. the value against each CPU baseline); name -> text.
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        paper_claim(self.claim_id)
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        clash = sorted(set(self.extra) & set(COLUMNS))
        if clash:
            raise ValueError(f"extra columns {clash} clash with the fixed claim columns")

    def to_frame(self) -> pd.DataFrame:
        c = PAPER_CLAIMS[self.claim_id]
        row = asdict(self)
        extra = row.pop("extra")
        row |= {"claim": c.text, "paper_value": c.label}
        return pd.DataFrame([row | {k: str(v) for k, v in extra.items()}], columns=COLUMNS + list(extra))


def write_claim(result: ClaimResult, path) -> None:
    write_table(result.to_frame(), path)
