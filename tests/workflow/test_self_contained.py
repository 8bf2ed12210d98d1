"""The repository stands alone: no pointer to a document outside it, every cited source in the
bibliography (docs/sources.md), the docs index complete, and the artifact conventions (CITATION.cff,
CHANGELOG.md, one version, notebooks committed without outputs) in place."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

import sail

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ["lib", "workflow", "notebooks", "config", "tests", "docs", "data/reference", "README.md",
           "CHANGELOG.md", "data/prices.csv", "data/calibration", "Makefile", "Snakefile", "pyproject.toml"]
TEXT = {".py", ".smk", ".yaml", ".yml", ".md", ".rst", ".ipynb", ".csv", ".toml", ".txt", ".cff", ".json",
        ".sh", ""}
# Pointers to the team's private notes, assembled from pieces so this file does not match itself.
OUTSIDE = [
    re.compile(r"\b" + "SP" + r"EC\b"),  # the product description the artifact was built from
    # its research notes, cited by file or section ("YAML anchors" is fine)
    re.compile("anc" + r"hors(_\w+|\s+(section\s+)?[A-D]?\.?\d|\s+sail)", re.IGNORECASE),
    re.compile("sail" + "_paper"),
    re.compile("fault" + "_cases"),
    re.compile(r"\.\./" + "shared"),
    re.compile("reference " + "note", re.IGNORECASE),
]
# written by other tasks of this release, merged after this one
OWN_LATER = {"docs/simulator.md", "docs/baselines.md", "docs/claims.md", "docs/energy_prefill.md", "docs/kernels.md",
             "docs/contracts.md", "docs/quant.md"}


def _files():
    for item in SCANNED:
        p = ROOT / item
        paths = [p] if p.is_file() else sorted(p.rglob("*")) if p.is_dir() else []
        for f in paths:
            if f.is_file() and f.suffix in TEXT and "__pycache__" not in f.parts:
                yield f


def test_no_pointer_to_a_document_outside_the_repository():
    hits = []
    for f in _files():
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            if any(p.search(line) for p in OUTSIDE):
                hits.append(f"{f.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, "cite the paper, datasheet or URL instead:\n" + "\n".join(hits)


def _markers() -> list[str]:
    text = (ROOT / "docs" / "sources.md").read_text()
    out = []
    for m in re.finditer(r"Markers?:((?:[^\n]|\n(?!\n))*)", text):  # up to the end of the paragraph
        out += re.findall(r"`([^`]+)`", m.group(1))
    return out


def _cited_sources():
    for f in sorted((ROOT / "config" / "hw").glob("*.yaml")):
        doc = yaml.safe_load(f.read_text())
        entries = list((doc.get("options") or {}).items())
        for section, params in (doc.get("params") or {}).items():
            entries += [(f"{section}.{k}", v) for k, v in params.items()]
        for key, p in entries:
            src = str(p.get("source", ""))
            if src.startswith(("paper", "other:")):
                yield f.name, key, src


def test_every_cited_source_is_in_the_bibliography():
    markers = _markers()
    assert len(markers) >= 20, markers
    cited = list(_cited_sources())
    assert len(cited) >= 30
    missing = [f"{f} {key}: {src}" for f, key, src in cited if not any(m in src for m in markers)]
    assert not missing, "add an entry (with its Markers:) to docs/sources.md for:\n" + "\n".join(missing)


def test_docs_index_links_every_doc_and_every_link_resolves():
    index = (ROOT / "docs" / "README.md").read_text()
    for doc in sorted((ROOT / "docs").glob("*.md")):
        if doc.name != "README.md":
            assert f"({doc.name})" in index, f"docs/README.md does not link {doc.name}"
    missing = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "config" / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # a URL
            path = (page.parent / target).resolve()
            if not path.exists():
                rel = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else target
                missing.append((str(page.relative_to(ROOT)), target, rel))
    broken = [f"{page} links {target}" for page, target, rel in missing if rel not in OWN_LATER]
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)
    if missing:
        pytest.skip(f"linked, written by other tasks, not merged yet: {sorted({m[2] for m in missing})}")


def test_citation_cff_follows_cff_1_2_0():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "date-released", "license", "preferred-citation"):
        assert cff.get(key), key
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"]))
    for person in cff["authors"] + cff["preferred-citation"]["authors"]:
        assert person.get("family-names") or person.get("name"), person
    pc = cff["preferred-citation"]
    assert pc["type"] == "article" and "2509.25853" in str(pc.get("identifiers", "")) + str(pc.get("url", ""))
    # the official schema (tests/workflow/fixtures/README.md says where it comes from)
    import json

    import jsonschema

    schema = json.loads((ROOT / "tests" / "workflow" / "fixtures" / "cff-1.2.0.schema.json").read_text())
    doc = cff | {"date-released": str(cff["date-released"])}  # YAML reads a bare date as a date
    errors = [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
    assert not errors, errors


def test_one_version_everywhere():
    v = sail.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", v)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pyproject.get("version", v) == v or "version" in pyproject.get("dynamic", [])
    assert str(yaml.safe_load((ROOT / "CITATION.cff").read_text())["version"]) == v
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases and releases[0] == v, releases


def test_notebooks_are_committed_without_outputs():
    attrs = (ROOT / ".gitattributes").read_text()
    assert re.search(r"^\*\.ipynb\s+.*filter=nbstripout", attrs, re.M)
    exe = shutil.which("nbstripout")
    if exe is None:
        pytest.skip("nbstripout is not on PATH (it is pinned in requirements.txt)")
    notebooks = sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))
    r = subprocess.run([exe, "--keep-id", "--dry-run", *notebooks], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "", "strip with `nbstripout --keep-id notebooks/*.ipynb`:\n" + r.stdout


# Mappings whose keys are data (hardware keys, labels, decode columns), documented as a whole.
OPEN_MAPPINGS = {"sim.sensitivity", "sim.cpu_baselines", "cost.figure_select", "cost.systems", "cost.match_on",
                 "cost.sensitivity",
                 "quant.mixed", "profile.plot", "sim.ablation_workload", "kernels.exactness",
                 "kernels.lut_example", "kernels.decode", "kernels.e2e", "model", "corpus", "experiments"}


def _config_keys(node, prefix=""):
    for k, v in node.items():
        key = f"{prefix}{k}"
        yield key
        if isinstance(v, dict) and key not in OPEN_MAPPINGS:
            yield from _config_keys(v, key + ".")


def test_config_readme_documents_every_key():
    readme = (ROOT / "config" / "README.md").read_text()
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    keys = {k for k in _config_keys({k: v for k, v in cfg.items() if k != "experiments"})}
    for exp in cfg["experiments"].values():
        keys |= set(_config_keys(exp))
    hw_keys = set()
    for f in (ROOT / "config" / "hw").glob("*.yaml"):
        doc = yaml.safe_load(f.read_text())
        hw_keys |= set(doc.get("options") or {})
        hw_keys |= {f"{s}.{k}" for s, ps in doc["params"].items() for k in ps}
    # a field of a nested record (kernels.bench.reps) may be named by its own name in its parent's row
    def documented(k):
        return f"`{k}`" in readme or (k.count(".") >= 2 and f"`{k.rsplit('.', 1)[1]}`" in readme)

    missing = sorted(k for k in keys | hw_keys if not documented(k))
    assert not missing, "describe these keys in config/README.md: " + ", ".join(missing)
