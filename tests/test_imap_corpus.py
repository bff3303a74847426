"""Replay of real servers' recorded IMAP replies (MailKit's test resources, MIT licence).

Every reply file must either parse fully or raise ProtocolError (LimitExceeded included), never
any other exception; framing it byte by byte must give the same frames as framing it whole.
The corpus lives beside the repository, in ``shared/corpus/mailkit`` (see its README.md).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import NoReturn

import pytest

from unimail._errors import ProtocolError
from unimail._options import Limits
from unimail._proto.imap._capability import capabilities_from
from unimail._proto.imap._envelope import parse_envelope
from unimail._proto.imap._fetch import fetch_data, parse_flags
from unimail._proto.imap._framing import Frame, ResponseFramer
from unimail._proto.imap._list import folder_info
from unimail._proto.imap._parser import Response, parse_response
from unimail._proto.imap._search import search_uids
from unimail._proto.imap._select import folder_status

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "mailkit"
IMAP = CORPUS / "imap"
TAG = b"A00000042"

# Measured when this test was written: 307 reply files, 305 of them parse fully. The two that
# raise ProtocolError are exchange/issue115.txt (a bare "[COPYUID ...]" line, an Exchange bug)
# and gmail/headers.1+unsolicited-info.txt (a literal shorter than its data). Raise these
# numbers when the corpus or the parser improves; never lower them without a reason.
MIN_FILES = 307
MIN_FULLY_PARSED = 305


def _unavailable() -> NoReturn:
    message = f"the MailKit corpus is missing: {IMAP} does not exist"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _reply_files() -> list[str]:
    if not IMAP.is_dir():
        return []
    # Only the server replies: the *.msg files are whole RFC 5322 messages, not IMAP.
    return sorted(p.relative_to(IMAP).as_posix() for p in IMAP.rglob("*.txt") if p.is_file())


FILES = _reply_files()
# Without the corpus, one placeholder case still runs, so that CI fails instead of silently
# collecting nothing.
PARAMS: list[object] = list(FILES) or [pytest.param("", id="corpus-missing")]


def wire_bytes(relative: str) -> bytes:
    """The file's bytes as a server sent them: CRLF line endings, a real tag."""
    if not relative:
        _unavailable()
    raw = (IMAP / relative).read_bytes()
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").replace(b"A########", TAG)


def frames_whole(data: bytes) -> tuple[list[Frame], int]:
    framer = ResponseFramer(Limits())
    framer.feed(data)
    frames = []
    while (frame := framer.next_frame()) is not None:
        frames.append(frame)
    return frames, framer.buffered


def frames_bytewise(data: bytes) -> tuple[list[Frame], int]:
    framer = ResponseFramer(Limits())
    frames = []
    for index in range(len(data)):
        framer.feed(data[index : index + 1])
        while (frame := framer.next_frame()) is not None:
            frames.append(frame)
    return frames, framer.buffered


def replay(data: bytes) -> list[Response]:
    """Frame and parse ``data`` completely; ProtocolError propagates."""
    frames, left = frames_whole(data)
    responses = [parse_response(frame) for frame in frames]
    if left:
        raise AssertionError(f"{left} bytes left over after the last complete response")
    return responses


def interpret(response: Response) -> None:
    """Run the command module that reads ``response``, as the client would."""
    capabilities_from([response])
    if response.name in ("LIST", "LSUB"):
        folder_info(response)
    elif response.name == "STATUS":
        folder_status([response])
    elif response.name == "SEARCH":
        search_uids([response])
    elif response.name == "FETCH":
        items = fetch_data(response).items
        if items.get("ENVELOPE") is not None:
            parse_envelope(items["ENVELOPE"])
        if "FLAGS" in items:
            parse_flags(items["FLAGS"])


def fully_parses(relative: str) -> bool:
    try:
        replay(wire_bytes(relative))
    except ProtocolError:
        return False
    return True


def test_corpus_is_present() -> None:
    if not FILES:
        _unavailable()
    assert len(FILES) >= MIN_FILES


@pytest.mark.parametrize("relative", PARAMS)
def test_corpus_file_parses_or_raises_protocol_error(relative: str) -> None:
    data = wire_bytes(relative)
    try:
        responses = replay(data)
    except ProtocolError:
        return  # allowed: a malformed reply; the count below guards against regressions
    assert responses, "a reply file holds at least one response"


@pytest.mark.parametrize("relative", PARAMS)
def test_corpus_file_byte_by_byte_gives_the_same_frames(relative: str) -> None:
    data = wire_bytes(relative)
    assert frames_bytewise(data) == frames_whole(data)


@pytest.mark.parametrize("relative", PARAMS)
def test_corpus_file_command_modules_raise_only_protocol_error(relative: str) -> None:
    try:
        responses = replay(wire_bytes(relative))
    except ProtocolError:
        return
    for response in responses:
        # A ProtocolError is judged case by case in test_imap_data.py and test_imap_fetch_data.py;
        # here: no raw exception.
        with contextlib.suppress(ProtocolError):
            interpret(response)


def test_corpus_minimum_fully_parsed() -> None:
    if not FILES:
        _unavailable()
    failing = [relative for relative in FILES if not fully_parses(relative)]
    parsed = len(FILES) - len(failing)
    assert parsed >= MIN_FULLY_PARSED, f"only {parsed} files parse fully; failing: {failing}"
