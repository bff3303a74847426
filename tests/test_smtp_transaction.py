"""The transaction state machine: pipelined replies in order, partial and total refusal."""

from __future__ import annotations

import pytest

from unimail import SendError, SendResult
from unimail._proto.smtp import Reply, Step, Transaction, check_address


def tx(*recipients: str, chunking: bool = False) -> Transaction:
    return Transaction(
        check_address("a@example.org"),
        [check_address(r) for r in recipients],
        mail_params=["SIZE=10"],
        chunking=chunking,
    )


def feed(t: Transaction, *replies: tuple[int, str]) -> Step:
    step = t.step
    for code, text in replies:
        step = t.receive(Reply(code, (text,)))
    return step


def test_commands_are_one_pipelined_write() -> None:
    t = tx("b@example.org", "c@example.org")
    assert t.commands == (
        b"MAIL FROM:<a@example.org> SIZE=10\r\nRCPT TO:<b@example.org>\r\n"
        b"RCPT TO:<c@example.org>\r\nDATA\r\n"
    )
    assert t.replies_outstanding == 4


def test_partial_acceptance_is_a_result() -> None:
    t = tx("b@example.org", "c@example.org")
    assert feed(t, (250, "2.1.0 ok"), (550, "5.1.1 no such user"), (250, "ok")) is Step.DATA
    assert feed(t, (354, "go")) is Step.CONTENT
    assert feed(t, (250, "2.0.0 queued as X")) is Step.DONE
    result = t.result()
    assert result == SendResult(
        accepted=("c@example.org",),
        refused={"b@example.org": (550, "no such user")},
        enhanced_codes={"b@example.org": "5.1.1"},
        response="250 queued as X",
    )
    assert not t.needs_reset


def test_everyone_refused_then_data_refused() -> None:
    t = tx("b@example.org")
    assert feed(t, (250, "ok"), (550, "5.1.1 unknown"), (554, "5.5.1 no valid recipients")) is (
        Step.DONE
    )
    assert t.needs_reset
    with pytest.raises(SendError) as info:
        t.result()
    assert info.value.refused == {"b@example.org": (550, "unknown")}
    assert not info.value.temporary


def test_data_accepted_without_recipients_is_aborted() -> None:
    t = tx("b@example.org")
    assert feed(t, (250, "ok"), (450, "4.2.0 greylisted"), (354, "go")) is Step.ABORT
    assert feed(t, (554, "no recipients")) is Step.DONE
    with pytest.raises(SendError) as info:
        t.result()
    assert info.value.temporary and info.value.code == "450"


def test_mail_refused_swallows_the_pipelined_replies() -> None:
    t = tx("b@example.org", "c@example.org")
    assert feed(t, (553, "5.7.1 sender rejected")) is Step.FAILED
    assert t.replies_outstanding == 3
    assert feed(t, (503, "need MAIL"), (503, "need MAIL"), (503, "need MAIL")) is Step.DONE
    with pytest.raises(SendError) as info:
        t.result()
    assert info.value.code == "553" and info.value.enhanced_code == "5.7.1"
    assert set(info.value.refused) == {"b@example.org", "c@example.org"}


def test_content_refused_is_total_failure() -> None:
    t = tx("b@example.org")
    feed(t, (250, "ok"), (250, "ok"), (354, "go"), (452, "4.3.1 out of space"))
    with pytest.raises(SendError) as info:
        t.result()
    assert info.value.temporary and info.value.refused == {"b@example.org": (452, "out of space")}


def test_chunking_has_no_data_command() -> None:
    t = tx("b@example.org", chunking=True)
    assert not t.commands.endswith(b"DATA\r\n")
    assert feed(t, (250, "ok"), (250, "ok")) is Step.CONTENT
    assert feed(t, (250, "done")) is Step.DONE
    assert t.result().accepted == ("b@example.org",)
