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

import collections
import functools
import itertools
import json.scanner
import re
import threading
from collections.abc import Callable
from typing import Any

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
        number = _int(name)
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
    if upper in _NAMED:
        data = _tokenize(parts, max_depth, _text_atom)
    else:
        fast = _scan(parts, max_depth)
        data = fast if fast is not None else _tokenize(parts, max_depth, _atom)
    return Response(tag="*", name=upper, number=number, data=data)


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
                    current.append(_int(token))
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


# -- the fast path: the same tokens, with the per-token work done in C --------------------------
#
# A FETCH of 20,000 envelopes is about three million tokens; a Python loop over them (above)
# costs most of the parse. The fast path cuts the text with bytes methods (split at the
# quotes, one translate), which leaves a JSON *skeleton* of the same nesting in which every
# token is a placeholder, and lets the standard library's C JSON scanner build the nested
# lists. The scanner calls a hook for each placeholder, in document order, and the hooks hand
# out the prepared values:
#
#   "quoted string", literal  ->  0.5   parse_float: the next string (bytes, unescaped)
#   atom, NIL, number         ->  111   parse_int: the next atom, read by _atom() (each atom
#                                       byte becomes a "1", so any atom is one JSON number)
#   ( ) and SP                ->  [ ] and ,
#
# Strings are set apart by tabs, which JSON skips but which never separate IMAP tokens, so
# two IMAP tokens not separated by one space are two JSON values without a comma: an error.
# Anything the skeleton cannot say exactly (odd spacing, a stray quote, "{", control
# bytes outside strings, more nesting than max_depth, JSON errors) returns None, and the loop
# above reads the response, with its leniency and its errors. tests/test_imap_scan.py checks
# that both give the same tokens.
_NON_ATOM_BYTES = bytes(range(0x21)) + b'()"{\x7f'
_SECTION_ATOM = re.compile(
    _ATOM_CHAR + rb"+(?:" + _SECTION + _ATOM_CHAR + rb"*)?|" + _SECTION + _ATOM_CHAR + rb"*"
)
# ( ) SP NUL -> [ ] , tab; any other byte -> "1" in an atom, "!" (refused) elsewhere
_TO_SKELETON = bytes(
    {0x28: 0x5B, 0x29: 0x5D, 0x20: 0x2C, 0x00: 0x09}.get(
        byte, 0x21 if byte in _NON_ATOM_BYTES else 0x31
    )
    for byte in range(256)
)
_TO_RUNS = bytes.maketrans(b"()\x00", b"   ")
_SKELETON = b"[],\t10.5"  # the bytes a valid skeleton is made of
_LITERAL_END = re.compile(rb"\{[0-9]+\+?\}\Z")
_BODY_ONLY = re.compile(rb"\(UID ([0-9]{1,20}) (BODY\[[0-9A-Z.]*\](?:<[0-9]+>)?) \{[0-9]+\+?\}\Z")
_DEPTH = {ord("["): 1, ord("]"): -1}
# None where the C accelerator of the json module is missing: then only the loop above runs.
_MAKE_SCANNER: Callable[[object], Callable[[str, int], tuple[Any, int]]] | None = getattr(
    json.scanner, "c_make_scanner", None
)


class _Hooks:
    """One thread's JSON scanner, and the queues its hooks take the values from.

    ``json.scanner.c_make_scanner`` reads its hooks from this object once; making a scanner
    costs more than scanning a small response, so each thread keeps one and refills the
    queues for each response (a scan never runs inside another on the same thread).
    """

    __slots__ = (
        "atoms", "memo", "object_hook", "object_pairs_hook", "parse_constant", "parse_float",
        "parse_int", "scanner", "strict", "strings",
    )  # fmt: skip

    def __init__(self, make_scanner: Callable[[object], Callable[[str, int], Any]]) -> None:
        self.strings: collections.deque[object] = collections.deque()
        self.atoms: collections.deque[object] = collections.deque()
        self.strict = True
        self.object_hook = self.object_pairs_hook = self.parse_constant = None
        # next(iter(popleft, sentinel), numstr): the next queued value, all in C.
        self.parse_float = functools.partial(next, iter(self.strings.popleft, _NEVER))
        self.parse_int = functools.partial(next, iter(self.atoms.popleft, _NEVER))
        self.memo: dict[str, object] = {}
        self.scanner = make_scanner(self)


class _AtomCache(dict[bytes, object]):
    r"""Atoms seen again and again (NIL, FLAGS, \Seen): read once. Bounded: cleared when full.

    Looking an atom up gives its value; a new one is read by ``_atom`` and kept, unless it
    is a number (numbers seldom repeat).
    """

    __slots__ = ()

    def __missing__(self, raw: bytes) -> object:
        if raw.isdigit() and len(raw) < 100:
            return int(raw)
        value = _atom(raw)  # a number of 100 digits or more: ProtocolError, as in the loop
        if len(self) >= 1024:
            self.clear()
        self[raw] = value
        return value


_ATOM_CACHE = _AtomCache({b"NIL": None})
_NEVER = object()
_THREAD = threading.local()


def _scan(parts: list[bytes], max_depth: int) -> list[object] | None:
    """Tokenise like ``_tokenize(parts, max_depth, _atom)``, or return None to leave it to it."""
    if len(parts) == 3 and parts[2] == b")":
        # A body download is thousands of responses of this one shape.
        found = _BODY_ONLY.match(parts[0])
        if found is not None:
            return [["UID", int(found[1]), found[2].decode("ascii"), parts[1]]]
    if _MAKE_SCANNER is None:
        return None
    text = parts[0]
    if len(parts) > 1:
        # Each literal becomes the string "\x00", told from a real one by the count below.
        cut: list[bytes] = []
        for index in range(0, len(parts) - 1, 2):
            found = _LITERAL_END.search(parts[index])
            if found is None:
                return None
            cut.append(parts[index][: found.start()])
        cut.append(parts[-1])
        text = b'"\x00"'.join(cut)
    pieces = text.split(b'"')
    strings: list[Any] = pieces[1::2]
    joined = b"\x00".join(strings)
    if b"\\" in joined:
        # quoted-specials = DQUOTE / "\": escapes, read left to right as the loop's regex does
        # (\\ first), become reserved bytes while the text is cut at its quotes.
        if b"\x01" in text or b"\x02" in text or b"\x03" in text:
            return None
        text = text.replace(b"\\\\", b"\x01").replace(b'\\"', b"\x02")
        pieces = text.split(b'"')
        strings = pieces[1::2]
        joined = b"\x03".join(strings)
        if b"\\" in joined:
            joined = _UNESCAPE.sub(rb"\1", joined)  # lenient: \x is x
        strings = joined.replace(b"\x01", b"\\").replace(b"\x02", b'"').split(b"\x03")
    if not len(pieces) % 2 or b"\r" in joined:
        return None  # an unterminated string, or a CR in one
    if len(parts) > 1:
        if strings.count(b"\x00") != len(parts) // 2:
            return None  # a literal inside a quoted string: refused by the loop
        position = -1
        for literal in parts[1::2]:  # each in its place, found in C
            position = strings.index(b"\x00", position + 1)
            strings[position] = literal
    # Strings are marked by two NULs (any other NUL, and tabs, are refused by _TO_SKELETON).
    between = b"\x00\x00".join(pieces[::2])
    skeleton = between.translate(_TO_SKELETON).replace(b"\t\t", b"\t0.5\t")
    skeleton = b"[" + skeleton.replace(b"][", b"],[") + b"]"
    if skeleton.translate(None, _SKELETON) or between.count(b"\x00") != 2 * len(strings):
        return None
    if skeleton.count(b"[") > max_depth + 1 and max(_depths(skeleton)) > max_depth + 1:
        return None
    cache = _ATOM_CACHE
    runs = between.translate(_TO_RUNS).split()
    if b"[" in between:
        # "[" is taken as an atom byte above; each atom holding one must be what the loop
        # reads as one atom: BODY[HEADER]<0>, not BODY[HEADER.FIELDS cut at its space.
        for run in runs:
            if b"[" in run and _SECTION_ATOM.fullmatch(run) is None:
                return None
    hooks: _Hooks | None = getattr(_THREAD, "hooks", None)
    if hooks is None:
        hooks = _THREAD.hooks = _Hooks(_MAKE_SCANNER)
    # Each hook is called exactly once per placeholder, in order.
    try:
        hooks.strings.extend(strings)
        # Atoms are read in C but for those not seen before (ProtocolError: a number of
        # 100 digits or more; the queues are emptied below all the same).
        hooks.atoms.extend(map(cache.__getitem__, runs))
        value, end = hooks.scanner(skeleton.decode("ascii"), 0)
    except (ValueError, IndexError, StopIteration, RecursionError):
        return None  # StopIteration: no JSON value where one is due
    finally:
        hooks.strings.clear()
        hooks.atoms.clear()
    if end != len(skeleton):
        return None
    result: list[object] = value
    return result


def _depths(skeleton: bytes) -> itertools.accumulate[int]:
    return itertools.accumulate(map(_DEPTH.get, skeleton, itertools.repeat(0)))


def _int(raw: bytes) -> int:
    # number64 has at most 20 digits; int() raises ValueError past 4300.
    if len(raw) >= 100:
        raise ProtocolError(f"a number of {len(raw)} digits in response: {_show(raw)}")
    return int(raw)


def _atom(raw: bytes) -> object:
    if raw.isdigit():
        return _int(raw)
    if raw.upper() == b"NIL":
        return None
    return raw.decode("utf-8", "surrogateescape")


def _text_atom(raw: bytes) -> object:
    return raw.decode("utf-8", "surrogateescape")


def _show(raw: bytes) -> str:
    text = raw[:120].decode("ascii", "backslashreplace")
    return text + ("..." if len(raw) > 120 else "")
