"""``sail`` command line. Subcommands register themselves in :data:`SUBCOMMANDS` (name -> (add_args, run,
help)), so other stages can add theirs without touching the dispatcher; ``add_args`` may set the
subparser's ``description`` and ``epilog`` (examples), which are printed verbatim.

    sail simulate                                   # SAIL (config/hw/sail.yaml) at the pipeline's defaults
    sail simulate --batch 16 --compare graviton2    # and its speedup over the Neoverse-N1 CPU

Every user error (a bad value, a missing or malformed file, a closed standard output) ends in one
line on stderr naming the value, and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable

import yaml

import sail
from sail.io import load_yaml

# Widths the simulator's cost models are written for (the kernels and the profiler store codes in
# 8 bits); wider values would be extrapolated, so the command line refuses them.
W_BITS_CHOICES = range(1, 9)
A_BITS_CHOICES = range(1, 9)
# Where the pipeline writes the PRT table, then the committed table of our full run.
PRT_CANDIDATES = ("results/full/profile/prt_hits.csv", "data/reference/profile/prt_hits.csv")


class UsageError(ValueError):
    """A command-line value is wrong; the message names it."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), exit code 2."""

    def error(self, message: str):  # noqa: D401 (argparse API)
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def repo_root() -> Path:
    """The repository holding ``config/hw``: the working directory or one above it, else the package's checkout."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "config" / "hw").is_dir() and (folder / "Snakefile").is_file():
            return folder
    return Path(sail.__file__).resolve().parents[2]


def _pipeline_defaults(root: Path) -> dict:
    """Defaults of `sail simulate` from the pipeline's config (the `full` set's ablation workload and group size)."""
    out = {"model": "llama2-7b", "w_bits": 4, "a_bits": 8, "context": 512, "group_size": 128}
    try:
        cfg = load_yaml((root / "config" / "config.yaml").read_text())
        sim = cfg["experiments"]["full"]["sim"]
        out.update({k: sim["ablation_workload"][k] for k in ("model", "w_bits", "a_bits", "context")})
        out["group_size"] = int(sim["group_size"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        pass  # a checkout without config/ (installed package): the constants above are the same values
    return out


def _int_in(lo: int, hi: int | None, unit: str):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if v < lo or (hi is not None and v > hi):
            span = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"{v} {unit} is outside {span}")
        return v

    return parse


def _parse_set(items: list[str]) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def _hw_path(text: str, root: Path, flag: str) -> Path:
    """A hardware description given as a path or as a stem of config/hw (``graviton2``)."""
    p = Path(text)
    if not p.exists() and not p.suffix and (root / "config" / "hw" / f"{text}.yaml").exists():
        p = root / "config" / "hw" / f"{text}.yaml"
    if p.is_dir():
        raise UsageError(f"{flag} {text!r} is a directory; give a hardware description such as config/hw/sail.yaml")
    if not p.is_file():
        known = sorted(f.stem for f in (root / "config" / "hw").glob("*.yaml"))
        raise UsageError(f"{flag} {text!r}: no such file (and not a name in config/hw: {known})")
    return p


def _load_hw(path: Path, flag: str):
    from sail.sim import load_hw

    p, seen = path, set()
    while p is not None and p not in seen:  # the file and the `base` chain it inherits from
        seen.add(p)
        where = f"{flag} {str(path)!r}" + (f" (its base {str(p)!r})" if p != path else "")
        try:
            doc = load_yaml(p.read_text())
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise UsageError(f"{where}: YAML syntax error{at}: {problem}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{where} is not a text (YAML) file") from None
        except FileNotFoundError:
            raise UsageError(f"{where}: no such file") from None
        base = doc.get("base") if isinstance(doc, dict) else None
        p = p.parent / str(base) if base else None
    return load_hw(path)


def _read_prt(path: Path, flag: str):
    import pandas as pd

    if path.is_dir():
        raise UsageError(f"{flag} {str(path)!r} is a directory; give the profiling stage's prt_hits.csv")
    if not path.is_file():
        raise UsageError(f"{flag} {str(path)!r}: no such file (the profiling stage writes results/<exp>/profile/prt_hits.csv)")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise UsageError(f"{flag} {str(path)!r} is not a readable CSV table: {str(e).splitlines()[0]}") from None


# ---- sail simulate -------------------------------------------------------------------------------

SIMULATE_EPILOG = """\
defaults: the SAIL description config/hw/sail.yaml; the workload and group size of the pipeline's
`full` experiment set (config/config.yaml: sim.ablation_workload, sim.group_size); and pattern reuse
ON with the pipeline's PRT table (results/full/profile/prt_hits.csv if you ran the pipeline, else the
committed table of our full run, data/reference/profile/prt_hits.csv) at the PRT point of the
hardware file (n_bw, dfm.prt_entries; LRU, two's complement, no zero skip).

examples:
  sail simulate
  sail simulate --model llama2-13b --w-bits 2 --batch 32 --context 2048
  sail simulate --batch 16 --compare graviton2          # speedup over the Neoverse-N1 CPU
  sail simulate --hw config/hw/graviton2.yaml --w-bits 4
  sail simulate --no-prt --set csram.arrays_per_slice=16 --set op_profile=gem_forge
  sail simulate --json > point.json                      # every field, seconds and bytes

units: tokens/s are generated tokens per second summed over the batch; latencies in the text output
are milliseconds; JSON fields carry their unit in their name (_s seconds, _bytes bytes).
exit codes: 0 success, 2 bad input (one line on stderr naming the value).
"""


def _simulate_args(p: argparse.ArgumentParser) -> None:
    root = repo_root()
    d = _pipeline_defaults(root)
    p.description = (
        "Simulate one decode step (one generated token per sequence of the batch) of a model on a\n"
        "hardware description, with the analytical simulator of the pipeline (sail.sim)."
    )
    p.epilog = SIMULATE_EPILOG
    default_hw = root / "config" / "hw" / "sail.yaml"
    try:
        default_hw = default_hw.relative_to(Path.cwd())
    except ValueError:
        pass
    p.add_argument(
        "--hw",
        default=str(default_hw),
        metavar="FILE|NAME",
        help="hardware description (YAML), a path or a name in config/hw (sail, graviton2, v100, "
        "neural_cache, bfree, dram_pim, ...) (default: %(default)s)",
    )
    from sail.sim.models import MODELS

    p.add_argument(
        "--model",
        default=d["model"],
        metavar="NAME",
        help=f"decoder shapes to simulate, one of {', '.join(sorted(MODELS))} (default: %(default)s)",
    )
    p.add_argument(
        "--w-bits",
        type=_int_in(W_BITS_CHOICES[0], W_BITS_CHOICES[-1], "bits"),
        default=d["w_bits"],
        metavar="BITS",
        help="weight width in bits per weight, 1..8 (the CPU model covers 2, 3, 4, 8) (default: %(default)s)",
    )
    p.add_argument(
        "--a-bits",
        type=_int_in(A_BITS_CHOICES[0], A_BITS_CHOICES[-1], "bits"),
        default=d["a_bits"],
        metavar="BITS",
        help="activation width in bits per activation, 1..8 (default: %(default)s)",
    )
    p.add_argument(
        "--batch",
        type=_int_in(1, None, "sequences"),
        default=1,
        metavar="N",
        help="sequences decoded together, i.e. tokens per decode step (default: %(default)s)",
    )
    p.add_argument(
        "--context",
        type=_int_in(0, None, "tokens"),
        default=d["context"],
        metavar="TOKENS",
        help="tokens already in each sequence's KV cache; 0 = GEMV only (default: %(default)s)",
    )
    p.add_argument(
        "--group-size",
        type=_int_in(1, None, "weights"),
        default=d["group_size"],
        metavar="WEIGHTS",
        help="weights per quantisation group (one scale and zero-point each); must divide every K "
        "of the model (default: %(default)s)",
    )
    prt = p.add_mutually_exclusive_group()
    prt.add_argument(
        "--prt",
        metavar="CSV",
        help="the profiling stage's PRT table (prt_hits.csv) for SAIL's pattern reuse; SAIL hardware only "
        "(default: the pipeline's table, see below)",
    )
    prt.add_argument(
        "--no-prt", action="store_true", help="simulate SAIL without the Pattern Reuse Table (no pattern reuse)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one hardware parameter of --hw in its file's unit, e.g. --set csram.arrays_per_slice=16 "
        "or --set csram.clock_ghz=3.0 (repeatable)",
    )
    p.add_argument(
        "--compare",
        metavar="BASELINE",
        help="also simulate this hardware description (path or name, e.g. graviton2 or v100) at the same "
        "workload and print the speedup, tokens/s of --hw over tokens/s of BASELINE",
    )
    p.add_argument(
        "--json", action="store_true", help="print every field as JSON (seconds, bytes, tokens/s) instead of text"
    )


def _check_workload(a: argparse.Namespace, hw) -> None:
    from sail.sim.models import get_model

    spec = get_model(a.model)  # ValueError naming the model
    bad = sorted({k for _, _, k, _ in spec.gemv_layers() if k % a.group_size})
    if bad:
        ks = sorted({k for _, _, k, _ in spec.gemv_layers()})
        raise UsageError(
            f"--group-size {a.group_size} does not divide K = {bad[0]} of {a.model} (its K values: {ks}); "
            f"use a divisor such as {_common_divisor(ks, a.group_size)}"
        )
    if hw.system == "sail" and "csram.n_bw" in hw.params:
        n_bw = int(hw.value("csram.n_bw"))
        if a.group_size % n_bw:
            raise UsageError(f"--group-size {a.group_size} is not a multiple of {hw.name}'s csram.n_bw = {n_bw}")


def _common_divisor(ks: list[int], near: int) -> int:
    from math import gcd

    g = 0
    for k in ks:
        g = gcd(g, k)
    divisors = [d for d in range(1, g + 1) if g % d == 0]
    return min(divisors, key=lambda d: (abs(d - near), -d))


def _resolve_prt(a: argparse.Namespace, hw, root: Path):
    """(table or None, path or None, how) for the run: explicit --prt, --no-prt, or the pipeline's default."""
    if a.prt:
        if hw.system != "sail":
            raise UsageError(
                f"--prt {a.prt!r} applies to SAIL hardware only; --hw {a.hw!r} is a {hw.system!r} description"
            )
        return _read_prt(Path(a.prt), "--prt"), a.prt, "given"
    if a.no_prt or hw.system != "sail":
        return None, None, "off"
    for cand in PRT_CANDIDATES:
        if (root / cand).is_file():
            return _read_prt(root / cand, "default PRT table"), cand, "default"
    return None, None, "none found"


def _simulate_point(hw, a, overrides, prt):
    from sail.sim import simulate

    return simulate(
        hw,
        model=a.model,
        w_bits=a.w_bits,
        a_bits=a.a_bits,
        batch=a.batch,
        context=a.context,
        overrides=overrides,
        group_size=a.group_size,
        prt=prt,
    )


def _simulate_run(a: argparse.Namespace) -> int:
    root = repo_root()
    out = _stdout()  # a closed stdout is an error before any work
    hw = _load_hw(_hw_path(a.hw, root, "--hw"), "--hw")
    _check_workload(a, hw)
    overrides = _parse_set(a.set)
    prt, prt_path, prt_how = _resolve_prt(a, hw, root)
    try:
        r = _simulate_point(hw, a, overrides, prt)
    except ValueError as e:
        if prt_how == "default" and "PRT table" in str(e):
            raise UsageError(f"{e} (the default PRT table {prt_path}); pass --no-prt or --prt CSV") from None
        if prt_how == "given" and "PRT table" in str(e):
            raise UsageError(f"{e} (--prt {prt_path!r})") from None
        raise
    base = ratio = None
    if a.compare:
        bhw = _load_hw(_hw_path(a.compare, root, "--compare"), "--compare")
        _check_workload(a, bhw)
        base = _simulate_point(bhw, a, None, prt if bhw.system == "sail" else None)
        ratio = r.tokens_per_s / base.tokens_per_s
    if a.json:
        d = r.to_dict() | {"prt_table": prt_path, "group_size": a.group_size}
        if base is not None:
            d |= {"baseline": base.to_dict(), "speedup_vs_baseline": ratio}
        _emit(out, json.dumps(d, indent=2, sort_keys=True) + "\n")
        return 0
    lines = [
        f"{r.hw} ({r.system}) {r.model} w{r.w_bits}a{r.a_bits} batch={r.batch} context={r.context} "
        f"group_size={a.group_size}"
    ]
    if hw.system == "sail":
        what = {
            "given": f"PRT table {prt_path}",
            "default": f"PRT table {prt_path} (default)",
            "off": "PRT off (--no-prt)",
            "none found": "PRT off (no table found; run the profile stage or pass --prt)",
        }[prt_how]
        lines.append(f"  {what}: {100 * r.prt_avoided_fraction:.1f} % of C-SRAM lookups avoided")
    lines += [
        f"  {'tokens/s (batch total)':<30} {r.tokens_per_s:12.2f}",
        f"  {'memory-bound tokens/s':<30} {r.memory_bound_tokens_per_s:12.2f}",
        f"  {'compute-bound tokens/s':<30} {r.compute_bound_tokens_per_s:12.2f}",
        f"  {'decode step (ms)':<30} {r.step_s * 1e3:12.3f}",
        f"  {'DRAM traffic per step (MB)':<30} {r.dram_bytes / 1e6:12.1f}",
        f"  {'breakdown of the step':<30} {'ms':>12}  {'% of step':>9}",
    ]
    for k, v in r.breakdown_s.items():
        if v:  # JSON key without its _s suffix: the column is in ms
            name = k[:-2] if k.endswith("_s") else k
            lines.append(f"    {name:<28} {v * 1e3:12.3f}  {100 * v / r.step_s:7.1f} %")
    if base is not None:
        lines.append(
            f"  baseline {base.hw} ({base.system}): {base.tokens_per_s:.2f} tokens/s, "
            f"decode step {base.step_s * 1e3:.3f} ms"
        )
        lines.append(f"  speedup of {r.hw} over {base.hw} (tokens/s ratio): {ratio:.2f}x")
    _emit(out, "\n".join(lines) + "\n")
    return 0


# ---- output --------------------------------------------------------------------------------------


def _stdout():
    out = sys.stdout
    if out is None or getattr(out, "closed", False):
        raise UsageError("standard output is closed; nothing can be written (redirect it to a file instead)")
    return out


def _emit(out, text: str) -> None:
    try:
        out.write(text)
        out.flush()
    except (BrokenPipeError, ValueError, OSError) as e:
        # Python would flush stdout again at exit and print a second error: point it at /dev/null.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        except (OSError, ValueError):
            pass
        raise UsageError(f"cannot write to standard output: {e.__class__.__name__}: {e}") from None


SUBCOMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "simulate": (_simulate_args, _simulate_run, "simulate one decode design point (sail.sim)"),
    "generate": (lambda p: _generate().cli_args(p), lambda a: _generate().cli_run(a),
                 "greedy SmolLM2 decode through the LUT kernels vs llama-bench (sail.kernels.generate)"),
}


def _generate():
    from sail.kernels import generate

    return generate


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sail",
        description="Tools of the SAIL reproduction artifact (arXiv 2509.25853).",
        epilog="Run 'sail <command> --help' for a command's flags, units and examples.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {sail.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (add_args, run, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, formatter_class=argparse.RawDescriptionHelpFormatter)
        add_args(sp)
        sp.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version (0) and usage errors (2)
        return e.code if isinstance(e.code, int) else 2
    from sail.sim.hw import HwError, NotModelled

    try:
        return args._run(args)
    except (UsageError, HwError, NotModelled, ValueError, OSError, yaml.YAMLError) as e:
        msg = " ".join(str(e).split()) or e.__class__.__name__
        print(f"sail {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
