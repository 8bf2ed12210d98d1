import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GGUF = REPO / "resources" / "model" / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    if not GGUF.exists():
        pytest.skip(f"real model not fetched: {GGUF} is missing (run `snakemake --cores 1 model_fetch` or `make quick`)")
    return GGUF


@pytest.fixture(scope="session")
def real_model(gguf_path):
    from sail.model import load_model

    return load_model(gguf_path)


@pytest.fixture(scope="session")
def real_tokenizer(gguf_path):
    from sail.model import load_tokenizer

    return load_tokenizer(gguf_path)


_SKIP_LOG = os.environ.get("SAIL_RECORD_SKIPPED")


def pytest_runtest_logreport(report):
    """With ``$SAIL_RECORD_SKIPPED`` set, append the node id of every skipped test to that file.

    `make test` (.ci/checks.sh) runs the suite in a copy of the tree, which has no pipeline outputs,
    while the quick pipeline runs; afterwards it runs exactly the tests that skipped there (a missing
    model, llama.cpp build or quick result) again in the checkout, where those outputs now exist.
    """
    if _SKIP_LOG and report.skipped:
        with open(_SKIP_LOG, "a") as fh:
            fh.write(report.nodeid + "\n")
