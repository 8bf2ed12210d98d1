"""tab04 aggregation: every claim present once, in registry order, with untouched paper text."""

import pandas as pd
import pytest

from sail.claims import COLUMNS, PAPER_CLAIMS, ClaimResult, write_claim
from sail.cost import collect_claims


def _write_all(tmp_path, skip=()):
    paths = []
    for cid in reversed(list(PAPER_CLAIMS)):  # written out of order on purpose
        if cid in skip:
            continue
        p = tmp_path / f"{cid}.csv"
        write_claim(ClaimResult(cid, "1x", "cfg", "not testable", "because"), p)
        paths.append(p)
    return paths


def test_collects_every_claim_in_registry_order(tmp_path):
    table = collect_claims(_write_all(tmp_path))
    assert list(table.columns) == COLUMNS
    assert list(table["claim_id"]) == list(PAPER_CLAIMS)
    assert list(table["paper_value"]) == [c.label for c in PAPER_CLAIMS.values()]


def test_missing_claim_is_named(tmp_path):
    with pytest.raises(ValueError, match="tpd_v100"):
        collect_claims(_write_all(tmp_path, skip={"tpd_v100"}))


def test_duplicate_claim_is_rejected(tmp_path):
    paths = _write_all(tmp_path)
    dup = tmp_path / "again.csv"
    dup.write_text(paths[0].read_text())
    with pytest.raises(ValueError, match="more than one file"):
        collect_claims([*paths, dup])


@pytest.mark.parametrize("column, value, message", [("paper_value", "20x", "differs"), ("verdict", "sort of", "verdict"),
                                                     ("our_value", "", "empty")])
def test_hand_edited_row_is_rejected(tmp_path, column, value, message):
    paths = _write_all(tmp_path)
    df = pd.read_csv(paths[0], dtype=str, keep_default_na=False)
    df.loc[0, column] = value
    df.to_csv(paths[0], index=False)
    with pytest.raises(ValueError, match=message):
        collect_claims(paths)


def test_extra_columns_of_one_claim_are_kept_and_blank_elsewhere(tmp_path):
    paths = _write_all(tmp_path, skip={"tpd_cpu"})
    p = tmp_path / "tpd_cpu.csv"
    write_claim(ClaimResult("tpd_cpu", "2x", "cfg", "not reproduced", "w", "nowhere",
                            extra={"vs_graviton3": "1.5x"}), p)
    table = collect_claims([*paths, p])
    assert list(table.columns) == COLUMNS + ["vs_graviton3"]
    assert table.set_index("claim_id").loc["tpd_cpu", "vs_graviton3"] == "1.5x"
    assert table.set_index("claim_id").loc["prt_cycles", "vs_graviton3"] == ""


def test_extra_column_may_not_shadow_a_fixed_one():
    with pytest.raises(ValueError, match="clash"):
        ClaimResult("tpd_cpu", "2x", "cfg", "not reproduced", "w", extra={"verdict": "reproduced"})
