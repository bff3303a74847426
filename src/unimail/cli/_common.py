"""What every command of the ``unimail`` command line shares: exit codes, passwords, opening
a mailbox or a transport, and printing (text for people, ``--json`` for scripts).

The command line uses the library's public API only (``import unimail``), like any script.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import netrc
import os
import ssl
import sys
import urllib.parse
from collections.abc import Iterator
from typing import IO, Any

import unimail

__all__ = [
    "EXIT_AUTH",
    "EXIT_CONNECT",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_PROTOCOL",
    "EXIT_REFUSED",
    "EXIT_TLS",
    "EXIT_UNSUPPORTED",
    "EXIT_USAGE",
    "UsageError",
    "exit_code",
    "open_mailbox",
    "open_transport",
    "password_for",
    "print_json",
]

# The exit codes (docs/cli.md lists them; scripts depend on them: never renumber).
EXIT_OK = 0
EXIT_ERROR = 1  # anything else: a file that cannot be written, an unexpected error
EXIT_USAGE = 2  # bad arguments or options (argparse uses 2 too), unimail.InvalidArgument
EXIT_CONNECT = 3  # ConnectError, ConnectionLost, Timeout: try again later
EXIT_TLS = 4  # TLSError: a certificate or handshake problem
EXIT_AUTH = 5  # AuthenticationError: credentials refused or no acceptable mechanism
EXIT_REFUSED = 6  # CommandError (FolderNotFound, SendError...): the server said no
EXIT_UNSUPPORTED = 7  # UnsupportedOperation: this backend or server cannot do it
EXIT_PROTOCOL = 8  # ProtocolError, LimitExceeded: the server misbehaved
EXIT_PARTIAL = 9  # the command finished, but some messages or recipients failed
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)

_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (unimail.InvalidArgument, EXIT_USAGE),
    (unimail.TLSError, EXIT_TLS),
    (unimail.ConnectError, EXIT_CONNECT),
    (unimail.ConnectionLost, EXIT_CONNECT),
    (unimail.Timeout, EXIT_CONNECT),
    (unimail.AuthenticationError, EXIT_AUTH),
    (unimail.CommandError, EXIT_REFUSED),
    (unimail.UnsupportedOperation, EXIT_UNSUPPORTED),
    (unimail.ProtocolError, EXIT_PROTOCOL),
)


class UsageError(Exception):
    """The command line is wrong in a way argparse cannot see (exit code 2)."""


def exit_code(error: BaseException) -> int:
    """Return the exit code for ``error`` (see the table above)."""
    if isinstance(error, UsageError):
        return EXIT_USAGE
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return EXIT_ERROR


def add_password_options(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """Add ``--{prefix}password-env/-file/-prompt`` to ``parser``."""
    group = parser.add_mutually_exclusive_group()
    dest = prefix.replace("-", "_")
    group.add_argument(
        f"--{prefix}password-env", metavar="VAR", dest=f"{dest}password_env",
        help="read the password from this environment variable",
    )  # fmt: skip
    group.add_argument(
        f"--{prefix}password-file", metavar="PATH", dest=f"{dest}password_file",
        help="read the password from the first line of this file",
    )  # fmt: skip
    group.add_argument(
        f"--{prefix}password-prompt", action="store_true", dest=f"{dest}password_prompt",
        help="ask for the password on the terminal",
    )  # fmt: skip


def password_for(args: argparse.Namespace, url: str, prefix: str = "") -> str | None:
    """Return the password for ``url`` from the sources the options name, else from the
    default sources: ``$UNIMAIL_PASSWORD`` (``$UNIMAIL_DEST_PASSWORD`` for a copy's
    destination), then ``~/.netrc`` (or ``$NETRC``), then a prompt when there is a terminal.

    Raises:
        UsageError: a named source is missing or empty.
    """
    dest = prefix.replace("-", "_")
    variable = getattr(args, f"{dest}password_env", None)
    path = getattr(args, f"{dest}password_file", None)
    if variable is not None:
        value = os.environ.get(variable)
        if not value:
            raise UsageError(f"the environment variable {variable} is not set")
        return value
    if path is not None:
        try:
            with open(path, encoding="utf-8") as file:
                value = file.readline().rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"cannot read the password file {path}: {exc.strerror}") from None
        if not value:
            raise UsageError(f"the password file {path} is empty")
        return value
    if getattr(args, f"{dest}password_prompt", False):
        return getpass.getpass(f"Password for {_redacted(url)}: ")
    default = os.environ.get("UNIMAIL_DEST_PASSWORD" if prefix else "UNIMAIL_PASSWORD")
    if default:
        return default
    found = _from_netrc(url)
    if found is not None:
        return found
    if sys.stdin.isatty() and _host(url)[0] is not None:
        return getpass.getpass(f"Password for {_redacted(url)}: ")
    return None


def _host(url: str) -> tuple[str | None, str | None]:
    if "://" not in url:
        if "@" in url and ":" not in url:  # a bare address: the domain is the host to ask
            return url.rpartition("@")[2], url
        return None, None
    parts = urllib.parse.urlsplit(url)
    user = urllib.parse.unquote(parts.username) if parts.username else None
    return parts.hostname, user


def _from_netrc(url: str) -> str | None:
    host, user = _host(url)
    if host is None:
        return None
    try:
        entries = netrc.netrc(os.environ.get("NETRC"))
    except (OSError, netrc.NetrcParseError):
        return None  # no netrc, or one that cannot be read: not a source then
    found = entries.authenticators(host)
    if found is None:
        return None
    login, _account, password = found
    if user is not None and login and login != user:
        return None
    return password or None


def _redacted(url: str) -> str:
    return url if "://" not in url else url.split("://", 1)[1]


def _context(args: argparse.Namespace) -> ssl.SSLContext | None:
    cafile = getattr(args, "cafile", None)
    if cafile is None:
        return None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the CA file {cafile}: {exc}") from None


def open_mailbox(args: argparse.Namespace, url: str, prefix: str = "") -> unimail.Mailbox:
    """Open the mailbox at ``url`` with the password and TLS options of ``args``."""
    return unimail.Mailbox.open(
        url,
        password=password_for(args, url, prefix),
        ssl_context=_context(args),
        timeout=args.timeout,
    )


def open_transport(args: argparse.Namespace, url: str) -> unimail.Transport:
    """Open the transport at ``url`` with the password and TLS options of ``args``."""
    return unimail.Transport.open(
        url, password=password_for(args, url), ssl_context=_context(args), timeout=args.timeout
    )


def print_json(value: Any, out: IO[str] | None = None) -> None:
    """Print ``value`` as one line of JSON."""
    stream = out if out is not None else sys.stdout
    stream.write(json.dumps(value, ensure_ascii=False, default=str) + "\n")
    stream.flush()


@contextlib.contextmanager
def binary_stdout() -> Iterator[IO[bytes]]:
    """Yield the binary standard output (flushed at the end)."""
    sys.stdout.flush()
    out = sys.stdout.buffer
    try:
        yield out
    finally:
        out.flush()
