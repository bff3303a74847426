"""``python3 -m benchmarks``: the quick mode, printing a Markdown table.

``python3 -m benchmarks --full`` runs the full sizes and also writes every figure as JSON.
Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
from pathlib import Path

from ._env import FULL, QUICK, SMOKE, servers_for_benchmarks
from ._report import machine, markdown, to_json
from ._suite import JOBS, SUBJOBS, run_suite


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the suite, print (and for --full, save) the report."""
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="full sizes; also write JSON")
    size.add_argument("--smoke", action="store_true", help="tiny sizes, one round (CI check)")
    parser.add_argument("--json", type=Path, help="write the JSON report here too")
    parser.add_argument(
        "--only",
        default=",".join(JOBS),
        help=f"comma-separated jobs among {', '.join(JOBS)}, or parts of one: {', '.join(SUBJOBS)}",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help=f"measured rounds per job (default: {QUICK.repeats}, in full mode "
        f"{FULL.repeats}); more rounds steady the ratios on a machine whose speed varies",
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(only) - set(JOBS) - set(SUBJOBS)
    if unknown:
        parser.error(f"unknown jobs: {', '.join(sorted(unknown))}")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    mode = FULL if args.full else SMOKE if args.smoke else QUICK
    if args.rounds is not None:
        mode = dataclasses.replace(mode, repeats=args.rounds)
    command = "python3 -m benchmarks" + " ".join(
        ["", *(argv if argv is not None else sys.argv[1:])]
    )
    with servers_for_benchmarks() as target:
        jobs = run_suite(mode, target, only)
    info = machine()
    print(markdown(jobs, info, command.rstrip()))
    json_path = args.json
    if json_path is None and args.full:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        json_path = Path(f"benchmarks/results-{stamp}.json")
    if json_path is not None:
        json_path.write_text(to_json(jobs, info, command) + "\n", encoding="utf-8")
        print(f"\nJSON written to {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
