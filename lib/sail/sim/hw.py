"""Hardware descriptions (``config/hw/*.yaml``): every parameter is ``{value, unit, source}``.

A description names its ``system`` (which cost model applies), may inherit from a ``base`` file in
the same directory (SAIL and the in-cache PIM designs inherit the Graviton2 host, so the host
cannot drift between them), and carries numeric ``params`` grouped by section plus categorical
``options``. Parameters are addressed by dotted keys, ``"csram.arrays_per_slice"``.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

SYSTEMS = ("cpu", "sail", "gpu", "pim_bitserial", "pim_lut", "pim_dram")
SOURCE_RE = re.compile(r"^(paper(:.*)?|other:.+|measured:.+|assumption:.+)$")


class HwError(ValueError):
    """A hardware description is malformed; the message names the file and the key."""


class NotModelled(ValueError):
    """The requested case is outside what the model covers; raised so that no made-up value reaches a ratio."""


@dataclass(frozen=True)
class Param:
    value: float | str
    unit: str
    source: str


@dataclass(frozen=True)
class HwConfig:
    """One loaded hardware description: flat ``section.name -> Param`` maps, base parameters merged in."""

    name: str
    system: str
    description: str
    params: dict[str, Param]
    options: dict[str, Param] = field(default_factory=dict)
    path: str = ""
    own_keys: tuple[str, ...] = ()  # keys set in this file (not inherited), for tab01

    def value(self, key: str) -> float:
        try:
            return float(self.params[key].value)
        except KeyError:
            raise HwError(f"{self.name}: missing hardware parameter {key!r}") from None

    def option(self, key: str) -> str:
        try:
            return str(self.options[key].value)
        except KeyError:
            raise HwError(f"{self.name}: missing hardware option {key!r}") from None

    def values(self) -> dict[str, float]:
        return {k: float(p.value) for k, p in self.params.items()}

    def with_overrides(self, overrides: dict | None) -> "HwConfig":
        """A copy with ``{"csram.clock_ghz": 3.0, "op_profile": "gem_forge"}`` applied (source: override)."""
        if not overrides:
            return self
        params, options = dict(self.params), dict(self.options)
        for key, v in overrides.items():
            if key in params:
                try:
                    fv = float(v)
                except (TypeError, ValueError):
                    raise HwError(f"{self.name}: override {key}={v!r} is not a number") from None
                params[key] = replace(params[key], value=fv, source="assumption:override")
            elif key in options:
                options[key] = replace(options[key], value=str(v), source="assumption:override")
            else:
                known = sorted(params) + sorted(options)
                raise HwError(f"{self.name}: unknown hardware key {key!r} in overrides; known: {known}")
        return replace(self, params=params, options=options)


def _flatten(section_map, where: str) -> dict[str, dict]:
    out = {}
    if not isinstance(section_map, dict):
        raise HwError(f"{where}: 'params' must be a mapping of sections")
    for section, entries in section_map.items():
        if not isinstance(entries, dict):
            raise HwError(f"{where}: section {section!r} must be a mapping")
        for name, p in entries.items():
            out[f"{section}.{name}"] = p
    return out


def _check_param(key: str, p, where: str, numeric: bool) -> Param:
    if not isinstance(p, dict):
        raise HwError(f"{where}: {key} must be {{value, unit, source}}, got {p!r}")
    for need in ("value", "unit", "source"):
        if need not in p:
            raise HwError(f"{where}: {key} is missing {need!r}")
    extra = set(p) - {"value", "unit", "source"}
    if extra:
        raise HwError(f"{where}: {key} has unknown fields {sorted(extra)}")
    if not SOURCE_RE.match(str(p["source"])):
        raise HwError(
            f"{where}: {key} source {p['source']!r} must be paper, other:<citation>, measured:<table> or assumption:<why>"
        )
    v = p["value"]
    if numeric:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise HwError(f"{where}: {key} value must be a number, got {v!r}")
        if v < 0:
            raise HwError(f"{where}: {key} must not be negative, got {v!r}")
        v = float(v)
    return Param(v, str(p["unit"]), str(p["source"]))


def _read(path: Path, seen: tuple = ()) -> dict:
    if path in seen:
        raise HwError(f"{path}: circular base chain {[str(s) for s in seen]}")
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise HwError(f"hardware description {path} does not exist") from None
    if not isinstance(doc, dict):
        raise HwError(f"{path}: not a mapping")
    for need in ("name", "system", "params"):
        if need not in doc:
            raise HwError(f"{path}: missing top-level key {need!r}")
    flat = {k: _check_param(k, p, str(path), True) for k, p in _flatten(doc["params"], str(path)).items()}
    opts = {k: _check_param(k, p, str(path), False) for k, p in (doc.get("options") or {}).items()}
    own = tuple(sorted(flat)) + tuple(sorted(opts))
    if "base" in doc:
        base = _read(path.parent / doc["base"], seen + (path,))
        flat = base["params"] | flat
        opts = base["options"] | opts
    return {"doc": doc, "params": flat, "options": opts, "own": own}


def load_hw(path: str | Path) -> HwConfig:
    """Load and validate one description (with its ``base`` chain). Raises :class:`HwError` naming the key."""
    path = Path(path)
    r = _read(path)
    doc = r["doc"]
    if doc["system"] not in SYSTEMS:
        raise HwError(f"{path}: system {doc['system']!r} unknown; use one of {SYSTEMS}")
    hw = HwConfig(
        name=str(doc["name"]),
        system=str(doc["system"]),
        description=str(doc.get("description", "")),
        params=r["params"],
        options=r["options"],
        path=str(path),
        own_keys=r["own"],
    )
    from sail.sim.engine import required_keys  # the cost model declares what it reads

    for key in required_keys(hw.system):
        if key not in hw.params and key not in hw.options:
            raise HwError(f"{path}: missing hardware parameter {key!r} (needed by the {hw.system} model)")
    return hw


def hw_table(hw: HwConfig, own_only: bool = False) -> list[dict]:
    """Rows ``{hw, key, value, unit, source, kind}`` for tab01 (kind = paper / other / assumption)."""
    rows = []
    items = list(hw.params.items()) + list(hw.options.items())
    for key, p in sorted(items):
        if own_only and key not in hw.own_keys:
            continue
        rows.append(
            {
                "hw": hw.name,
                "system": hw.system,
                "key": key,
                "value": p.value,
                "unit": p.unit,
                "source_kind": p.source.split(":", 1)[0],
                "source": p.source,
            }
        )
    return rows


def deepcopy_hw(hw: HwConfig) -> HwConfig:
    return copy.deepcopy(hw)
