"""Regenerate tests/sim/reference_outputs/quick.csv (run from the repository root with PYTHONPATH=lib)."""

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sail.io import write_table  # noqa: E402
from sail.sim import load_hw  # noqa: E402
from test_prt_and_claims import reference_points  # noqa: E402

prt = pd.read_csv(HERE / "fixtures" / "prt_hits.csv")
write_table(
    reference_points(lambda n: load_hw(HERE.parents[1] / "config" / "hw" / f"{n}.yaml"), prt),
    HERE / "reference_outputs" / "quick.csv",
)
