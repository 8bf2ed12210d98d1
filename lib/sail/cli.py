"""``sail`` command line. Subcommands register themselves in :data:`SUBCOMMANDS` (name -> (add_args, run)),
so other stages can add theirs without touching the dispatcher.

    sail simulate --hw config/hw/sail.yaml --model llama2-7b --w-bits 4 --a-bits 8 --batch 16 --context 512
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable


def _parse_set(items: list[str]) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"--set expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def _simulate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hw", required=True, help="hardware description, e.g. config/hw/sail.yaml")
    p.add_argument(
        "--model", required=True, help="llama2-7b, llama2-13b, llama2-70b, llama3-8b, smollm2-135m"
    )
    p.add_argument("--w-bits", type=int, required=True)
    p.add_argument("--a-bits", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--context", type=int, required=True)
    p.add_argument("--group-size", type=int, default=128)
    p.add_argument("--prt", help="the profiling stage's prt_hits.csv (SAIL only; default: no pattern reuse)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a hardware parameter, e.g. --set csram.arrays_per_slice=16",
    )
    p.add_argument("--json", action="store_true", help="print the full result as JSON")


def _simulate_run(a: argparse.Namespace) -> int:
    import pandas as pd

    from sail.sim import load_hw, simulate

    hw = load_hw(a.hw)
    prt = pd.read_csv(a.prt) if a.prt else None
    r = simulate(
        hw,
        model=a.model,
        w_bits=a.w_bits,
        a_bits=a.a_bits,
        batch=a.batch,
        context=a.context,
        overrides=_parse_set(a.set),
        group_size=a.group_size,
        prt=prt,
    )
    if a.json:
        print(json.dumps(r.to_dict(), indent=2, sort_keys=True))
        return 0
    print(f"{r.hw} ({r.system}) {r.model} w{r.w_bits}a{r.a_bits} batch={r.batch} context={r.context}")
    print(f"  tokens/s                 {r.tokens_per_s:12.2f}")
    print(f"  memory bound tokens/s    {r.memory_bound_tokens_per_s:12.2f}")
    print(f"  compute bound tokens/s   {r.compute_bound_tokens_per_s:12.2f}")
    print(f"  step latency             {r.step_s * 1e3:12.3f} ms")
    print("  breakdown (ms, sums to the step):")
    for k, v in r.breakdown_s.items():
        if v:
            print(f"    {k:<22} {v * 1e3:12.3f}  ({100 * v / r.step_s:5.1f} %)")
    return 0


SUBCOMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "simulate": (_simulate_args, _simulate_run, "simulate one decode design point (sail.sim)"),
    "generate": (lambda p: _generate().cli_args(p), lambda a: _generate().cli_run(a),
                 "greedy SmolLM2 decode through the LUT kernels vs llama-bench (sail.kernels.generate)"),
}


def _generate():
    from sail.kernels import generate

    return generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sail", description="SAIL artifact tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (add_args, run, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text)
        add_args(sp)
        sp.set_defaults(_run=run)
    args = parser.parse_args(argv)
    from sail.sim.hw import HwError, NotModelled

    try:
        return args._run(args)
    except (HwError, NotModelled, ValueError) as e:
        print(f"sail {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
