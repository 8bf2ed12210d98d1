"""Hardware descriptions (``config/hw/*.yaml``): every parameter is ``{value, unit, source}``.

A description names its ``system`` (which cost model applies), may inherit from a ``base`` file in
the same directory (SAIL and the in-cache PIM designs inherit the Graviton2 host, so the host
cannot drift between them), and carries numeric ``params`` grouped by section plus categorical
``options``. Parameters are addressed by dotted keys, ``"csram.arrays_per_slice"``.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from sail.contracts import did_you_mean
from sail.io import load_yaml
from sail.sim.requirements import required_keys

# The schema is the one definition of the keys, their ranges, the systems and the source pattern.
SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "hw.schema.yaml"


@functools.lru_cache(maxsize=1)
def hw_schema() -> dict:
    """``workflow/schemas/hw.schema.yaml`` (read once)."""
    return load_yaml(SCHEMA_PATH.read_text())


SYSTEMS = tuple(hw_schema()["properties"]["system"]["enum"])
SOURCE_RE = re.compile(hw_schema()["$defs"]["source"]["pattern"])


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
                # the override must satisfy the same kind and range as the file's value
                check_values({key: fv}, f"{self.name}: override")
                params[key] = replace(params[key], value=fv, source="assumption:override")
            elif key in options:
                options[key] = replace(options[key], value=str(v), source="assumption:override")
            else:
                known = sorted(params) + sorted(options)
                raise HwError(
                    f"{self.name}: unknown hardware key {key!r} in overrides{did_you_mean(key, known)}; known: {known}"
                )
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
        if not math.isfinite(v):
            raise HwError(f"{where}: {key} must be finite, got {v!r}")
        if v < 0:
            raise HwError(f"{where}: {key} must not be negative, got {v!r}")
        v = float(v)
    return Param(v, str(p["unit"]), str(p["source"]))


def known_keys() -> dict[str, list[str]]:
    """``{"params": ["cpu.cores", ...], "options": [...], "sections": [...], "top": [...]}`` from the schema."""
    s = hw_schema()["properties"]
    sections = s["params"]["properties"]
    return {
        "top": sorted(hw_schema()["properties"]),
        "sections": sorted(sections),
        "params": sorted(f"{sec}.{k}" for sec, d in sections.items() for k in d["properties"]),
        "options": sorted(s["options"]["properties"]),
    }


def _check_known(doc: dict, where: str) -> None:
    """Unknown keys (typos) are errors, with the closest known spelling."""
    known = known_keys()
    for k in doc:
        if k not in known["top"]:
            raise HwError(f"{where}: unknown top-level key {k!r}{did_you_mean(k, known['top'])}; known: {known['top']}")
    params = doc.get("params")
    if isinstance(params, dict):
        for sec, entries in params.items():
            if sec not in known["sections"]:
                raise HwError(
                    f"{where}: unknown parameter section {sec!r}{did_you_mean(sec, known['sections'])}; "
                    f"known: {known['sections']}"
                )
            for name in entries if isinstance(entries, dict) else ():
                key = f"{sec}.{name}"
                if key not in known["params"]:
                    raise HwError(
                        f"{where}: unknown hardware parameter {key!r}{did_you_mean(key, known['params'])}; "
                        f"add it to {SCHEMA_PATH.name} (with its kind) if it is new"
                    )
    opts = doc.get("options")
    if isinstance(opts, dict):
        for name in opts:
            if name not in known["options"]:
                raise HwError(f"{where}: unknown hardware option {name!r}{did_you_mean(name, known['options'])}")


def _key_of(path: list) -> str:
    """``['params', 'csram', 'n_bw', 'value']`` -> ``'csram.n_bw'`` (the key as the simulator spells it)."""
    if len(path) >= 3 and path[0] == "params":
        return repr(f"{path[1]}.{path[2]}")
    if len(path) >= 2 and path[0] == "options":
        return repr(str(path[1]))
    return ".".join(map(str, path)) or "<top>"


def _relax(node, keys=("multipleOf", "maximum")):
    if isinstance(node, dict):
        return {k: _relax(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [_relax(v, keys) for v in node]
    return node


# Kinds whose bounds are definitions rather than physical limits: they hold for overrides too.
_EXACT_KINDS = ("bits", "fraction", "flag")


@functools.lru_cache(maxsize=2)
def _validator(continuous: bool = False):
    # fastjsonschema compiles the schema once (jsonschema's import alone costs seconds per process).
    # continuous=True (overrides, sweeps): the model is explored as a function of its parameters, so
    # counts may be fractional and rates may exceed today's hardware (property tests scale them 8x);
    # finiteness, signs, fractions, flags and whole bit widths still apply.
    import fastjsonschema

    schema = hw_schema()
    if continuous:
        defs = {k: (v if k in _EXACT_KINDS else _relax(v)) for k, v in schema["$defs"].items()}
        schema = schema | {"$defs": defs}
    return fastjsonschema.compile(schema)


def _schema_errors(doc: dict, where: str, continuous: bool = False) -> None:
    import fastjsonschema

    try:
        _validator(continuous)(doc)
    except fastjsonschema.JsonSchemaValueException as err:
        path = [str(p) for p in (err.path or [])][1:]  # drop the leading "data"
        what = err.message.split(" ", 1)[1] if err.message.startswith("data") else err.message
        raise HwError(f"{where}: {_key_of(path)} = {err.value!r}: {what}") from None


def check_values(values: dict[str, float], where: str) -> None:
    """Check flat ``{"csram.n_bw": 40.0}`` values against their kinds in the schema (overrides)."""
    params: dict = {}
    for key, v in values.items():
        sec, name = key.split(".", 1)
        if not math.isfinite(v):
            raise HwError(f"{where}: {key} must be finite, got {v!r}")
        params.setdefault(sec, {})[name] = {"value": v, "unit": "-", "source": "assumption:check"}
    _schema_errors({"name": "check", "system": "cpu", "params": params}, where, continuous=True)


def _load_yaml(path: Path):
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HwError(f"hardware description {path} does not exist") from None
    except IsADirectoryError:
        raise HwError(f"hardware description {path} is a directory, not a YAML file") from None
    except UnicodeDecodeError:
        raise HwError(f"hardware description {path} is not UTF-8 text (a binary file?)") from None
    except OSError as err:
        raise HwError(f"hardware description {path} cannot be read: {err.strerror}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise HwError(f"hardware description {path} is not valid YAML{at}: {problem}") from None


def _read(path: Path, seen: tuple = ()) -> dict:
    if path in seen:
        raise HwError(f"{path}: circular base chain {[str(s) for s in seen]}")
    doc = _load_yaml(path)
    if not isinstance(doc, dict):
        raise HwError(f"{path}: not a mapping")
    for need in ("name", "system", "params"):
        if need not in doc:
            raise HwError(f"{path}: missing top-level key {need!r}")
    _check_known(doc, str(path))
    flat = {k: _check_param(k, p, str(path), True) for k, p in _flatten(doc["params"], str(path)).items()}
    opts = {k: _check_param(k, p, str(path), False) for k, p in (doc.get("options") or {}).items()}
    _schema_errors(doc, str(path))  # kinds and ranges of every value (after the friendlier checks above)
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
