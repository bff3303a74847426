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
values (see ``_tokens``: NIL, numbers, atoms, strings, lists), which the per-command modules
(``_list.py``, ``_fetch.py``, ...) interpret.
"""

from __future__ import annotations

import contextlib
import re

import attrs

from ..._errors import ProtocolError
from .._assemble import assemble
from ._framing import Frame
from ._scan import scan, scan_many
from ._tokens import read_atom, read_int, read_text_atom, show, tokenize

__all__ = ["FETCH_HEAD", "Response", "parse_fetch_run", "parse_response"]

_STATUS = frozenset({"OK", "NO", "BAD", "BYE", "PREAUTH"})
_NAMED = frozenset({"LIST", "LSUB", "STATUS"})
_CODE = re.compile(rb"\[([^\]\x20]+)(?:\x20([^\]]*))?\]\x20?")
#: The start of ``* n FETCH ...`` as servers send it (a name in other cases, or a number of
#: more than 20 digits, goes the way of any response).
FETCH_HEAD = re.compile(rb"\* ([0-9]{1,20}) FETCH ")


# Not slotted: one is made per response, and attrs fills an instance dict with plain
# stores, faster than slot setters (see BodyPart).
@attrs.frozen(kw_only=True, slots=False)
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
        source: a FETCH response's data as received (text, literal, text, ...), which
            ``MessageInfo.raw`` tokenises again when asked: holding bytes costs less than
            holding the values.
    """

    tag: str
    name: str
    number: int | None = None
    code: str | None = None
    code_data: str = ""
    text: str = ""
    data: list[object] = attrs.field(factory=list)
    source: tuple[bytes, ...] = attrs.field(default=(), eq=False, repr=False)

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
    head = _head(frame)
    if isinstance(head, Response):
        return head
    number, name, parts = head
    data = _data(name, parts, max_depth)
    source = tuple(parts) if name == "FETCH" else ()
    return Response(tag="*", name=name, number=number, data=data, source=source)


def parse_fetch_run(
    frames: list[Frame], heads: list[re.Match[bytes]], max_depth: int = 64
) -> list[Response | Frame]:
    """Parse consecutive FETCH frames all at once; ``heads``: each one's ``FETCH_HEAD`` match.

    The data of the usual ones is tokenised in one pass (``_scan.scan_many``), which costs
    less than one pass each. A frame that pass cannot read is returned as it is, to be read
    alone by ``parse_response`` when its turn comes: its errors are raised in order.
    """
    out: list[Response | Frame] = list(frames)
    batch: list[tuple[int, int]] = []  # (index in frames, sequence number)
    datas: list[list[bytes]] = []
    for index, (frame, head) in enumerate(zip(frames, heads, strict=True)):
        # A body's frame (text, literal, ")") has a faster path of its own in scan().
        if len(frame) != 3 or frame[2] != b")":
            batch.append((index, int(head[1])))
            datas.append([frame[0][head.end() :], *frame[1:]])
    values = None
    if len(datas) > 1:
        # An absurd number in one of them: parse_response raises it in its turn.
        with contextlib.suppress(ProtocolError):
            values = scan_many(datas, max_depth)
    if values is not None:
        for position, ((index, number), data) in enumerate(zip(batch, values, strict=True)):
            source = tuple(datas[position])
            out[index] = assemble(  # every field, as Response(...) would hold it
                Response,
                {
                    "tag": "*",
                    "name": "FETCH",
                    "number": number,
                    "code": None,
                    "code_data": "",
                    "text": "",
                    "data": data,
                    "source": source,
                },
            )
    return out


def _head(frame: Frame) -> Response | tuple[int | None, str, list[bytes]]:
    """A status response or continuation whole; for a data response, its number, name and
    data parts, left for the tokenizer."""
    first = frame[0]
    if first.startswith(b"+"):
        code, code_data, text = _resp_text(first[2:] if first[1:2] == b" " else first[1:])
        return Response(tag="+", name="", code=code, code_data=code_data, text=text)
    tag, sep, rest = first.partition(b" ")
    if not sep or not tag:
        raise ProtocolError(f"malformed response line: {show(first)}")
    name, _, after = rest.partition(b" ")
    number: int | None = None
    if tag == b"*" and name.isdigit():
        number = read_int(name)
        name, _, after = after.partition(b" ")
    upper = name.decode("ascii", "replace").upper()
    if not upper:
        raise ProtocolError(f"response without a name: {show(first)}")
    if upper in _STATUS and number is None:
        if len(frame) > 1:
            raise ProtocolError(f"literal in a status response: {show(first)}")
        code, code_data, text = _resp_text(after)
        return Response(
            tag=tag.decode("ascii", "replace"),
            name=upper,
            code=code,
            code_data=code_data,
            text=text,
        )
    if tag != b"*":
        raise ProtocolError(f"tagged response is not OK, NO or BAD: {show(first)}")
    return number, upper, [after, *frame[1:]]


def _data(name: str, parts: list[bytes], max_depth: int) -> list[object]:
    # A mailbox name may be an atom that looks like a number or NIL ("007", "nil"): keep the
    # atoms of responses that carry names as text; their readers convert what they need.
    if name in _NAMED:
        return tokenize(parts, max_depth, read_text_atom)
    fast = scan(parts, max_depth)
    return fast if fast is not None else tokenize(parts, max_depth, read_atom)


def _resp_text(raw: bytes) -> tuple[str | None, str, str]:
    match = _CODE.match(raw)
    if match is None:
        return None, "", raw.decode("utf-8", "replace")
    code = match.group(1).decode("ascii", "replace").upper()
    data = (match.group(2) or b"").decode("utf-8", "replace")
    return code, data, raw[match.end() :].decode("utf-8", "replace")
