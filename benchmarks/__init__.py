"""unimail's benchmark suite: unimail beside the standard library, the best peers and the wire.

Run the quick mode (prints a Markdown table) with ``python3 -m benchmarks``; the full mode
(``python3 -m benchmarks --full``) also writes JSON. See ``docs/performance.md``.

Every job measures each contender (unimail sync and async, each peer that can do the job, and a
*limit*: the least work that still does the job, such as a raw socket) in the same run,
round-robin, so that the ratios compare figures taken under the same machine load.
"""

import sys
from pathlib import Path

# Measure the unimail of this checkout, whatever another install of it says (as the tests do
# with pytest's pythonpath = ["src"]): this runs before any job module imports unimail.
_SRC = Path(__file__).resolve().parent.parent / "src"
if (_SRC / "unimail").is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))
