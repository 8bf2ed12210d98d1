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

