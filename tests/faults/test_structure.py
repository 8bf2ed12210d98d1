"""Contracts on the code itself: each shared constant is defined once (in sail.contracts), no module
imports another module's private name, and no import cycle exists among ``sail.*`` modules. Also the
I/O faults: an interrupted or failed write leaves no partial output that would look up to date."""

from __future__ import annotations

import ast
import errno
import importlib
import re
from pathlib import Path

import pandas as pd
import pytest

from sail.io import atomic_path, atomic_write, write_json, write_table

LIB = Path(__file__).resolve().parents[2] / "lib" / "sail"
SOURCES = {p: p.read_text() for p in LIB.rglob("*.py")}


def module_name(p: Path) -> str:
    rel = p.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


CONSTANTS = ["LAYER_TYPES", "LINEAR_TYPES", "W_BITS_RANGE", "A_BITS_RANGE", "N_BW_RANGE", "SYMMETRIC_A_BITS_RANGE",
             "DEFAULT_GROUP_SIZE", "PRT_DEFAULT", "DEFAULT_POINT", "PRT_COLUMNS", "PRT_HITS_COLUMNS", "ENCODINGS",
             "POLICIES", "MAX_BATCH", "SYSTEMS", "SOURCE_RE", "REQUIRED"]


@pytest.mark.parametrize("name", CONSTANTS)
def test_shared_constant_defined_once(name):
    """``NAME = <literal>`` appears in exactly one module; everywhere else it is imported (or derived)."""
    pat = re.compile(rf"^{name}\s*(:[^=]*)?=\s*(?![A-Z_]+\b\s*$)(?!tuple\(|re\.compile\()", re.M)
    where = [str(p.relative_to(LIB)) for p, text in SOURCES.items() if pat.search(text)]
    assert len(where) <= 1, f"{name} defined in {where}"


def test_literal_values_not_repeated():
    """The values themselves are not retyped elsewhere (the layer-type tuple, the PRT default point)."""
    needles = ['("q", "k", "v", "o", "gate", "up", "down")', '{"encoding": "twos_complement", "policy": "lru"']
    for needle in needles:
        where = [str(p.relative_to(LIB)) for p, text in SOURCES.items() if needle in text]
        assert where == ["contracts/__init__.py"], (needle, where)


def test_default_group_size_not_retyped():
    bad = [f"{p.relative_to(LIB)}:{i + 1}" for p, text in SOURCES.items() for i, line in enumerate(text.splitlines())
           if re.search(r"group_size\s*(:\s*int)?\s*=\s*128\b", line)]
    assert bad == [], bad


def test_no_private_name_imported_across_modules():
    bad = []
    for p, text in SOURCES.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sail"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        bad.append(f"{p.relative_to(LIB)}: from {node.module} import {alias.name}")
    assert bad == [], bad


MODULES = {module_name(p) for p in SOURCES}


def _imports(p: Path) -> set[str]:
    """Modules of ``sail`` imported at module level (not inside functions: those run later)."""
    out = set()
    tree = ast.parse(SOURCES[p])
    for node in tree.body:
        nodes = [node]
        if isinstance(node, (ast.If, ast.Try)):
            nodes = list(ast.walk(node))
        for n in nodes:
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("sail") and n.level == 0:
                subs = {f"{n.module}.{a.name}" for a in n.names} & MODULES
                # "from sail.sim import profiles" imports the submodule; names import the module itself
                out |= subs
                if len(subs) < len(n.names):
                    out.add(n.module)
            elif isinstance(n, ast.Import):
                out |= {a.name for a in n.names if a.name.startswith("sail")}
    return out


def test_no_import_cycle_among_sail_modules():
    mods = {module_name(p): p for p in SOURCES}
    graph = {m: {i for i in _imports(p) if i in mods and i != m} for m, p in mods.items()}
    # a package's __init__ imports its submodules by design; a submodule importing its own package
    # (or a sibling through it) back is a cycle only if the package imports that submodule
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in graph[m]:
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                if not all(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(cycle, cycle[1:])):
                    cycles.append(cycle)
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert cycles == [], cycles


def test_hw_does_not_import_the_cost_model():
    assert "sail.sim.engine" not in SOURCES[LIB / "sim" / "hw.py"]


@pytest.mark.parametrize("mod", sorted({module_name(p) for p in LIB.rglob("*.py")} - {"sail.cli"}))
def test_every_module_imports_on_its_own(mod):
    importlib.import_module(mod)


# ---- I/O faults --------------------------------------------------------------------------------------------
def _full(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("writer", ["write_table", "write_json", "atomic_path"])
@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "existing-file"])
def test_disk_full_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch, writer, existing):
    out = tmp_path / "t.csv"
    if existing:
        out.write_text("old\n")
    monkeypatch.setattr("os.fsync", _full)
    with pytest.raises(OSError, match="No space left"):
        if writer == "write_table":
            write_table(pd.DataFrame({"a": [1]}), out)
        elif writer == "write_json":
            write_json({"a": 1}, out)
        else:
            with atomic_path(out) as tmp:
                tmp.write_text("new")
                _full()
    assert sorted(p.name for p in tmp_path.iterdir()) == (["t.csv"] if existing else [])
    if existing:
        assert out.read_text() == "old\n"


def test_killed_writer_leaves_nothing(tmp_path):
    out = tmp_path / "t.csv"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(out) as fh:
            fh.write("half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
