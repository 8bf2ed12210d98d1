"""data/prices.csv is valid, and the validator rejects every kind of bad row (naming it)."""

import pandas as pd
import pytest

from sail.cost import PRICE_COLUMNS, load_prices, usd_per_hour, validate_prices
from sail.cost.prices import PRICE_COLUMNS as _COLS

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# AWS on-demand Linux prices, us-east-1 (docs/sources.md). A test, not a source: the CSV is the source.
NOTE_PRICES = {"m6g.16xlarge": 2.464, "c6g.16xlarge": 2.176, "r6g.16xlarge": 3.2256, "p3.2xlarge": 3.06}


def test_committed_price_table_is_valid_and_matches_the_reference_note():
    prices = load_prices(REPO / "data" / "prices.csv")
    for instance, usd in NOTE_PRICES.items():
        assert usd_per_hour(prices, instance) == pytest.approx(usd, rel=0, abs=1e-12)
    assert (prices["region"] == "us-east-1").all()
    assert prices["source_url"].str.startswith("https://aws.amazon.com/").all()


def _good():
    return pd.DataFrame([{"instance": "a.large", "hardware": "x", "usd_per_hour": 1.0, "region": "r",
                          "date": "2026-01-02", "source_url": "https://example.org", "note": "n"}])


def test_good_table_passes():
    assert list(validate_prices(_good()).index) == ["a.large"]
    assert PRICE_COLUMNS == _COLS


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("usd_per_hour", 0.0, "usd_per_hour of 'a.large'"),
        ("usd_per_hour", -1.0, "usd_per_hour of 'a.large'"),
        ("usd_per_hour", "cheap", "'cheap'"),
        ("date", "22/11/2026", "'22/11/2026'"),
        ("source_url", "aws pricing page", "'aws pricing page'"),
        ("note", "", "column 'note' is empty"),
    ],
)
def test_bad_field_is_rejected_by_name(column, value, message):
    df = _good()
    df[column] = df[column].astype(object)
    df.loc[0, column] = value
    with pytest.raises(ValueError, match=message):
        validate_prices(df)


def test_duplicate_instance_and_wrong_columns_are_rejected():
    with pytest.raises(ValueError, match="more than once"):
        validate_prices(pd.concat([_good(), _good()], ignore_index=True))
    with pytest.raises(ValueError, match="columns must be"):
        validate_prices(_good().drop(columns="region"))


def test_unknown_instance_is_named(prices):
    with pytest.raises(ValueError, match="'z9.huge'"):
        usd_per_hour(prices, "z9.huge")


def test_malformed_csv_file_is_rejected(tmp_path):
    p = tmp_path / "prices.csv"
    _good().assign(usd_per_hour="").to_csv(p, index=False)
    with pytest.raises(ValueError, match="usd_per_hour"):
        load_prices(p)
