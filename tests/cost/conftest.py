from pathlib import Path

import pandas as pd
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def decode():
    return pd.read_csv(FIXTURES / "decode.csv")


@pytest.fixture
def area():
    return pd.read_csv(FIXTURES / "area.csv")


@pytest.fixture
def prices():
    from sail.cost import load_prices

    return load_prices(REPO / "data" / "prices.csv")
