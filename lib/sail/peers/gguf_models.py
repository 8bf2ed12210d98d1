"""GGUF files llama.cpp can run at real Llama-2-7B layer geometry, truncated to a few blocks.

Decode speed depends on tensor shapes and the weight format, not on weight values, so the blocks hold
random normal weights (fixed seed) with Llama-2-7B's shapes (d 4096, FFN 11008, 32 heads of 128,
vocabulary 32000; Touvron et al. 2023, HF ``config.json``). The file is written in F16 with the
``gguf`` package and then converted by llama.cpp's own quantiser, ``llama_model_quantize`` with
``pure`` set (``sail-llama-quantize --pure``, the call ``llama-quantize --pure`` makes: every 2-D
tensor in the target type, so the measured model has one weight format that the simulator can be
given). No tokenizer is stored (``tokenizer.ggml.model = none``, ``llama.vocab_size`` dummy tokens):
the decode benchmark feeds random token ids and never detokenises.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sail.io import atomic_path

# llama.cpp weight types this stage measures (llama-quantize's type names).
# Bits per weight incl. block scales (ggml-common.h block structs): Q8_0 34 B/32, Q4_0 18 B/32,
# Q4_K 144 B/256, Q2_K 84 B/256.
WEIGHT_TYPES: dict[str, dict] = {
    "Q8_0": {"code_bits": 8, "block": 32, "block_bytes": 34},
    "Q4_0": {"code_bits": 4, "block": 32, "block_bytes": 18},
    "Q4_K": {"code_bits": 4, "block": 256, "block_bytes": 144},
    "Q2_K": {"code_bits": 2, "block": 256, "block_bytes": 84},
}


def check_weight_type(weight_type: str) -> dict:
    """The block layout of a llama.cpp weight type; ``ValueError`` naming it when it is not measured here."""
    try:
        return WEIGHT_TYPES[weight_type]
    except KeyError:
        raise ValueError(
            f"unknown llama.cpp weight type {weight_type!r}; this stage measures {sorted(WEIGHT_TYPES)}"
        ) from None


def bits_per_weight(weight_type: str) -> float:
    """Stored bits per weight, codes plus block scales (``Q4_0`` -> 4.5, ``Q2_K`` -> 2.625)."""
    t = check_weight_type(weight_type)
    return 8.0 * t["block_bytes"] / t["block"]


@dataclass(frozen=True)
class LlamaGeometry:
    """Shapes of a Llama decoder; defaults are Llama-2-7B's."""

    n_layers: int = 2
    dim: int = 4096
    ffn_dim: int = 11008
    n_heads: int = 32
    n_kv_heads: int = 32
    vocab: int = 32000
    context_length: int = 4096
    rms_eps: float = 1e-5

    def __post_init__(self):
        for name in ("n_layers", "dim", "ffn_dim", "n_heads", "n_kv_heads", "vocab", "context_length"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.dim % self.n_heads or self.n_heads % self.n_kv_heads:
            raise ValueError(f"dim {self.dim} / n_heads {self.n_heads} / n_kv_heads {self.n_kv_heads} do not divide")

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    def tensors(self) -> list[tuple[str, tuple[int, ...]]]:
        """``(name, numpy shape)`` of every tensor, in llama.cpp's naming; numpy shape = (out, in)."""
        d, f, kv = self.dim, self.ffn_dim, self.n_kv_heads * self.head_dim
        out = [("token_embd.weight", (self.vocab, d))]
        for i in range(self.n_layers):
            b = f"blk.{i}"
            out += [
                (f"{b}.attn_norm.weight", (d,)),
                (f"{b}.attn_q.weight", (d, d)),
                (f"{b}.attn_k.weight", (kv, d)),
                (f"{b}.attn_v.weight", (kv, d)),
                (f"{b}.attn_output.weight", (d, d)),
                (f"{b}.ffn_norm.weight", (d,)),
                (f"{b}.ffn_gate.weight", (f, d)),
                (f"{b}.ffn_up.weight", (f, d)),
                (f"{b}.ffn_down.weight", (d, f)),
            ]
        out += [("output_norm.weight", (d,)), ("output.weight", (self.vocab, d))]
        return out


def write_random_llama_gguf(path: str | Path, geometry: LlamaGeometry, seed: int) -> Path:
    """Write an F16 GGUF of ``geometry`` with N(0, 0.02^2) weights and unit norms; tensors are streamed
    to disk one by one (an 8-block file is ~3.7 GB), and the file appears atomically."""
    import gguf

    rng = np.random.default_rng(seed)
    g = geometry
    path = Path(path)
    with atomic_path(path) as tmp:
        w = gguf.GGUFWriter(tmp, "llama")
        w.add_name(f"random-llama2-7b-geometry-{g.n_layers}l-seed{seed}")
        w.add_context_length(g.context_length)
        w.add_embedding_length(g.dim)
        w.add_block_count(g.n_layers)
        w.add_feed_forward_length(g.ffn_dim)
        w.add_head_count(g.n_heads)
        w.add_head_count_kv(g.n_kv_heads)
        w.add_rope_dimension_count(g.head_dim)
        w.add_layer_norm_rms_eps(g.rms_eps)
        w.add_vocab_size(g.vocab)
        w.add_tokenizer_model("none")
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
        specs = g.tensors()
        for name, shape in specs:
            dtype = np.float32 if len(shape) == 1 else np.float16
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            w.add_tensor_info(name, shape, np.dtype(dtype), nbytes)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_ti_data_to_file()
        for name, shape in specs:
            if len(shape) == 1:
                t = np.ones(shape, dtype=np.float32)  # RMSNorm gains
            else:
                t = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float16)
            w.write_tensor_data(t)
        w.close()
    return path


def quantize_gguf(quantize_bin: str | Path, src: str | Path, dst: str | Path, weight_type: str, threads: int = 1) -> Path:
    """Convert ``src`` to ``weight_type`` with ``sail-llama-quantize --pure`` (llama.cpp's quantiser; atomic output)."""
    check_weight_type(weight_type)
    quantize_bin = Path(quantize_bin)
    if not quantize_bin.is_file():
        raise ValueError(f"sail-llama-quantize not found at {quantize_bin}")
    dst = Path(dst)
    with atomic_path(dst) as tmp:
        cmd = [str(quantize_bin), "--pure", str(src), str(tmp), weight_type, str(threads)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return dst
