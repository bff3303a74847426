"""SMTP command writing, address syntax, DSN parameters and the envelope from headers."""

from __future__ import annotations

import email.message

import pytest

from unimail import Dsn, InvalidArgument, OutgoingMessage
from unimail._proto.smtp import _commands as cmd
from unimail._proto.smtp import check_address, envelope_of, without_bcc


@pytest.mark.parametrize(
    ("address", "wire", "utf8"),
    [
        ("alice@example.org", "alice@example.org", False),
        ("first.last+tag@sub.example.org", "first.last+tag@sub.example.org", False),
        ('"john doe"@example.org', '"john doe"@example.org', False),
        ('"a\\"b"@example.org', '"a\\"b"@example.org', False),
        ("alice@b\u00fccher.example", "alice@xn--bcher-kva.example", False),
        ("\u00e9l\u00e8ve@example.org", "\u00e9l\u00e8ve@example.org", True),
        ("postmaster@[127.0.0.1]", "postmaster@[127.0.0.1]", False),
        ("postmaster@[IPv6:::1]", "postmaster@[IPv6:::1]", False),
    ],
)
def test_good_addresses(address: str, wire: str, utf8: bool) -> None:
    checked = check_address(address)
    assert (checked.original, checked.wire, checked.needs_smtputf8) == (address, wire, utf8)


@pytest.mark.parametrize(
    "address",
    [
        "alice",
        "@example.org",
        "alice@",
        "al ice@example.org",
        "alice..x@example.org",
        ".alice@example.org",
        "alice@exa_mple.org",
        "alice@-example.org",
        "alice@example..org",
        "alice@[300.1.1.1]",
        "alice@example.org\r\nRCPT TO:<evil@example.org>",
        "alice@exam\0ple.org",
        "a" * 65 + "@example.org",
        "alice@" + "a" * 64 + ".org",
        "<alice@example.org>",
    ],
)
def test_bad_addresses_name_the_address(address: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_address(address, what="recipient")
    assert "recipient" in str(info.value)


def test_null_sender_only_where_allowed() -> None:
    assert check_address("", null_ok=True).wire == ""
    with pytest.raises(InvalidArgument):
        check_address("")


def test_commands() -> None:
    sender = check_address("a@example.org")
    assert cmd.mail_from(sender, ["SIZE=10", "BODY=8BITMIME"]) == (
        b"MAIL FROM:<a@example.org> SIZE=10 BODY=8BITMIME\r\n"
    )
    assert cmd.mail_from(check_address("", null_ok=True)) == b"MAIL FROM:<>\r\n"
    assert cmd.rcpt_to(check_address("b@example.org"), ["NOTIFY=NEVER"]) == (
        b"RCPT TO:<b@example.org> NOTIFY=NEVER\r\n"
    )
    assert cmd.bdat(5, last=True) == b"BDAT 5 LAST\r\n"
    assert cmd.bdat(0, last=False) == b"BDAT 0\r\n"
    assert cmd.ehlo("client.example.org") == b"EHLO client.example.org\r\n"
    assert cmd.helo("[192.0.2.1]") == b"HELO [192.0.2.1]\r\n"
    assert cmd.auth("PLAIN", "AGEAYg==") == b"AUTH PLAIN AGEAYg==\r\n"


@pytest.mark.parametrize(
    "param", ["SIZE=1\r\nRSET", "BODY=8BIT MIME", "X=a=b", "=x", "", "NOTIFY=\0", "X-Y="]
)
def test_bad_esmtp_params(param: str) -> None:
    with pytest.raises(InvalidArgument):
        cmd.check_param(param)


@pytest.mark.parametrize("name", ["bad name", "host\r\nQUIT", "", "-host", "h\0"])
def test_bad_ehlo_names(name: str) -> None:
    with pytest.raises(InvalidArgument):
        cmd.ehlo(name)


def test_xtext() -> None:
    assert cmd.xtext("a+b=c d\u00e9") == "a+2Bb+3Dc+20d+C3+A9"


def test_dsn_params() -> None:
    dsn = Dsn(notify=("success", "FAILURE"), ret="HDRS", envid="id 1")
    assert dsn.mail_params() == ["RET=HDRS", "ENVID=id+201"]
    assert dsn.rcpt_params("b@example.org") == [
        "NOTIFY=SUCCESS,FAILURE",
        "ORCPT=rfc822;b@example.org",
    ]
    for bad in ({"notify": ("NEVER", "SUCCESS")}, {"notify": ("SOMETIMES",)}, {"ret": "ALL"}):
        with pytest.raises(InvalidArgument):
            Dsn(**bad)
    with pytest.raises(InvalidArgument):
        Dsn(envid="x\r\ny")


def message(**headers: str) -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("body\n")
    return msg


def test_envelope_from_headers_and_bcc_removed() -> None:
    msg = message(
        From="Alice <alice@example.org>",
        To="Bob <bob@example.org>, carol@example.org",
        Cc="bob@EXAMPLE.org",
        Bcc="dave@example.org",
    )
    assert envelope_of(msg) == (
        "alice@example.org",
        ["bob@example.org", "carol@example.org", "dave@example.org"],
    )
    stripped = without_bcc(msg)
    assert stripped["Bcc"] is None and msg["Bcc"] is not None
    assert b"dave" not in stripped.as_bytes()


def test_sender_header_wins_and_resent_headers_are_used() -> None:
    msg = message(From="a@example.org", Sender="s@example.org", To="t@example.org")
    assert envelope_of(msg) == ("s@example.org", ["t@example.org"])
    msg = message(From="a@example.org", To="t@example.org")
    msg["Resent-From"] = "r@example.org"
    msg["Resent-To"] = "new@example.org"
    msg["Resent-Bcc"] = "hidden@example.org"
    assert envelope_of(msg) == ("r@example.org", ["new@example.org", "hidden@example.org"])
    assert without_bcc(msg)["Resent-Bcc"] is None


def test_outgoing_checks_before_sending() -> None:
    with pytest.raises(InvalidArgument, match="no recipient"):
        OutgoingMessage.of(message(From="a@example.org"))
    with pytest.raises(InvalidArgument, match="no sender"):
        OutgoingMessage.of(message(To="b@example.org"))
    with pytest.raises(InvalidArgument, match="needs sender= and recipients="):
        OutgoingMessage.of(b"Subject: x\r\n\r\nbody\r\n")
    with pytest.raises(InvalidArgument, match="bad@@x"):
        OutgoingMessage.of(message(From="a@example.org", To="b@example.org"), recipients=["bad@@x"])
    with pytest.raises(InvalidArgument):
        OutgoingMessage.of(message(From="a@example.org", To="b@example.org"), mail_options=["A B"])
    out = OutgoingMessage.of(b"x", "a@example.org", "b@example.org")
    assert [r.wire for r in out.recipients] == ["b@example.org"]
