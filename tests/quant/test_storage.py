import numpy as np
import pytest

from sail.quant.rtn import quantize_rtn
from sail.quant.storage import load_quantized, save_quantized


def test_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    layers = {"blocks.0.attn.q": quantize_rtn(rng.standard_normal((8, 64)).astype(np.float32), 3, 32),
              "blocks.0.mlp.down": quantize_rtn(rng.standard_normal((4, 128)).astype(np.float32), 2, -1)}
    save_quantized(tmp_path / "m.npz", layers, meta={"method": "rtn", "quant_s": 1.5})
    back, meta = load_quantized(tmp_path / "m.npz")
    assert meta == {"method": "rtn", "quant_s": 1.5}
    assert sorted(back) == sorted(layers)
    for n, ql in layers.items():
        assert (back[n].w_bits, back[n].group_size) == (ql.w_bits, ql.group_size)
        for f in ("q", "scale", "zero"):
            np.testing.assert_array_equal(getattr(back[n], f), getattr(ql, f))
            assert getattr(back[n], f).dtype == getattr(ql, f).dtype


def test_codes_are_stored_bit_packed(tmp_path):
    ql = quantize_rtn(np.random.default_rng(1).standard_normal((4, 64)).astype(np.float32), 3, 32)
    save_quantized(tmp_path / "m.npz", {"a": ql})
    with np.load(tmp_path / "m.npz") as z:
        assert z["a/planes"].shape == (3, 4, 8) and z["a/planes"].dtype == np.uint8  # 3 bits x 64 / 8


def test_wrong_format_version_is_rejected(tmp_path):
    ql = quantize_rtn(np.random.default_rng(1).standard_normal((2, 32)).astype(np.float32), 2, 32)
    save_quantized(tmp_path / "m.npz", {"a": ql})
    with np.load(tmp_path / "m.npz") as z:
        arrays = dict(z)
    arrays["__meta__"] = np.array(str(arrays["__meta__"]).replace('"format_version": 1', '"format_version": 99'))
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="99"):
        load_quantized(tmp_path / "bad.npz")
