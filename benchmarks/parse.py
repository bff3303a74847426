"""IMAP parse job: a FETCH response stream of N realistic messages, parsed from bytes.

Contenders, from most work to least:

- unimail: ``ImapProtocol`` (framing, parsing, tracking) -> ``fetch_data(...).message_info()``
  (envelope addresses, RFC 2047 words and dates decoded into ``MessageInfo``), plus two
  partial rows (framing only; framing and tokenising) that show where the time goes;
- imaplib's framing (``IMAP4._get_response``, fed from memory) and, on its output,
  imapclient's ``parse_fetch_response`` (envelopes and dates parsed, words left encoded);
- limits: a pure-Python regex tokenizer (no values built, literals skipped), and
  ``bytes.split`` of the stream into lines (touching every byte once).

The stream is fed in 64 KiB chunks, as a socket would hand it over.
"""

from __future__ import annotations

import imaplib
import io
import re
from typing import Any

from unimail._proto.imap._fetch import fetch_data
from unimail._proto.imap._framing import ResponseFramer
from unimail._proto.imap._parser import parse_response
from unimail._proto.imap._protocol import ImapProtocol

from ._corpus import fetch_stream
from ._harness import NOT_INSTALLED, Contender, Job, measure

__all__ = ["parse_job"]

_CHUNK = 64 * 1024


def _frames(stream: bytes) -> int:
    framer = ResponseFramer()
    count = 0
    for start in range(0, len(stream), _CHUNK):
        framer.feed(stream[start : start + _CHUNK])
        while framer.next_frame() is not None:
            count += 1
    return count - 1  # the tagged OK


def _connection() -> tuple[ImapProtocol, str]:
    """A client connection just past its greeting, and the tag of the command it sent."""
    protocol = ImapProtocol()
    protocol.receive_data(b"* OK ready\r\n")
    protocol.next_response()
    return protocol, protocol.command("NOOP").tag


def _protocol() -> ImapProtocol:
    """A client connection waiting for the reply tagged ``_TAG``."""
    protocol, tag = _connection()
    if tag != _TAG:
        raise RuntimeError(f"the first command's tag is {tag!r}, not {_TAG!r}")
    return protocol


# The tag of a new connection's first command: the stream's tagged reply is rewritten to it
# once, outside the measured runs (the generated stream ends with "A1 OK").
_TAG = _connection()[1]


def _retagged(stream: bytes) -> bytes:
    head, _, last = stream.rpartition(b"\r\nA1 ")
    return head + b"\r\n" + _TAG.encode("ascii") + b" " + last


def _tokenised(stream: bytes) -> int:
    protocol = _protocol()
    count = 0
    for start in range(0, len(stream), _CHUNK):
        protocol.receive_data(stream[start : start + _CHUNK])
        while (response := protocol.next_response()) is not None:
            if response.name == "FETCH":
                count += 1
    return count


def _message_infos(stream: bytes) -> int:
    # What the client runs on each read: the protocol frames, parses and tracks responses.
    protocol = _protocol()
    count = 0
    for start in range(0, len(stream), _CHUNK):
        protocol.receive_data(stream[start : start + _CHUNK])
        while (response := protocol.next_response()) is not None:
            if response.name == "FETCH":
                fetch_data(response).message_info()
                count += 1
    return count


class _Replay(imaplib.IMAP4):
    """imaplib's own response reader, fed from memory instead of a socket.

    ``_get_response`` is private, but it is exactly the framing imaplib runs on every reply;
    only ``open`` (no socket) and ``_connect`` (no greeting, no CAPABILITY) are replaced.
    """

    def __init__(self, stream: bytes) -> None:
        self._stream = stream
        super().__init__()

    def open(self, host: str = "", port: int = 0, timeout: float | None = None) -> None:
        self.file = io.BytesIO(self._stream)

    def _connect(self) -> None:
        # What imaplib's _connect sets up, for the tag "A1" (typeshed types tagre as str,
        # imaplib really uses bytes: hence vars() instead of attribute assignments).
        tagre = re.compile(rb"(?P<tag>A\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
        vars(self).update(
            tagre=tagre,
            tagged_commands={b"A1": None},
            _cmd_log_len=10,
            _cmd_log_idx=0,
            _cmd_log={},
        )

    def responses(self) -> list[Any]:
        """Read the whole stream; return the FETCH entries as imaplib stores them."""
        tagged: dict[bytes, object] = vars(self)["tagged_commands"]
        while tagged[b"A1"] is None:
            self._get_response()
        fetches: list[Any] = self.untagged_responses.get("FETCH", [])
        return fetches


def _imaplib_framing(stream: bytes) -> int:
    responses = _Replay(stream).responses()
    return sum(1 for item in responses if isinstance(item, bytes) and item[:1].isdigit()) + sum(
        1 for item in responses if isinstance(item, tuple) and item[0][:1].isdigit()
    )


def _imapclient(stream: bytes) -> Contender:
    try:
        from imapclient.response_parser import parse_fetch_response
    except ImportError:
        return Contender.missing("imaplib + imapclient parse_fetch_response", "peer", NOT_INSTALLED)

    def run() -> int:
        parsed = parse_fetch_response(_Replay(stream).responses(), True, True)
        return len(parsed)

    return Contender("imaplib + imapclient parse_fetch_response", "peer", run)


# One alternation per token kind; a literal announcement moves the position past its data.
_TOKENS = re.compile(rb'[ ()]|"(?:[^"\\]|\\.)*"|\{(\d+)\}\r\n|[^ ()"{\r\n]+|\r\n')


def _regex_tokenizer(stream: bytes) -> int:
    pos, end, count = 0, len(stream), 0
    match = _TOKENS.match
    while pos < end:
        found = match(stream, pos)
        if found is None:
            raise ValueError(f"cannot tokenise at {pos}")
        pos = found.end()
        literal = found.group(1)
        if literal is not None:
            pos += int(literal)
        elif found.group() == b"\r\n":
            count += 1
    return count - 1


def _split(stream: bytes) -> int:
    # One piece per untagged response (the last one also holds the tagged OK).
    return len(stream.split(b"\r\n* "))


def _decodes_bodystructure() -> bool:
    """Whether this checkout's MessageInfo carries a decoded BODYSTRUCTURE (added later)."""
    framer = ResponseFramer()
    framer.feed(fetch_stream(1))
    frame = framer.next_frame()
    info = fetch_data(parse_response(frame)).message_info() if frame else None
    return getattr(info, "body_structure", None) is not None


def parse_job(messages: int, *, repeats: int) -> Job:
    """Run the parse job on a stream of ``messages`` FETCH responses."""
    stream = fetch_stream(messages)
    retagged = _retagged(stream)
    contenders = [
        Contender("unimail: bytes -> MessageInfo", "unimail", lambda: _message_infos(retagged)),
        Contender("unimail: framing + tokens only", "unimail", lambda: _tokenised(retagged)),
        Contender("unimail: framing only", "unimail", lambda: _frames(stream)),
        Contender("imaplib framing", "peer", lambda: _imaplib_framing(stream)),
        _imapclient(stream),
        Contender("limit: regex tokenizer", "limit", lambda: _regex_tokenizer(stream)),
        Contender("limit: bytes.split", "limit", lambda: _split(stream)),
    ]
    job = measure(
        f"IMAP parse: {messages:,} FETCH responses ({len(stream) / 1e6:.1f} MB)",
        "parse the stream",
        contenders,
        messages=messages,
        repeats=repeats,
        reference="unimail: bytes -> MessageInfo",
    )
    job.notes.append(
        "unimail decodes addresses, RFC 2047 words and dates into MessageInfo"
        + (" and BODYSTRUCTURE into BodyPart trees" if _decodes_bodystructure() else "")
        + "; imapclient decodes BODYSTRUCTURE and dates and leaves encoded words as bytes. "
        "'bytes.split' is a second, lower limit (client / limit < 1)."
    )
    return job
