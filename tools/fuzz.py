"""Run the parser fuzz properties (tests/test_fuzz.py) with a large budget.

Usage: ``python3 tools/fuzz.py [--examples N] [pytest arguments...]``

Every property of tests/test_fuzz.py (IMAP responses, SMTP replies, POP3 replies and
listings, SASL challenges, nesting depth) gets ``N`` generated inputs (default 20,000; the
test suite uses 150), without the suite's per-test timeout. The exit status is pytest's: 0 when
no input made a parser raise anything but a library error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Parse the arguments and run pytest on the fuzz module."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000, help="inputs per property")
    known, rest = parser.parse_known_args()
    env = dict(os.environ, UNIMAIL_FUZZ_EXAMPLES=str(known.examples))
    command = [
        sys.executable, "-m", "pytest", "tests/test_fuzz.py", "--timeout=0", "-q",
        "--hypothesis-show-statistics", *rest,
    ]  # fmt: skip
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
