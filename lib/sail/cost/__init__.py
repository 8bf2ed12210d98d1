"""Tokens per dollar of SAIL vs the Neoverse-N1 CPU and the V100 (method: docs/sources.md, price mapping).

prices        the dated, sourced price table data/prices.csv and its validation
tpd           TPD = 3600 tokens/s / price; SAIL = CPU instance x (1 + multiplier overhead); ratios,
              the two TPD claims and the price-mapping sensitivity sweep
claims_table  tab04_claims: the per-claim rows of every stage, checked and concatenated
"""

from sail.cost.claims_table import collect_claims
from sail.cost.prices import PRICE_COLUMNS, load_prices, usd_per_hour, validate_prices
from sail.cost.tpd import (
    DECODE_COLUMNS,
    DECODE_KEYS,
    SystemPrice,
    cost_table,
    overhead_from_area,
    paper_factor,
    price_sensitivity,
    sail_usd_per_hour,
    tokens_per_dollar,
    tpd_claim,
    tpd_ratios,
)

__all__ = [
    "DECODE_COLUMNS", "DECODE_KEYS", "PRICE_COLUMNS", "SystemPrice", "collect_claims", "cost_table",
    "load_prices", "overhead_from_area", "paper_factor", "price_sensitivity", "sail_usd_per_hour",
    "tokens_per_dollar", "tpd_claim", "tpd_ratios", "usd_per_hour", "validate_prices",
]
