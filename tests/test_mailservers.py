"""The test mail servers work: checked with the standard library's clients only.

These tests guard the infrastructure (tools/mailservers.py), not unimail: when one fails, the
integration tests built on the same servers cannot be trusted either.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import poplib
import re
import smtplib
import ssl
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

import pytest

from mailservers import MailServers

pytestmark = pytest.mark.servers

DELIVERY_TIMEOUT = 20.0


def make_message(subject: str, to: str = "alice@example.test", body: str = "Hello.\n") -> bytes:
    """Return a small RFC 5322 message with a unique Message-ID."""
    message = EmailMessage()
    message["From"] = "sender@example.test"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    message.set_content(body)
    return message.as_bytes(policy=email.policy.SMTP)


@contextmanager
def imap_session(servers: MailServers, user: str = "alice") -> Iterator[imaplib.IMAP4_SSL]:
    """An IMAPS session logged in as ``user``, logged out afterwards."""
    imap = imaplib.IMAP4_SSL(servers.host, servers.imaps_port, ssl_context=servers.ssl_context())
    try:
        imap.login(user, servers.users[user])
        yield imap
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            imap.shutdown()


@contextmanager
def pop3_session(servers: MailServers, user: str = "alice") -> Iterator[poplib.POP3_SSL]:
    """A POP3S session logged in as ``user``, closed afterwards."""
    pop = poplib.POP3_SSL(servers.host, servers.pop3s_port, context=servers.ssl_context())
    try:
        pop.user(user)
        pop.pass_(servers.users[user])
        yield pop
    finally:
        try:
            pop.quit()
        except (poplib.error_proto, OSError):
            pop.close()


def select_count(imap: imaplib.IMAP4, mailbox: str = "INBOX") -> int:
    """SELECT ``mailbox`` and return its message count."""
    status, data = imap.select(mailbox)
    assert status == "OK", data
    return int(data[0] or b"0")


def wait_for_message(servers: MailServers, user: str, subject: str) -> bytes:
    """Poll ``user``'s INBOX over IMAP until a message with ``subject`` arrives; return it."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    with imap_session(servers, user) as imap:
        while True:
            select_count(imap)
            status, data = imap.search(None, "SUBJECT", f'"{subject}"')
            assert status == "OK"
            numbers = (data[0] or b"").split()
            if numbers:
                status, fetched = imap.fetch(numbers[-1].decode(), "(BODY.PEEK[])")
                assert status == "OK"
                item = fetched[0]
                assert isinstance(item, tuple)
                return item[1]
            if time.monotonic() > deadline:
                log = servers.workdir / "postfix" / "postfix.log"
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                pytest.fail(f"no message {subject!r} for {user} after {DELIVERY_TIMEOUT} s\n{tail}")
            time.sleep(0.1)


# -- IMAP ----------------------------------------------------------------------------------


def test_imap_starttls_login_verified_against_test_ca(mail_servers: MailServers) -> None:
    imap = imaplib.IMAP4(mail_servers.host, mail_servers.imap_port)
    try:
        assert "STARTTLS" in imap.capabilities
        imap.starttls(ssl_context=mail_servers.ssl_context())
        sock = imap.socket()
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        status, _ = imap.login("alice", mail_servers.users["alice"])
        assert status == "OK"
        select_count(imap)
    finally:
        imap.logout()


def test_imap_starttls_fails_verification_with_default_context(mail_servers: MailServers) -> None:
    imap = imaplib.IMAP4(mail_servers.host, mail_servers.imap_port)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            imap.starttls(ssl_context=ssl.create_default_context())
    finally:
        # The failed handshake already closed the socket, so shutdown() would fail.
        imap.file.close()
        imap.sock.close()


def test_imaps_login_by_hostname(mail_servers: MailServers) -> None:
    # The certificate names both 127.0.0.1 and localhost.
    context = mail_servers.ssl_context()
    with imaplib.IMAP4_SSL("localhost", mail_servers.imaps_port, ssl_context=context) as imap:
        status, _ = imap.login("bob", mail_servers.users["bob"])
        assert status == "OK"


def test_imap_wrong_password_is_rejected_without_penalty(mail_servers: MailServers) -> None:
    context = mail_servers.ssl_context()
    host, port = mail_servers.host, mail_servers.imaps_port
    for _ in range(3):
        with (
            imaplib.IMAP4_SSL(host, port, ssl_context=context) as imap,
            pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"),
        ):
            imap.login("bob", "not the password")
    # Dovecot's auth penalty is disabled: with it, this login would wait 4 s or more.
    with imaplib.IMAP4_SSL(host, port, ssl_context=context) as imap:
        started = time.monotonic()
        status, _ = imap.login("bob", mail_servers.users["bob"])
        assert status == "OK"
        assert time.monotonic() - started < 2


@pytest.mark.parametrize("user", ["alice", "carol", "dave"])
def test_imap_sasl_cram_md5_and_quoted_login(mail_servers: MailServers, user: str) -> None:
    # carol's password is UTF-8 and dave's needs IMAP quoting: both work with LOGIN and with
    # CRAM-MD5 (which needs the {PLAIN} passwords on the server side).
    password = mail_servers.users[user]
    context = mail_servers.ssl_context()
    host, port = mail_servers.host, mail_servers.imaps_port
    with imaplib.IMAP4_SSL(host, port, ssl_context=context) as imap:
        assert "AUTH=CRAM-MD5" in imap.capabilities
        assert "AUTH=SCRAM-SHA-256" in imap.capabilities
        status, _ = imap.login_cram_md5(user, password)
        assert status == "OK"
    if password.isascii():
        with imaplib.IMAP4_SSL(host, port, ssl_context=context) as imap:
            status, _ = imap.login(user, password)
            assert status == "OK"


# -- POP3 ----------------------------------------------------------------------------------


def test_pop3_stls_login(alice: MailServers) -> None:
    pop = poplib.POP3(alice.host, alice.pop3_port)
    try:
        assert "STLS" in pop.capa()
        pop.stls(context=alice.ssl_context())
        pop.user("alice")
        pop.pass_(alice.users["alice"])
        assert pop.stat() == (0, 0)
    finally:
        pop.quit()


def test_pop3s_login(alice: MailServers) -> None:
    alice.seed("alice", [make_message("pop3s")])
    with pop3_session(alice) as pop:
        count, _size = pop.stat()
        assert count == 1
        _response, lines, _octets = pop.retr(1)
        assert b"Subject: pop3s" in lines


# -- SMTP ----------------------------------------------------------------------------------


def test_smtp_submission_starttls_auth_then_read_back_over_imap(alice: MailServers) -> None:
    subject = f"submission {uuid.uuid4().hex}"
    with smtplib.SMTP(alice.host, alice.smtp_port, timeout=30) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")
        assert not smtp.has_extn("auth"), "AUTH must only be offered after STARTTLS"
        smtp.starttls(context=alice.ssl_context())
        smtp.ehlo()
        assert "PLAIN" in smtp.esmtp_features["auth"].split()
        smtp.user, smtp.password = "alice", alice.users["alice"]
        code, _ = smtp.auth("PLAIN", smtp.auth_plain)
        assert code == 235
        refused = smtp.sendmail("alice@example.test", ["alice@example.test"], make_message(subject))
        assert refused == {}
    received = wait_for_message(alice, "alice", subject)
    parsed = email.message_from_bytes(received, policy=email.policy.default)
    assert parsed["Subject"] == subject
    # Postfix delivered it to Dovecot over LMTP.
    assert "by mail.example.test" in received.decode(errors="replace")


def test_smtps_implicit_tls_auth_and_relay(alice: MailServers) -> None:
    subject = f"smtps {uuid.uuid4().hex}"
    context = alice.ssl_context()
    with smtplib.SMTP_SSL(alice.host, alice.smtps_port, context=context, timeout=30) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("auth")
        smtp.login("bob", alice.users["bob"])
        # Authenticated users may relay; the server drops such mail instead of sending it out.
        refused = smtp.sendmail(
            "bob@example.test",
            ["alice@example.test", "someone@elsewhere.invalid"],
            make_message(subject),
        )
        assert refused == {}
    wait_for_message(alice, "alice", subject)


def test_smtp_unauthenticated_relay_and_unknown_user_are_refused(mail_servers: MailServers) -> None:
    with smtplib.SMTP(mail_servers.host, mail_servers.smtp_port, timeout=30) as smtp:
        smtp.starttls(context=mail_servers.ssl_context())
        with pytest.raises(smtplib.SMTPRecipientsRefused) as relay:
            smtp.sendmail("x@example.test", ["y@elsewhere.invalid"], make_message("relay"))
        assert relay.value.recipients["y@elsewhere.invalid"][0] == 554
        with pytest.raises(smtplib.SMTPRecipientsRefused) as unknown:
            smtp.sendmail("x@example.test", ["nobody@example.test"], make_message("unknown"))
        assert unknown.value.recipients["nobody@example.test"][0] == 550


# -- Seeding, LMTP, clearing ---------------------------------------------------------------


def test_seed_500_messages_visible_over_imap_and_pop3(alice: MailServers) -> None:
    alice.seed("alice", (make_message(f"seeded {n}") for n in range(500)))
    with imap_session(alice) as imap:
        assert select_count(imap) == 500
        status, data = imap.fetch("500", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert status == "OK"
        item = data[0]
        assert isinstance(item, tuple)
        # Seeded in order: message 500 is the last one written.
        assert item[1].strip() == b"Subject: seeded 499"
    with pop3_session(alice) as pop:
        count, size = pop.stat()
        assert count == 500
        assert size > 500 * 100


def test_seed_with_flags_goes_to_cur(alice: MailServers) -> None:
    alice.seed("alice", [make_message("already read")], flags="S")
    with imap_session(alice) as imap:
        select_count(imap)
        status, data = imap.search(None, "SEEN")
        assert status == "OK"
        assert data[0] == b"1"


def test_deliver_lmtp(alice: MailServers) -> None:
    subject = f"lmtp {uuid.uuid4().hex}"
    alice.deliver_lmtp("alice", make_message(subject))
    with imap_session(alice) as imap:
        assert select_count(imap) == 1
    received = wait_for_message(alice, "alice", subject)
    assert f"Subject: {subject}".encode() in received


def test_seed_into_folders_listed_and_selectable(alice: MailServers) -> None:
    alice.seed("alice", [make_message(f"archived {n}") for n in range(3)], folder="Archive")
    alice.seed("alice", [make_message("nested")], folder="Lists/python")
    assert (alice.maildir("alice", "Archive") / "maildirfolder").exists()
    assert alice.maildir("alice", "Lists/python").name == ".Lists.python"
    with imap_session(alice) as imap:
        status, listing = imap.list()
        assert status == "OK"
        names = {
            match.group(1)
            for line in listing
            if isinstance(line, bytes) and (match := re.search(rb'"/" "?([^"]+)"?$', line))
        }
        assert {b"INBOX", b"Archive", b"Lists/python"} <= names
        status, subscribed = imap.lsub()
        assert status == "OK"
        assert any(isinstance(line, bytes) and b"Archive" in line for line in subscribed)
        assert select_count(imap, "Archive") == 3
        assert select_count(imap, "Lists/python") == 1
        assert select_count(imap, "INBOX") == 0


def test_clear_empties_all_folders(mail_servers: MailServers) -> None:
    mail_servers.seed("bob", [make_message("old", to="bob@example.test")] * 5)
    mail_servers.seed("bob", [make_message("old folder")], folder="Old")
    with imap_session(mail_servers, "bob") as imap:
        # An index exists now (Dovecot built it on SELECT); clear must remove it too.
        assert select_count(imap) == 5
    mail_servers.clear("bob")
    with imap_session(mail_servers, "bob") as imap:
        assert select_count(imap) == 0
        status, listing = imap.list()
        assert status == "OK"
        assert not any(isinstance(line, bytes) and b"Old" in line for line in listing)
    with pop3_session(mail_servers, "bob") as pop:
        assert pop.stat() == (0, 0)
    # Delivery still works into the fresh mailbox.
    mail_servers.deliver_lmtp("bob", make_message("after clear", to="bob@example.test"))
    with imap_session(mail_servers, "bob") as imap:
        assert select_count(imap) == 1


def test_environment_names(mail_servers: MailServers) -> None:
    env = mail_servers.environment()
    assert env["UNIMAIL_TEST_USER"] == "alice"
    assert env["UNIMAIL_TEST_PASSWORD"] == mail_servers.users["alice"]
    assert env["UNIMAIL_TEST_IMAPS_PORT"] == str(mail_servers.imaps_port)
    assert env["UNIMAIL_TEST_CA"] == str(mail_servers.ca_pem)
