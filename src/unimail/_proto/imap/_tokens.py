"""Cutting the text of an IMAP data response into values: the loop (RFC 9051 section 4, 9).

The tokens, as ``_parser`` hands them out:

============================  ================================
``NIL``                       ``None``
a number                      ``int`` (``str`` in LIST, LSUB and STATUS, whose
                              mailbox names may look like numbers or NIL)
any other atom                ``str`` (``\\Seen``, ``BODY[HEADER]<0>``)
a quoted string or literal    ``bytes``
a parenthesised list          ``list``
============================  ================================

``tokenize`` reads any response, leniently, with precise errors; ``_scan`` is the fast path
that gives the same values for the usual ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..._errors import LimitExceeded, ProtocolError

__all__ = [
    "ATOM_CHAR", "SECTION", "UNESCAPE", "read_atom", "read_int", "read_text_atom", "show",
    "tokenize",
]  # fmt: skip

# The tokens of a data response, cut up by one findall, in C. Each alternative consumes at
# least one byte and starts with a byte no other alternative starts with, so matching never
# backtracks; the token's first byte tells its kind. An atom may carry a section spec in
# brackets, which may hold spaces and parentheses (BODY[HEADER.FIELDS (SUBJECT)]), and a
# partial range <0.100>. A byte that starts no token comes out alone and is refused.
SECTION = rb"\[[^\]]*\](?:<[0-9.]+>)?"
ATOM_CHAR = rb"[^\x00-\x20()\"{\x7f\[]"  # ATOM-CHAR, with "]" (resp-specials) allowed
_TOKENS = re.compile(
    rb"\x20*("
    rb"[()]"
    rb'|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"'  # quoted, with its quotes (loop unrolled)
    rb"|~?\{[0-9]+\+?\}\Z"  # literal (~: literal8) announcement, only at a text part's end
    rb"|" + ATOM_CHAR + rb"+(?:" + SECTION + ATOM_CHAR + rb"*)?"
    rb"|" + SECTION + ATOM_CHAR + rb"*"
    rb"|[^\x20])",
    re.DOTALL,
)
_OPEN, _CLOSE, _QUOTE, _BRACE, _TILDE = b'()"{~'
_SPECIAL_FIRST = frozenset({_OPEN, _CLOSE, _QUOTE, _BRACE})
# Bytes that, alone, are no valid token: the refused leftovers of the last alternative.
_NOT_ATOM = frozenset(range(0x21)) | {0x7F, _QUOTE, _BRACE, ord("[")}
UNESCAPE = re.compile(rb"\\(.)", re.DOTALL)


def tokenize(parts: list[bytes], max_depth: int, atom: Callable[[bytes], object]) -> list[object]:
    """Tokenise ``text, literal, text, ...`` into nested lists, iteratively (bounded depth)."""
    top: list[object] = []
    stack: list[list[object]] = [top]
    current = top
    numbers = atom is read_atom
    for index in range(0, len(parts), 2):
        text = parts[index]
        for token in _TOKENS.findall(text):
            first = token[0]
            if first not in _SPECIAL_FIRST:
                if first == _TILDE and token[1:2] == b"{":
                    # literal8 = "~{" number64 "}" CRLF *OCTET (RFC 3516): a literal that may
                    # hold NULs; the framer has read it like any other.
                    if index + 1 >= len(parts):
                        raise ProtocolError(f"unexpected '~{{' in response: {show(text)}")
                    current.append(parts[index + 1])
                elif numbers and token.isdigit():
                    current.append(read_int(token))
                elif token == b"NIL" and numbers:
                    current.append(None)
                elif len(token) == 1 and first in _NOT_ATOM:
                    raise ProtocolError(f"unexpected {token!r} in response: {show(text)}")
                else:
                    current.append(atom(token))
            elif first == _QUOTE:
                if len(token) < 2:
                    raise ProtocolError(f"unterminated string in response: {show(text)}")
                value = token[1:-1]
                current.append(UNESCAPE.sub(rb"\1", value) if b"\\" in value else value)
            elif first == _OPEN:
                if len(stack) > max_depth:
                    raise LimitExceeded(f"response lists nest deeper than {max_depth}")
                child: list[object] = []
                current.append(child)
                stack.append(child)
                current = child
            elif first == _CLOSE:
                if len(stack) == 1:
                    raise ProtocolError(f"unbalanced ')' in response: {show(text)}")
                stack.pop()
                current = stack[-1]
            elif len(token) > 1 and index + 1 < len(parts):
                current.append(parts[index + 1])  # the literal announced by {n}
            else:
                raise ProtocolError(f"unexpected '{{' in response: {show(text)}")
    if len(stack) != 1:
        raise ProtocolError("unbalanced '(' in response")
    return top


def read_int(raw: bytes) -> int:
    """A number atom as ``int``; refuses absurd lengths (ProtocolError)."""
    # number64 has at most 20 digits; int() raises ValueError past 4300.
    if len(raw) >= 100:
        raise ProtocolError(f"a number of {len(raw)} digits in response: {show(raw)}")
    return int(raw)


def read_atom(raw: bytes) -> object:
    """An atom as its value: ``int`` for a number, ``None`` for NIL, else ``str``."""
    if raw.isdigit():
        return read_int(raw)
    if raw.upper() == b"NIL":
        return None
    return raw.decode("utf-8", "surrogateescape")


def read_text_atom(raw: bytes) -> object:
    """An atom as text, whatever it looks like (mailbox names in LIST, LSUB, STATUS)."""
    return raw.decode("utf-8", "surrogateescape")


def show(raw: bytes) -> str:
    """The start of ``raw``, printable, for error messages."""
    text = raw[:120].decode("ascii", "backslashreplace")
    return text + ("..." if len(raw) > 120 else "")
