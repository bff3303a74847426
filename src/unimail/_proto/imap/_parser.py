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

# The tokens of a data response, cut up by one findall, in C. Each alternative consumes at
# least one byte and starts with a byte no other alternative starts with, so matching never
# backtracks; the token's first byte tells its kind. An atom may carry a section spec in
# brackets, which may hold spaces and parentheses (BODY[HEADER.FIELDS (SUBJECT)]), and a
# partial range <0.100>. A byte that starts no token comes out alone and is refused.
_SECTION = rb"\[[^\]]*\](?:<[0-9.]+>)?"
_ATOM_CHAR = rb"[^\x00-\x20()\"{\x7f\[]"  # ATOM-CHAR, with "]" (resp-specials) allowed
_TOKENS = re.compile(
    rb"\x20*("
    rb"[()]"
    rb'|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"'  # quoted, with its quotes (loop unrolled)
    rb"|\{[0-9]+\+?\}\Z"  # literal announcement, only at the end of a text part
    rb"|" + _ATOM_CHAR + rb"+(?:" + _SECTION + _ATOM_CHAR + rb"*)?"
    rb"|" + _SECTION + _ATOM_CHAR + rb"*"
    rb"|[^\x20])",
    re.DOTALL,
)
_OPEN, _CLOSE, _QUOTE, _BRACE = b'()"{'
_SPECIAL_FIRST = frozenset({_OPEN, _CLOSE, _QUOTE, _BRACE})
# Bytes that, alone, are no valid token: the refused leftovers of the last alternative.
_NOT_ATOM = frozenset(range(0x21)) | {0x7F, _QUOTE, _BRACE, ord("[")}
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
    current = top
    numbers = atom is _atom
    for index in range(0, len(parts), 2):
        text = parts[index]
        for token in _TOKENS.findall(text):
            first = token[0]
            if first not in _SPECIAL_FIRST:
                if numbers and token.isdigit():
                    current.append(int(token))
                elif token == b"NIL" and numbers:
                    current.append(None)
                elif len(token) == 1 and first in _NOT_ATOM:
                    raise ProtocolError(f"unexpected {token!r} in response: {_show(text)}")
                else:
                    current.append(atom(token))
            elif first == _QUOTE:
                if len(token) < 2:
                    raise ProtocolError(f"unterminated string in response: {_show(text)}")
                value = token[1:-1]
                current.append(_UNESCAPE.sub(rb"\1", value) if b"\\" in value else value)
            elif first == _OPEN:
                if len(stack) > max_depth:
                    raise LimitExceeded(f"response lists nest deeper than {max_depth}")
                child: list[object] = []
                current.append(child)
                stack.append(child)
                current = child
            elif first == _CLOSE:
                if len(stack) == 1:
                    raise ProtocolError(f"unbalanced ')' in response: {_show(text)}")
                stack.pop()
                current = stack[-1]
            elif len(token) > 1 and index + 1 < len(parts):
                current.append(parts[index + 1])  # the literal announced by {n}
            else:
                raise ProtocolError(f"unexpected '{{' in response: {_show(text)}")
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
