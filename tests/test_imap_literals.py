"""Synchronising and non-synchronising literals (RFC 9051 section 4.3, RFC 7888)."""

from __future__ import annotations

import pytest

from unimail._proto.imap._wire import Atom, serialize


@pytest.mark.parametrize(
    ("plus", "minus", "size", "segments"),
    [
        (False, False, 10, 2),  # synchronising: wait for "+" before the data
        (True, False, 10, 1),  # LITERAL+: any size goes at once
        (True, False, 100_000, 1),
        (False, True, 4096, 1),  # LITERAL-: up to 4096 bytes go at once
        (False, True, 4097, 2),  # beyond that, the client must wait
    ],
)
def test_literal_forms(plus: bool, minus: bool, size: int, segments: int) -> None:
    data = b"x" * size
    parts = serialize("A1", [Atom("APPEND"), "INBOX", data], literal_plus=plus, literal_minus=minus)
    assert len(parts) == segments
    marker = b"{%d+}" % size if segments == 1 else b"{%d}" % size
    assert parts[0].endswith(marker + b"\r\n" + (data + b"\r\n" if segments == 1 else b""))
    assert b"".join(parts) == b'A1 APPEND "INBOX" ' + marker + b"\r\n" + data + b"\r\n"
