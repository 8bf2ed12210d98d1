"""The paper's abstract claims and how a stage reports its verdict on one of them.

Each stage that can test a claim writes ``results/<experiment>/claims/<claim_id>.csv`` with one
row in the :data:`COLUMNS` layout; ``tab04_claims`` only concatenates those files, so no value in
the claims table is typed in by hand except the paper's own number (quoted from the abstract).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from sail.io import write_table

# claim_id -> (what the abstract says, the paper's value as printed). Source: arXiv 2509.25853v1 abstract.
PAPER_CLAIMS: dict[str, tuple[str, str]] = {
    "speedup_cpu": ("up to 10.7x speedup vs ARM Neoverse-N1 CPU baselines", "10.7x"),
    "tpd_cpu": ("up to 19.9x higher tokens per dollar vs Neoverse-N1", "19.9x"),
    "tpd_v100": ("up to 7.04x better cost efficiency than an NVIDIA V100", "7.04x"),
    "prt_cycles": ("Pattern-Aware LUT reduces computation cycles by 13.8 %", "13.8 %"),
    "area_overhead": ("only 2 % hardware overhead and a single new instruction", "2 %"),
    "arbitrary_precision": ("arbitrary weight/activation precision with one LUT-GEMV datapath", "any w, a"),
}

VERDICTS = ("reproduced", "not reproduced", "holds only when", "not testable")

COLUMNS = ["claim_id", "claim", "paper_value", "our_value", "configuration", "verdict", "why"]


@dataclass(frozen=True)
class ClaimResult:
    claim_id: str
    our_value: str  # formatted with its unit, e.g. "8.3x" or "11.2 %"
    configuration: str  # the configuration that produced our_value
    verdict: str  # one of VERDICTS
    why: str  # one sentence: why ours differs (or agrees)

    def __post_init__(self):
        if self.claim_id not in PAPER_CLAIMS:
            raise ValueError(f"unknown claim_id {self.claim_id!r}; known: {sorted(PAPER_CLAIMS)}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")

    def to_frame(self) -> pd.DataFrame:
        claim, paper_value = PAPER_CLAIMS[self.claim_id]
        row = asdict(self) | {"claim": claim, "paper_value": paper_value}
        return pd.DataFrame([row], columns=COLUMNS)


def write_claim(result: ClaimResult, path) -> None:
    write_table(result.to_frame(), path)
