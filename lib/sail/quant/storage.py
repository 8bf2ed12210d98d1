"""Save and load a whole quantised model: ``{layer name: QuantLinear}`` in one ``.npz`` file.

Each layer is stored in the bit-plane format of :mod:`sail.quant.packing` (``w_bits`` bits per
weight, float32 scale and zero-point per group; the same layout the kernels read), one array per
field and layer, plus a JSON metadata string. This is the exchange format between the quantisation
rule and the perplexity / mixed-precision rules. Loading unpacks back to :class:`QuantLinear`
bit for bit (tested).
"""

from __future__ import annotations

import json
import os

import numpy as np

from sail.io import atomic_path
from sail.quant.core import QuantLinear
from sail.quant.packing import FORMAT_VERSION, PackedLinear, pack_linear, unpack_linear

_FIELDS = ("planes", "scale", "zero")
_META = "__meta__"


def save_quantized(path: str | os.PathLike, layers: dict[str, QuantLinear], meta: dict | None = None) -> None:
    """Write ``layers`` (and optional JSON-serialisable ``meta``) atomically to ``path`` (.npz)."""
    arrays = {}
    shapes = {}
    for name in sorted(layers):
        if "/" in name:
            raise ValueError(f"layer name {name!r} must not contain '/'")
        packed = pack_linear(layers[name])
        for f in _FIELDS:
            arrays[f"{name}/{f}"] = getattr(packed, f)
        shapes[name] = {"w_bits": packed.w_bits, "group_size": packed.group_size, "k": packed.k}
    arrays[_META] = np.array(json.dumps({"format_version": FORMAT_VERSION, "layers": shapes, "meta": meta or {}},
                                        sort_keys=True))
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def load_quantized(path: str | os.PathLike) -> tuple[dict[str, QuantLinear], dict]:
    """Inverse of :func:`save_quantized`: ``({name: QuantLinear}, meta)``; the record re-validates itself."""
    with np.load(path, allow_pickle=False) as z:
        info = json.loads(str(z[_META]))
        if info.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path}: packed format version {info.get('format_version')!r}, "
                             f"this code reads {FORMAT_VERSION}")
        layers = {name: unpack_linear(PackedLinear(planes=z[f"{name}/planes"], scale=z[f"{name}/scale"],
                                                   zero=z[f"{name}/zero"], w_bits=int(v["w_bits"]),
                                                   group_size=int(v["group_size"]), k=int(v["k"])))
                  for name, v in sorted(info["layers"].items())}
    return layers, info["meta"]
