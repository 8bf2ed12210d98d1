"""A throw-away copy of the workflow with the cost stage's fixtures as upstream results.

The reliability tests run real `snakemake` processes, but only on the cost stage's cheap script
rules (each job is one Python start-up plus a few pandas operations), seeded with the hand-made
fixtures of tests/cost/fixtures as the simulator's outputs. They copy the repository rather than
running in it, so they never touch a developer's results/ or .snakemake/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


from sail.claims import ClaimResult, write_claim

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "cost" / "fixtures"
COPY = ["Snakefile", "workflow", "config", "lib", "notebooks", "data/prices.csv"]
# Claims of the other stages, stand-ins so tab04_claims can run in this copy.
OTHER_CLAIMS = ["speedup_cpu", "prt_cycles", "area_overhead", "arbitrary_precision", "type_conversion"]
# The cheap subset of the quick DAG: three script jobs of the cost stage plus tab04.
TARGETS = ["cost_claims", "cost_sensitivity", "tab04_claims"]
# Only the cost stage's rules may run: once the other stages are merged, their rules would
# otherwise try to rebuild the fixture "upstream" files from scratch.
ALLOWED = ["--allowed-rules", "cost_tpd", "cost_claims", "cost_sensitivity", "tab04_claims", "fig07_cost"]


def snakemake_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(root / "lib")  # the copy's sail package, not an installed one
    return env


def make_copy(dest: Path) -> Path:
    for rel in COPY:
        src, dst = REPO / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(src, dst)
    sim = dest / "results" / "quick" / "sim"
    sim.mkdir(parents=True)
    for name in ("decode.csv", "area.csv", "energy.csv"):
        shutil.copyfile(FIXTURES / name, sim / name)
    for claim_id in OTHER_CLAIMS:
        write_claim(ClaimResult(claim_id, "stand-in", "fixture", "not testable", "test stand-in"),
                    dest / "results" / "quick" / "claims" / f"{claim_id}.csv")
    return dest


def snakemake(root: Path, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    cmd = [str(Path(sys.executable).parent / "snakemake"), *args, *ALLOWED]
    proc = subprocess.run(cmd, cwd=root, env=snakemake_env(root), capture_output=True, text=True, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def output_tables(root: Path) -> dict[str, bytes]:
    """Every CSV/MD/TEX the targets wrote, by path relative to the copy."""
    out = {}
    for sub in ("results/quick/cost", "results/quick/claims", "results/quick/figures"):
        for p in sorted((root / sub).glob("*")):
            if p.suffix in (".csv", ".md", ".tex"):
                out[str(p.relative_to(root))] = p.read_bytes()
    return out
