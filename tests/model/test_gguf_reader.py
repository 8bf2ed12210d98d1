"""Our GGUF parser (sail.model.gguf_io.parse_gguf) against the gguf package's GGUFReader: the same
metadata values, tensor tables, raw bytes and dequantised floats, on the real model and on a small
file with every kind of metadata value; bad files raise ValueError naming what is wrong."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader, GGUFWriter
from gguf.quants import dequantize, quantize

from sail.model.gguf_io import dequantize_tensor, parse_gguf


def _assert_same(path):
    ours, theirs = parse_gguf(path), GGUFReader(str(path))
    expected = {k: f.contents() for k, f in theirs.fields.items() if not k.startswith("GGUF.")}
    assert ours.fields == expected
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    for a, b in zip(ours.tensors, theirs.tensors):
        assert list(a.shape) == [int(d) for d in b.shape] and a.tensor_type == b.tensor_type, a.name
        assert a.data.shape == b.data.shape and a.data.dtype == b.data.dtype, a.name
        assert np.array_equal(a.data, b.data), a.name
        x = dequantize_tensor(a.data, a.tensor_type)
        y = dequantize(b.data, b.tensor_type).astype(np.float32)
        assert x.dtype == np.float32 and x.shape == y.shape, a.name
        assert np.array_equal(x.view(np.uint32), y.view(np.uint32)), f"{a.name}: not bit-identical"
    return ours


def test_real_model_reads_as_gguf_reads_it(gguf_path):
    g = _assert_same(gguf_path)
    assert len(g.fields["tokenizer.ggml.tokens"]) == 49152
    assert {t.tensor_type.name for t in g.tensors} == {"Q4_1", "Q8_0", "F32"}


@pytest.fixture
def small_gguf(tmp_path):
    path = tmp_path / "small.gguf"
    rng = np.random.default_rng(0)
    w = GGUFWriter(str(path), "llama")
    w.add_uint32("t.u32", 7)
    w.add_int32("t.i32", -3)
    w.add_uint64("t.u64", 2**40)
    w.add_float32("t.f32", 0.1)
    w.add_float64("t.f64", 1e-300)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "naïve ✓")
    w.add_array("t.strs", ["a", "", "ß" * 300])
    w.add_array("t.ints", [1, -2, 3])
    w.add_array("t.floats", [0.5, 1.5])
    w.add_tensor("f32", rng.standard_normal((3, 5)).astype(np.float32))
    w.add_tensor("f16", rng.standard_normal((4, 8)).astype(np.float16))
    x = rng.standard_normal((6, 64)).astype(np.float32)
    for qtype in (GGMLQuantizationType.Q8_0, GGMLQuantizationType.Q4_1, GGMLQuantizationType.Q4_0):
        q = quantize(x, qtype)
        w.add_tensor(qtype.name.lower(), q, raw_shape=q.shape, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_every_value_type_and_tensor_type_reads_as_gguf_reads_it(small_gguf):
    g = _assert_same(small_gguf)
    assert g.fields["t.str"] == "naïve ✓" and g.fields["t.strs"][2] == "ß" * 300 and g.fields["t.bool"] is True
    assert [t.tensor_type.name for t in g.tensors] == ["F32", "F16", "Q8_0", "Q4_1", "Q4_0"]


def test_bad_files_raise_value_errors_that_say_why(small_gguf, tmp_path):
    data = small_gguf.read_bytes()
    cases = {"magic": b"GGUX" + data[4:], "version": data[:4] + (99).to_bytes(4, "little") + data[8:],
             "truncated": data[: len(data) - 100]}
    for what, blob in cases.items():
        p = tmp_path / f"{what}.gguf"
        p.write_bytes(blob)
        with pytest.raises(ValueError, match={"magic": "magic", "version": "version 99",
                                               "truncated": "runs past the end"}[what]):
            parse_gguf(p)
