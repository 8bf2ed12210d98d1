"""``tab04_claims``: concatenate the per-claim rows the stages wrote into one checked table.

Each stage that tests an abstract claim writes ``results/<exp>/claims/<claim_id>.csv`` through
:func:`sail.claims.write_claim`. This module only collects them: it types in nothing, and it
refuses a table that is missing a claim, lists one twice, or whose quoted paper text differs from
:data:`sail.claims.PAPER_CLAIMS` (so nobody can edit a claim's wording or value in a CSV). A stage
may add columns after :data:`sail.claims.COLUMNS` (``ClaimResult.extra``); claims without such a
column show it empty.
"""

from __future__ import annotations

import os

import pandas as pd

from sail.claims import COLUMNS, PAPER_CLAIMS, VERDICTS


def collect_claims(paths: list[str | os.PathLike]) -> pd.DataFrame:
    """Read one claim CSV per path and return them as one table in ``PAPER_CLAIMS`` order.

    Raises
    ------
    ValueError
        naming the file or claim: wrong columns, not exactly one row, an unknown or duplicated
        claim_id, a claim/paper_value that differs from PAPER_CLAIMS, an unknown verdict, an empty
        our_value, or a claim of PAPER_CLAIMS with no file.
    """
    frames = {}
    for path in paths:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if list(df.columns)[: len(COLUMNS)] != COLUMNS:
            raise ValueError(f"{path}: columns must start with {COLUMNS}, got {list(df.columns)}")
        if len(df) != 1:
            raise ValueError(f"{path}: a claim file holds exactly one row, found {len(df)}")
        row = df.iloc[0]
        cid = row["claim_id"]
        if cid not in PAPER_CLAIMS:
            raise ValueError(f"{path}: unknown claim_id {cid!r}")
        if cid in frames:
            raise ValueError(f"{path}: claim_id {cid!r} appears in more than one file")
        claim = PAPER_CLAIMS[cid]
        if row["claim"] != claim.text or row["paper_value"] != claim.label:
            raise ValueError(f"{path}: claim text or paper_value of {cid!r} differs from sail.claims.PAPER_CLAIMS")
        if row["verdict"] not in VERDICTS:
            raise ValueError(f"{path}: verdict {row['verdict']!r} is not one of {VERDICTS}")
        if not row["our_value"].strip():
            raise ValueError(f"{path}: our_value of {cid!r} is empty")
        frames[cid] = df
    missing = [cid for cid in PAPER_CLAIMS if cid not in frames]
    if missing:
        raise ValueError(f"no claim file for {missing}")
    table = pd.concat([frames[cid] for cid in PAPER_CLAIMS], ignore_index=True)
    return table.fillna("")
