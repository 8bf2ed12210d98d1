"""Capture on the real model (marked `model`; skipped without resources/model/...gguf)."""

from pathlib import Path

import numpy as np
import pytest

GGUF = Path(__file__).resolve().parents[2] / "resources/model/SmolLM2-135M-Instruct.Q4_1.gguf"

pytestmark = [pytest.mark.model,
              pytest.mark.skipif(not GGUF.exists(), reason=f"real model absent: {GGUF} (see `make model`)")]


def test_capture_returns_every_layer_position_major():
    from sail.model import load_model
    from sail.profile.capture import capture_linear_inputs

    model = load_model(GGUF)
    rng = np.random.default_rng(0)
    windows = rng.integers(0, 1000, size=(3, 4)).astype(np.int64)
    acts = capture_linear_inputs(model, windows)
    assert sorted(acts) == sorted(model.linear_names())
    for name, x in acts.items():
        k = model.get_linear_weight(name).shape[1]
        assert x.shape == (12, k) and x.dtype == np.float32
    # q, k and v read the same input; gate and up too
    np.testing.assert_array_equal(acts["blocks.3.attn.q"], acts["blocks.3.attn.v"])
    np.testing.assert_array_equal(acts["blocks.3.mlp.gate"], acts["blocks.3.mlp.up"])
    # position-major: row 0..2 are position 0 of the three windows; position 0 depends only on its token
    single = capture_linear_inputs(model, windows[1:2, :1])
    np.testing.assert_allclose(acts["blocks.0.attn.o"][1], single["blocks.0.attn.o"][0], rtol=1e-4, atol=1e-5)
