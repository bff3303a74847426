"""The fast path of the IMAP tokenizer: the values of ``_tokens.tokenize``, cut up in C.

A FETCH of 20,000 envelopes is about three million tokens; a Python loop over them costs
most of the parse. The fast path cuts the text with bytes methods (split at the quotes, one
translate), which leaves a JSON *skeleton* of the same nesting in which every token is a
placeholder, and lets the standard library's C JSON scanner build the nested lists. The
scanner calls a hook for each placeholder, in document order, and the hooks hand out the
prepared values::

    "quoted string", literal  ->  0.5   parse_float: the next string (bytes, unescaped)
    atom, number              ->  111   parse_int: the next atom, read by read_atom() (each
                                        atom byte becomes a "1": any atom is one JSON number)
    NIL after SP or "("       ->  null  no hook: JSON's own None
    ( ) and SP                ->  [ ] and ,

Strings are set apart by tabs, which JSON skips but which never separate IMAP tokens, so two
IMAP tokens not separated by one space are two JSON values without a comma: an error.
Anything the skeleton cannot say exactly (odd spacing, a stray quote, "{", control bytes
outside strings, more nesting than max_depth, JSON errors) gives None, and the loop reads the
response, with its leniency and its errors. tests/test_imap_scan.py checks that both give the
same tokens.
"""

from __future__ import annotations

import collections
import functools
import json.scanner
import re
import threading
from collections.abc import Callable
from typing import Any

from ._tokens import ATOM_CHAR, SECTION, UNESCAPE, read_atom

__all__ = ["scan", "scan_many"]

_NIL = b"\x05"  # what NIL after a space or "(" becomes: "n", then JSON null in the skeleton
_NON_ATOM_BYTES = bytes(range(0x21)) + b'()"{\x7f'
_SECTION_ATOM = re.compile(
    ATOM_CHAR + rb"+(?:" + SECTION + ATOM_CHAR + rb"*)?|" + SECTION + ATOM_CHAR + rb"*"
)
# ( ) SP NUL -> [ ] , tab; _NIL -> "n"; any other byte -> "1" in an atom, "!" (refused) elsewhere
_TO_SKELETON = bytes(
    {0x28: 0x5B, 0x29: 0x5D, 0x20: 0x2C, 0x00: 0x09, _NIL[0]: 0x6E}.get(
        byte, 0x21 if byte in _NON_ATOM_BYTES else 0x31
    )
    for byte in range(256)
)
_TO_RUNS = bytes.maketrans(b"()\x00" + _NIL, b"    ")
# scan_many: CR, refused anywhere else, sets the responses apart: a comma between two lists.
_TO_SKELETON_MANY = _TO_SKELETON[:0x0D] + b"," + _TO_SKELETON[0x0E:]
_TO_RUNS_MANY = bytes.maketrans(b"()\x00\r" + _NIL, b"     ")
_SKELETON = b"[],\t10.5nul"  # the bytes a valid skeleton is made of
_NOT_BRACKETS = b",\t10.5nul"
_LITERAL_END = re.compile(rb"\{[0-9]+\+?\}\Z")  # matched at the last "{" only
_BODY_ONLY = re.compile(rb"\(UID ([0-9]{1,20}) (BODY\[[0-9A-Z.]*\](?:<[0-9]+>)?) \{[0-9]+\+?\}\Z")
# None where the C accelerator of the json module is missing: then only the loop runs.
_MAKE_SCANNER: Callable[[object], Callable[[str, int], tuple[Any, int]]] | None = getattr(
    json.scanner, "c_make_scanner", None
)


class _Hooks:
    """One thread's JSON scanner, and the queues its hooks take the values from.

    ``json.scanner.c_make_scanner`` reads its hooks from this object once; making a scanner
    costs more than scanning a small response, so each thread keeps one and refills the
    queues for each scan (a scan never runs inside another on the same thread).
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

    Looking an atom up gives its value; a new one is read by ``read_atom`` and kept, unless it
    is a number (numbers seldom repeat).
    """

    __slots__ = ()

    def __missing__(self, raw: bytes) -> object:
        if raw.isdigit() and len(raw) < 100:
            return int(raw)
        value = read_atom(raw)  # a number of 100 digits or more: ProtocolError, as in the loop
        if len(self) >= 1024:
            self.clear()
        self[raw] = value
        return value


_ATOM_CACHE = _AtomCache({b"NIL": None})
_NEVER = object()
_TILDE = ord("~")
_THREAD = threading.local()


def scan(parts: list[bytes], max_depth: int) -> list[object] | None:
    """Tokenise like ``tokenize(parts, max_depth, read_atom)``, or return None to leave it to it.

    Args:
        parts: a response's data: text, literal, text, ... (the text after its name).
        max_depth: how deep lists may nest.

    Returns:
        The values, or None when the loop must read the response.
    """
    if len(parts) == 3 and parts[2] == b")":
        # A body download is thousands of responses of this one shape.
        found = _BODY_ONLY.match(parts[0])
        if found is not None:
            return [["UID", int(found[1]), found[2].decode("ascii"), parts[1]]]
    return _scan(parts, max_depth, 0)


def scan_many(datas: list[list[bytes]], max_depth: int) -> list[list[object]] | None:
    """Tokenise the data of several responses at once: for each, the values ``scan`` gives.

    The fixed cost of a scan (a few dozen calls) weighs as much as the work on a short
    response; here it is paid once for all. Each response's data is put in parentheses of its
    own (one list each, whatever it holds), and the lists are set apart by CR, which the
    skeleton refuses anywhere else: the number of CRs proves that no response ran into the
    next (an unterminated string would hold a CR, and CR in a string is refused).

    Args:
        datas: each response's data: text, literal, text, ... (the text after its name).
        max_depth: how deep each response's lists may nest.

    Returns:
        One list of values per response, or None when each must be read alone.
    """
    pieces: list[bytes] = [b"("]
    parts: list[bytes] = []
    for data in datas:
        pieces.append(data[0])
        if len(data) > 1:
            parts.append(b"".join(pieces))
            parts += data[1:-1]
            pieces = [data[-1]]
        pieces.append(b")\r(")
    pieces[-1] = b")"
    parts.append(b"".join(pieces))
    values = _scan(parts, max_depth + 1, len(datas) - 1)
    if values is None or len(values) != len(datas):
        return None
    return values  # type: ignore[return-value]  # each is a list: see the parentheses


def _scan(parts: list[bytes], max_depth: int, separators: int) -> list[object] | None:
    """``scan`` without its body fast path; ``separators``: the CRs of ``scan_many``."""
    if _MAKE_SCANNER is None:
        return None
    text = parts[0]
    if len(parts) > 1:
        # Each literal becomes the string "\x00", told from a real one by the count below.
        cut: list[bytes] = []
        for index in range(0, len(parts) - 1, 2):
            part = parts[index]
            start = part.rfind(b"{")
            if start < 0 or _LITERAL_END.match(part, start) is None:
                return None
            if start and part[start - 1] == _TILDE:
                start -= 1  # literal8 = "~{" number64 "}" CRLF *OCTET (RFC 3516)
            cut.append(part[:start])
        cut.append(parts[-1])
        text = b'"\x00"'.join(cut)
    # quoted-specials = DQUOTE / "\": escaped ones, read left to right as the loop's regex
    # does (\\ first), become reserved bytes while the text is cut at its quotes. (A text
    # without them is cut once, however many \Seen flags it holds.)
    marked = b"\\\\" in text or b'\\"' in text
    if marked:
        if b"\x01" in text or b"\x02" in text:
            return None
        text = text.replace(b"\\\\", b"\x01").replace(b'\\"', b"\x02")
    pieces = text.split(b'"')
    strings: list[Any] = pieces[1::2]
    joined = b"\x00".join(strings)
    if marked or b"\\" in joined:
        if b"\x03" in joined:
            return None
        joined = b"\x03".join(strings)
        if b"\\" in joined:
            joined = UNESCAPE.sub(rb"\1", joined)  # lenient: \x is x
        if marked:
            joined = joined.replace(b"\x01", b"\\").replace(b"\x02", b'"')
        strings = joined.split(b"\x03")
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
    nil = b"NIL" in between
    if nil:
        # JSON null needs no hook: NIL after a space or "(" becomes one reserved byte. One
        # that begins a longer atom (NILS) leaves "null1", which the scanner refuses.
        if _NIL in between:
            return None
        between = between.replace(b" NIL", b" " + _NIL).replace(b"(NIL", b"(" + _NIL)
    if separators:
        if between.count(b"\r") != separators:
            return None  # a CR of a response's own: refused, as scan() would
        skeleton = between.translate(_TO_SKELETON_MANY).replace(b"\t\t", b"\t0.5\t")
    else:
        skeleton = between.translate(_TO_SKELETON).replace(b"\t\t", b"\t0.5\t")
    skeleton = b"[" + skeleton.replace(b"][", b"],[") + b"]"
    if nil:
        skeleton = skeleton.replace(b"n", b"null")
    if skeleton.translate(None, _SKELETON) or between.count(b"\x00") != 2 * len(strings):
        return None
    if not _shallow(skeleton, max_depth + 1):
        return None
    cache = _ATOM_CACHE
    runs = between.translate(_TO_RUNS_MANY if separators else _TO_RUNS).split()
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


def _shallow(skeleton: bytes, limit: int) -> bool:
    """Whether the skeleton's lists nest at most ``limit`` deep (False also when unbalanced).

    Each pass removes the innermost pairs; a skeleton of depth d is empty after d passes.
    """
    brackets = skeleton.translate(None, _NOT_BRACKETS)
    if len(brackets) <= 2 * limit:
        return True  # too few brackets to nest deeper (an imbalance is the scanner's to find)
    for _ in range(limit):
        brackets = brackets.replace(b"[]", b"")
        if not brackets:
            return True
    return False
