from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
HW_DIR = ROOT / "config" / "hw"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def hw_dir():
    return HW_DIR


@pytest.fixture(scope="session")
def load():
    from sail.sim import load_hw

    return lambda name: load_hw(HW_DIR / f"{name}.yaml")


@pytest.fixture(scope="session")
def prt_table():
    return pd.read_csv(FIXTURES / "prt_hits.csv")


@pytest.fixture(scope="session")
def bench_table():
    return pd.read_csv(FIXTURES / "bench.csv")
