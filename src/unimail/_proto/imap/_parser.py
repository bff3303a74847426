"""Reading one framed IMAP response into a :class:`Response` (RFC 9051 section 7, 9).

Grammar, abridged from RFC 9051 section 9::

    response-tagged  = tag SP resp-cond-state CRLF
    resp-cond-state  = ("OK" / "NO" / "BAD") SP resp-text
    resp-text        = ["[" resp-text-code "]" SP] [text]
    response-data    = "*" SP (resp-cond-state / resp-cond-bye / mailbox-data /
                       message-data / capability-data / enable-data) CRLF
    message-data     = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att))
    mailbox-data     = number SP "EXISTS" / "FLAGS" SP flag-list / "LIST" SP mailbox-list / ...
    continue-req     = "+" SP (resp-text / base64) CRLF

Status responses (OK, NO, BAD, BYE, PREAUTH, tagged replies, continuations) keep their
human text and optional response code. Every other response is tokenised into a list of
values, which the per-command modules (``_list.py``, ``_fetch.py``, ...) interpret:

============================  ================================
``NIL``                       ``None``
a number                      ``int`` (``str`` in LIST, LSUB and STATUS, whose
                              mailbox names may look like numbers or NIL)
any other atom                ``str`` (``\\Seen``, ``BODY[HEADER]<0>``)
a quoted string or literal    ``bytes``
a parenthesised list          ``list``
============================  ================================
"""

from __future__ import annotations

import re
from collections.abc import Callable

import attrs

from ..._errors import LimitExceeded, ProtocolError
from ._framing import Frame

__all__ = ["Response", "parse_response"]

_STATUS = frozenset({"OK", "NO", "BAD", "BYE", "PREAUTH"})
_NAMED = frozenset({"LIST", "LSUB", "STATUS"})

# One token at a time. An atom may carry a section spec in brackets, which itself may hold
# spaces and parentheses (BODY[HEADER.FIELDS (SUBJECT FROM)]), and a partial range <0.100>.
_TOKEN = re.compile(
    rb"""
      (?P<sp>\x20+)
    | (?P<open>\()
    | (?P<close>\))
    | "(?P<quoted>(?:[^"\\\r\n]|\\.)*)"
    | \{(?P<literal>\d+)\+?\}\Z
    | (?P<atom>[^\x00-\x20()"{\x7f\[\]]*(?:\[[^\]]*\](?:<[0-9.]+>)?)?[^\x00-\x20()"{\x7f\[]*)
    """,
    re.VERBOSE | re.DOTALL,
)
_UNESCAPE = re.compile(rb"\\(.)", re.DOTALL)
_CODE = re.compile(rb"\[([^\]\x20]+)(?:\x20([^\]]*))?\]\x20?")


@attrs.frozen(kw_only=True)
class Response:
    """One server response.

    Attributes:
        tag: ``"*"`` for untagged data, ``"+"`` for a continuation request, else the tag.
        name: the response name in upper case (``"OK"``, ``"FETCH"``, ``"LIST"``), ``""`` for
            a continuation.
        number: the leading number of ``* 5 EXISTS`` / ``* 5 FETCH``, else ``None``.
        code: the response code of a status response (``"UIDVALIDITY"``), upper case.
        code_data: the text after the response code name, as sent.
        text: the human-readable text of a status response or continuation.
        data: the tokenised rest of a data response.
    """

    tag: str
    name: str
    number: int | None = None
    code: str | None = None
    code_data: str = ""
    text: str = ""
    data: list[object] = attrs.field(factory=list)

    @property
    def is_status(self) -> bool:
        """True for OK / NO / BAD / BYE / PREAUTH responses (tagged or untagged)."""
        return self.name in _STATUS


def parse_response(frame: Frame, *, max_depth: int = 64) -> Response:
    """Parse one frame from :class:`ResponseFramer`.

    Raises:
        ProtocolError: the response is malformed.
        LimitExceeded: lists nest deeper than ``max_depth``.
    """
    first = frame[0]
    if first.startswith(b"+"):
        code, code_data, text = _resp_text(first[2:] if first[1:2] == b" " else first[1:])
        return Response(tag="+", name="", code=code, code_data=code_data, text=text)
    tag, sep, rest = first.partition(b" ")
    if not sep or not tag:
        raise ProtocolError(f"malformed response line: {_show(first)}")
    name, _, after = rest.partition(b" ")
    number: int | None = None
    if tag == b"*" and name.isdigit():
        number = int(name)
        name, _, after = after.partition(b" ")
    upper = name.decode("ascii", "replace").upper()
    if not upper:
        raise ProtocolError(f"response without a name: {_show(first)}")
    if upper in _STATUS and number is None:
        if len(frame) > 1:
            raise ProtocolError(f"literal in a status response: {_show(first)}")
        code, code_data, text = _resp_text(after)
        return Response(
            tag=tag.decode("ascii", "replace"),
            name=upper,
            code=code,
            code_data=code_data,
            text=text,
        )
    if tag != b"*":
        raise ProtocolError(f"tagged response is not OK, NO or BAD: {_show(first)}")
    parts = [after, *frame[1:]]
    # A mailbox name may be an atom that looks like a number or NIL ("007", "nil"): keep the
    # atoms of responses that carry names as text; their readers convert what they need.
    atom = _text_atom if upper in _NAMED else _atom
    return Response(tag="*", name=upper, number=number, data=_tokenize(parts, max_depth, atom))


def _resp_text(raw: bytes) -> tuple[str | None, str, str]:
    match = _CODE.match(raw)
    if match is None:
        return None, "", raw.decode("utf-8", "replace")
    code = match.group(1).decode("ascii", "replace").upper()
    data = (match.group(2) or b"").decode("utf-8", "replace")
    return code, data, raw[match.end() :].decode("utf-8", "replace")


def _tokenize(parts: list[bytes], max_depth: int, atom: Callable[[bytes], object]) -> list[object]:
    """Tokenise ``text, literal, text, ...`` into nested lists, iteratively (bounded depth)."""
    top: list[object] = []
    stack: list[list[object]] = [top]
    for index in range(0, len(parts), 2):
        text = parts[index]
        pos, end = 0, len(text)
        while pos < end:
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise ProtocolError(f"unexpected byte at {pos} in response: {_show(text)}")
            pos = match.end()
            kind = match.lastgroup
            if kind == "sp":
                continue
            current = stack[-1]
            if kind == "open":
                if len(stack) > max_depth:
                    raise LimitExceeded(f"response lists nest deeper than {max_depth}")
                child: list[object] = []
                current.append(child)
                stack.append(child)
            elif kind == "close":
                if len(stack) == 1:
                    raise ProtocolError(f"unbalanced ')' in response: {_show(text)}")
                stack.pop()
            elif kind == "quoted":
                current.append(_UNESCAPE.sub(rb"\1", match.group("quoted")))
            elif kind == "literal":
                if index + 1 >= len(parts):
                    raise ProtocolError("literal announced but missing")
                current.append(parts[index + 1])
            else:
                current.append(atom(match.group("atom")))
    if len(stack) != 1:
        raise ProtocolError("unbalanced '(' in response")
    return top


def _atom(raw: bytes) -> object:
    if raw.isdigit():
        return int(raw)
    if raw.upper() == b"NIL":
        return None
    return raw.decode("utf-8", "surrogateescape")


def _text_atom(raw: bytes) -> object:
    return raw.decode("utf-8", "surrogateescape")


def _show(raw: bytes) -> str:
    text = raw[:120].decode("ascii", "backslashreplace")
    return text + ("..." if len(raw) > 120 else "")
