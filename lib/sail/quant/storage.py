"""Save and load a whole quantised model: ``{layer name: QuantLinear}`` in one ``.npz`` file.

The fields are stored as they are in :class:`~sail.quant.core.QuantLinear` (uint8 codes, float32
scale and zero-point per group), one array per field and layer, plus a JSON metadata string. This is
the exchange format between the quantisation rule and the perplexity / mixed-precision rules; the
bit-packed format of :mod:`sail.quant.packing` is what the kernels read.
"""

from __future__ import annotations

import json
import os

import numpy as np

from sail.io import atomic_path
from sail.quant.core import QuantLinear

_FIELDS = ("q", "scale", "zero")
_META = "__meta__"


def save_quantized(path: str | os.PathLike, layers: dict[str, QuantLinear], meta: dict | None = None) -> None:
    """Write ``layers`` (and optional JSON-serialisable ``meta``) atomically to ``path`` (.npz)."""
    arrays = {}
    shapes = {}
    for name in sorted(layers):
        ql = layers[name]
        if "/" in name:
            raise ValueError(f"layer name {name!r} must not contain '/'")
        for f in _FIELDS:
            arrays[f"{name}/{f}"] = getattr(ql, f)
        shapes[name] = {"w_bits": ql.w_bits, "group_size": ql.group_size}
    arrays[_META] = np.array(json.dumps({"layers": shapes, "meta": meta or {}}, sort_keys=True))
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)


def load_quantized(path: str | os.PathLike) -> tuple[dict[str, QuantLinear], dict]:
    """Inverse of :func:`save_quantized`: ``({name: QuantLinear}, meta)``; the record re-validates itself."""
    with np.load(path, allow_pickle=False) as z:
        info = json.loads(str(z[_META]))
        layers = {name: QuantLinear(q=z[f"{name}/q"], scale=z[f"{name}/scale"], zero=z[f"{name}/zero"],
                                    w_bits=int(v["w_bits"]), group_size=int(v["group_size"]))
                  for name, v in sorted(info["layers"].items())}
    return layers, info["meta"]
