"""The ``unimail`` command line (also ``python -m unimail``), for automation scripts.

Commands: ``folders``, ``search``, ``fetch``, ``send``, ``copy``, ``watch``, ``discover``; run
``unimail COMMAND --help`` for each, and see docs/cli.md for the exit codes and where
passwords come from (never from the command line). Errors are one line on standard error, no
traceback; ``--json`` prints machine-readable results on standard output.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

import unimail

from . import _copy, _discover, _fetch, _read, _send, _watch
from ._common import EXIT_INTERRUPTED, EXIT_USAGE, UsageError, exit_code

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``unimail`` command line."""
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument("--json", action="store_true", help="print results as JSON")
    common.add_argument(
        "--cafile", metavar="PATH", help="trust the CA certificates in this PEM file"
    )
    common.add_argument(
        "--timeout", type=_seconds, default=60.0, metavar="SECONDS",
        help="seconds each network operation may take (default 60)",
    )  # fmt: skip
    common.add_argument(
        "-v", "--verbose", action="store_true",
        help="print the protocol trace on standard error (secrets are redacted)",
    )  # fmt: skip
    parser = argparse.ArgumentParser(
        prog="unimail",
        allow_abbrev=False,
        description="Read, search, fetch, send, copy and watch mail over IMAP, POP3 and SMTP.",
        epilog="Exit codes: 0 ok, 1 error, 2 usage, 3 connection, 4 TLS, 5 authentication, "
        "6 refused by the server, 7 unsupported, 8 protocol, 9 partly failed, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"unimail {unimail.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (_read, _fetch, _send, _copy, _watch, _discover):
        module.add_parsers(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Args:
        argv: the arguments, without the program name.

    Returns:
        The exit code (0 ok; see docs/cli.md for the others).
    """
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        # argparse leaves a positional list that follows an option unparsed ("fetch URL
        # --folder X 7 8"): take those uids; anything else is a usage error.
        if extra and (not hasattr(args, "uids") or any(e.startswith("-") for e in extra)):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if extra:
            args.uids = [*args.uids, *extra]
    except SystemExit as exc:  # --help, --version, or a usage error argparse printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.verbose:
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(message)s")
        logging.getLogger("unimail.protocol").setLevel(logging.DEBUG)
    run: Command = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        sys.stderr.write("unimail: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (| head): not an error of ours. Point stdout at /dev/null so
        # that Python's final flush does not complain about the closed pipe.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        return 0
    except (unimail.UnimailError, UsageError, OSError) as exc:
        sys.stderr.write(f"unimail: error: {_one_line(exc)}\n")
        return exit_code(exc)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or text}"
    return " ".join(text.split())


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value
