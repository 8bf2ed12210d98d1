"""The dated, sourced price table (``data/prices.csv``) and its validation (docs/sources.md).

Every price the cost stage uses comes from this table; nothing in code or config holds a dollar
value. A row records the instance, the hardware it rents, the on-demand price in USD per hour,
the region, the date the price was recorded, the URL of the authoritative price page and a note
on how the value was obtained.
"""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd

PRICE_COLUMNS = ["instance", "hardware", "usd_per_hour", "region", "date", "source_url", "note"]


def validate_prices(df: pd.DataFrame) -> pd.DataFrame:
    """Check a price table and return it indexed by ``instance`` (sorted).

    Raises
    ------
    ValueError
        naming the offending column, instance or value: missing/extra columns, an empty field,
        a duplicated instance, a non-positive or non-numeric price, a date that is not ISO
        ``YYYY-MM-DD``, or a source URL that is not ``http(s)://``.
    """
    columns = list(df.columns)
    if columns != PRICE_COLUMNS:
        raise ValueError(f"price table columns must be {PRICE_COLUMNS}, got {columns}")
    if df.empty:
        raise ValueError("price table has no rows")
    for col in PRICE_COLUMNS:
        blank = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if blank.any():
            where = df.loc[blank, "instance"].tolist()
            raise ValueError(f"price table column {col!r} is empty for instance(s) {where}")
    dup = df["instance"][df["instance"].duplicated()].tolist()
    if dup:
        raise ValueError(f"price table lists instance(s) {dup} more than once")
    prices = pd.to_numeric(df["usd_per_hour"], errors="coerce")
    for instance, raw, value in zip(df["instance"], df["usd_per_hour"], prices):
        if not value > 0:  # also catches NaN from a non-numeric entry
            raise ValueError(f"usd_per_hour of {instance!r} must be a positive number, got {raw!r}")
    for instance, date in zip(df["instance"], df["date"]):
        try:
            dt.date.fromisoformat(str(date))
        except ValueError:
            raise ValueError(f"date of {instance!r} must be ISO YYYY-MM-DD, got {date!r}") from None
    for instance, url in zip(df["instance"], df["source_url"]):
        if not str(url).startswith(("https://", "http://")):
            raise ValueError(f"source_url of {instance!r} must be an http(s) URL, got {url!r}")
    out = df.assign(usd_per_hour=prices.astype(float))
    return out.set_index("instance", drop=False).sort_index()


def load_prices(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate ``data/prices.csv``; see :func:`validate_prices`."""
    df = pd.read_csv(path, dtype={"instance": str, "date": str}, keep_default_na=False, na_values=[""])
    return validate_prices(df)


def usd_per_hour(prices: pd.DataFrame, instance: str) -> float:
    """The on-demand price of ``instance``; ``ValueError`` naming it if the table does not list it."""
    if instance not in prices.index:
        raise ValueError(f"instance {instance!r} is not in the price table; listed: {sorted(prices.index)}")
    return float(prices.loc[instance, "usd_per_hour"])
