"""Writing SMTP commands (RFC 5321 section 4.1), with every caller string checked first.

Each function returns the bytes of one command line, CRLF included. Nothing here is sent: the
I/O layer decides when (and how many at once, RFC 2920 pipelining). A caller string that
cannot travel on a command line raises :class:`InvalidArgument` here, before any byte leaves.

ESMTP parameters (RFC 5321 section 4.1.2; RFC 6531 section 3.3 allows UTF-8 in values)::

    esmtp-param    = esmtp-keyword ["=" esmtp-value]
    esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    esmtp-value    = 1*(%d33-60 / %d62-126 / UTF8-non-ascii)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from ..._errors import InvalidArgument
from ..._validate import check_wire_text
from ._address import EnvelopeAddress

__all__ = [
    "auth",
    "bdat",
    "check_param",
    "data",
    "ehlo",
    "helo",
    "mail_from",
    "noop",
    "quit",
    "rcpt_to",
    "rset",
    "starttls",
    "xtext",
]

_ESMTP_PARAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*(?:=[\x21-\x3c\x3e-\x7e\u0080-\U0010ffff]+)?")
# A host name or an address literal: what RFC 5321 4.1.1.1 allows after EHLO / HELO.
_EHLO_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[\x21-\x5a\x5e-\x7e]+\]")

RSET = b"RSET\r\n"
QUIT = b"QUIT\r\n"
NOOP = b"NOOP\r\n"
DATA = b"DATA\r\n"
STARTTLS = b"STARTTLS\r\n"


def _check_name(name: str) -> bytes:
    check_wire_text(name, "EHLO name")
    if not _EHLO_NAME.fullmatch(name):
        raise InvalidArgument(f"EHLO name {name!r} is not a host name or address literal")
    return name.encode("ascii")


def ehlo(name: str) -> bytes:
    """``EHLO name``: greet and ask for the service extensions (RFC 5321 4.1.1.1)."""
    return b"EHLO " + _check_name(name) + b"\r\n"


def helo(name: str) -> bytes:
    """``HELO name``: the fallback greeting of servers without ESMTP."""
    return b"HELO " + _check_name(name) + b"\r\n"


def check_param(param: str) -> str:
    """Return ``param`` if it is a valid ``esmtp-param``.

    Raises:
        InvalidArgument: CR, LF, NUL, spaces or other characters outside the grammar.
    """
    if not isinstance(param, str):
        check_wire_text(param, f"ESMTP parameter {param!r}")  # raises: not a str
    return _check_str_param(param)


# A batch repeats the same few parameters (SIZE=2048, BODY=8BITMIME) in every message; only
# valid ones are kept (a refusal raises, and is never cached).
@functools.lru_cache(maxsize=256)
def _check_str_param(param: str) -> str:
    check_wire_text(param, f"ESMTP parameter {param!r}")
    if not _ESMTP_PARAM.fullmatch(param):
        raise InvalidArgument(f"{param!r} is not a valid ESMTP parameter (keyword[=value])")
    return param


def _with_params(line: str, params: Sequence[str]) -> bytes:
    for param in params:
        line += " " + check_param(param)
    return line.encode("utf-8") + b"\r\n"


def mail_from(sender: EnvelopeAddress, params: Sequence[str] = ()) -> bytes:
    """``MAIL FROM:<sender> params`` (the null reverse-path is ``<>``)."""
    return _with_params(f"MAIL FROM:<{sender.wire}>", params)


def rcpt_to(recipient: EnvelopeAddress, params: Sequence[str] = ()) -> bytes:
    """``RCPT TO:<recipient> params``."""
    return _with_params(f"RCPT TO:<{recipient.wire}>", params)


def data() -> bytes:
    """``DATA``: the server answers 354, then the dot-stuffed content follows."""
    return DATA


def bdat(size: int, *, last: bool) -> bytes:
    """``BDAT size [LAST]`` (RFC 3030): ``size`` octets of content follow the command."""
    if size < 0:
        raise InvalidArgument("a BDAT chunk cannot have a negative size")
    return b"BDAT %d LAST\r\n" % size if last else b"BDAT %d\r\n" % size


def rset() -> bytes:
    """``RSET``: abort the current mail transaction."""
    return RSET


def noop() -> bytes:
    """``NOOP``: ask for a 250 (keeps a connection alive, checks it still works)."""
    return NOOP


def quit() -> bytes:
    """``QUIT``: the server answers 221 and closes."""
    return QUIT


def starttls() -> bytes:
    """``STARTTLS`` (RFC 3207)."""
    return STARTTLS


def auth(mechanism: str, initial: str | None = None) -> bytes:
    """``AUTH mechanism [initial-response]`` (RFC 4954 section 4).

    ``initial`` is already base64 (``"="`` for an empty initial response).
    """
    check_wire_text(mechanism, "SASL mechanism")
    if not re.fullmatch(r"[A-Z0-9_-]{1,20}", mechanism):
        raise InvalidArgument(f"{mechanism!r} is not a SASL mechanism name")
    line = f"AUTH {mechanism}" + (f" {initial}" if initial is not None else "")
    return line.encode("ascii") + b"\r\n"


def xtext(value: str) -> str:
    """Encode ``value`` as RFC 3461 xtext (ENVID, ORCPT).

    ::

        xtext = *( xchar / hexchar )
        xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
                except for "+" and "="
        hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
    """
    out = []
    for byte in value.encode("utf-8"):
        if 33 <= byte <= 126 and byte not in (0x2B, 0x3D):
            out.append(chr(byte))
        else:
            out.append(f"+{byte:02X}")
    return "".join(out)
