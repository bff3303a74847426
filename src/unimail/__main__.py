"""``python -m unimail``: the ``unimail`` command line (see ``unimail.cli``)."""

from __future__ import annotations

from unimail.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
