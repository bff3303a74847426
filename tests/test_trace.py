"""The protocol trace: what is logged, in which order, and that a secret cut between two
receives is still redacted."""

from __future__ import annotations

import logging

import pytest

from unimail._backends._trace import MAX_HELD, Trace


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
