"""The protocol trace: what is logged, in which order, and that a secret cut between two
receives is still redacted, even where a partial line must be logged before its end."""

from __future__ import annotations

import logging

import pytest

from unimail._backends._trace import MAX_HELD, Trace
from unimail._proto.sasl._redact import Redactor


class Logged:
    """The messages logged so far (``caplog.messages`` is a new list at each call)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    def __call__(self) -> list[str]:
        return self._caplog.messages


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Logged:
    caplog.set_level(logging.DEBUG, logger="test.trace")
    return Logged(caplog)


def _trace() -> Trace:
    return Trace(logging.getLogger("test.trace"), "mail.test:993")


def test_without_redactors_every_receive_is_logged_as_it_comes(logged: Logged) -> None:
    trace = _trace()
    trace.received(b"* OK rea")
    trace.received(b"dy\r\n")
    assert logged() == ["S: * OK rea", "S: dy\\r\\n"]


def test_a_secret_cut_between_receives_is_redacted(logged: Logged) -> None:
    trace = _trace()
    trace.hide(lambda data: data.replace(b"hunter2", b"***"))
    trace.received(b"a NO you sent hun")
    trace.received(b"ter2 back\r\nb OK")
    assert logged() == ["S: a NO you sent *** back\\r\\n"]  # "b OK" waits for its line end
    trace.sent(b"c NOOP\r\n")  # the client acted on what came: the held part is logged first
    trace.received(b" done\r\n")
    trace.note("closed")
    assert logged()[1:] == ["S: b OK", "C: c NOOP\\r\\n", "S:  done\\r\\n", "-- closed"]


def test_a_long_run_without_line_break_is_not_held_forever(logged: Logged) -> None:
    trace = _trace()
    trace.hide(lambda data: data)
    trace.received(b"x" * MAX_HELD)
    assert logged() == []
    trace.received(b"y")
    assert len(logged()) == 1 and logged()[0].endswith(f"({MAX_HELD + 1} bytes)")


def _hiding(trace: Trace, *secrets: str) -> Redactor:
    redactor = Redactor(*secrets)
    trace.hide(redactor.redact_bytes, redactor.safe_cut)
    return redactor


def test_a_secret_at_the_held_limit_waits_for_its_line(logged: Logged) -> None:
    # More than MAX_HELD bytes without a line break must be logged; the end where the
    # password may begin is kept back, and is replaced once the line is whole.
    trace = _trace()
    _hiding(trace, "hunter2")
    trace.received(b"x" * MAX_HELD + b" hunt")
    assert len(logged()) == 1 and logged()[0].endswith(f"({MAX_HELD + 1} bytes)")  # not "hunt"
    trace.received(b"er2 back\r\n")
    assert logged()[1] == "S: *** back\\r\\n"


def test_a_send_keeps_back_the_start_of_a_secret(logged: Logged) -> None:
    trace = _trace()
    _hiding(trace, "hunter2")
    trace.received(b"a NO you sent hun")
    trace.sent(b"b NOOP\r\n")  # the client acts: the partial line is logged, but for "hun"
    trace.received(b"ter2\r\n")
    assert logged() == ["S: a NO you sent ", "C: b NOOP\\r\\n", "S: ***\\r\\n"]


@pytest.mark.parametrize(
    ("data", "cut"),
    [
        (b"nothing secret here", 19),
        (b"ends with hun", 10),  # "hun" may go on as "hunter2"
        (b"ends with aHVu", 10),  # the start of the base64 form, aHVudGVyMg==
        (b"whole hunter2 inside", 20),  # a whole form is replaced where it lies
        (b"xhunter", 1),  # "hunter" is a prefix: cut before it
        (b"", 0),
    ],
)
def test_safe_cut(data: bytes, cut: int) -> None:
    assert Redactor("hunter2").safe_cut(data) == cut


def test_safe_cut_moves_before_a_whole_form_across_the_cut() -> None:
    # "ABCD" is whole, but its "CD" is also how "CDXY" begins: cutting before "CD" would log
    # "AB" and split "ABCD"; the cut moves to where "ABCD" starts.
    assert Redactor("ABCD", "CDXY").safe_cut(b"== ABCD") == 3
