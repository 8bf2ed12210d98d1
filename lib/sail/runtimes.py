"""Per-job wall times from a Snakemake log, for the README's run-time column.

``python -m sail.runtimes .snakemake/log/<run>.snakemake.log`` prints one line per job (rule,
seconds from start to finish, as the log's one-second timestamps give them) and the run's span.
Jobs overlap when ``--cores`` > 1, so the per-job times add up to more than the span.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime

_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_START = re.compile(r"^(?:local)?rule (\w+):$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")
_END = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


def job_times(lines) -> tuple[list[tuple[str, float]], float]:
    """[(rule, seconds)] in finishing order, and the span from first start to last finish in seconds."""
    stamp = None
    pending_rule = None
    started: dict[str, tuple[str, datetime]] = {}
    done, first, last = [], None, None
    for line in lines:
        line = line.rstrip("\n")
        if m := _STAMP.match(line):
            stamp = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif m := _START.match(line):
            pending_rule = m.group(1)
        elif (m := _JOBID.match(line)) and pending_rule and stamp:
            started[m.group(1)] = (pending_rule, stamp)
            first = first or stamp
            pending_rule = None
        elif (m := _END.match(line)) and m.group(1) in started and stamp:
            rule, t0 = started.pop(m.group(1))
            done.append((rule, (stamp - t0).total_seconds()))
            last = stamp
    span = (last - first).total_seconds() if first and last else 0.0
    return done, span


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m sail.runtimes",
        description="Per-job wall times (seconds) from one Snakemake log, and the span of the run.",
        epilog="example:\n  python -m sail.runtimes .snakemake/log/$(ls -t .snakemake/log | head -1)\n\n"
        "Jobs overlap when --cores > 1, so the per-job times add up to more than the span.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("log", help="a Snakemake log, .snakemake/log/<date>.snakemake.log")
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else 2
    try:
        with open(args.log) as fh:
            done, span = job_times(fh)
    except (OSError, UnicodeDecodeError) as e:
        print(f"python -m sail.runtimes: error: cannot read {args.log!r}: {e.__class__.__name__}", file=sys.stderr)
        return 2
    for rule, seconds in done:
        print(f"{rule:32s} {seconds:8.0f} s")
    print(f"{'(span of the run)':32s} {span:8.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
