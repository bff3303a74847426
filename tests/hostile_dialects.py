"""One script format for IMAP, POP3 and SMTP: the conversation pieces of each protocol.

A :class:`Dialect` (``IMAP``, ``POP3``, ``SMTP``) gives the same pieces in each protocol: the
greeting and capabilities, STARTTLS and its go-ahead (and refusals, garbage, an injected
forged answer), the capabilities asked again after TLS, a login accepted or refused, a SASL
challenge and its cancellation, the goodbye. :meth:`Dialect.verbs` reads a recording back
as command names, and :func:`leaked` lists what a client sent and should not have, so one test
body covers the three protocols. The steps come from :mod:`tests.scripted_server` and
:mod:`tests.hostile`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

from tests.hostile import USER, Answer, secret_forms
from tests.scripted_server import ReadLine, ReadUntilEOF, ScriptedServer, Send, StartTLS, Step

__all__ = ["DIALECTS", "EHLO", "IMAP", "POP3", "SMTP", "Dialect", "leaked"]


def leaked(dialect: Dialect, server: ScriptedServer) -> list[bytes]:
    """What the client sent and should not have: credential and mail commands (by name) and
    any form of :data:`PASSWORD`. Empty when the client kept quiet, as a test asserts."""
    verbs = dialect.verbs(server.received)
    found = [v for v in verbs if v in dialect.credential_verbs | dialect.mail_verbs]
    return found + [form for form in secret_forms() if form in server.received]


def _tag(line: bytes) -> bytes:
    return line.split(b" ", 1)[0]


@dataclass(frozen=True)
class Dialect(abc.ABC):
    """One protocol's pieces of a conversation, so a test is written once for all three.

    The pieces are lists of steps to splice into a script. Capability lists are given as SASL
    mechanism names; each dialect writes them its own way.

    Attributes:
        name: ``"imap"``, ``"pop3"`` or ``"smtp"`` (the test id).
        starttls_scheme: the URL scheme that requires STARTTLS.
        tls_scheme: the URL scheme of implicit TLS.
        starttls: the client's STARTTLS command line (the first command after the greeting
            pieces).
        go_ahead: the server's positive answer to it.
        refusals: negative answers to it (NO, BAD, -ERR, 454...).
        garbage: answers to it that are not the protocol at all.
        injected: what a man in the middle appends to the go-ahead (a forged capability
            answer offering plaintext logins).
        credential_verbs: command names that carry credentials.
        mail_verbs: command names that read or send mail.
    """

    name: str
    starttls_scheme: str
    tls_scheme: str
    starttls: bytes
    go_ahead: bytes
    refusals: tuple[bytes, ...]
    garbage: tuple[bytes, ...]
    injected: bytes
    credential_verbs: frozenset[bytes]
    mail_verbs: frozenset[bytes]

    @abc.abstractmethod
    def greet(self, *, starttls: bool, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        """The greeting and the capability exchange before the client's first command."""

    @abc.abstractmethod
    def capabilities_again(self, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        """The capability exchange a client must start again right after the handshake."""

    @abc.abstractmethod
    def accept_login(self, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        """Accept the client's login, as it goes when ``mechanisms`` were offered (none:
        IMAP LOGIN, POP3 USER/PASS; a SASL mechanism: one line with the initial response)."""

    @abc.abstractmethod
    def refuse_login(self, text: bytes = b"authentication failed") -> list[Step]:
        """Refuse the client's first login line."""

    @abc.abstractmethod
    def goodbye(self) -> list[Step]:
        """Read the client's LOGOUT/QUIT, answer it, and wait for the close."""

    def after_error(self) -> list[Step]:
        """The end of a script where the client gives up once logged in or refused: an IMAP
        client still logs out (answered, so it does not wait for its deadline)."""
        return [ReadUntilEOF()]

    @abc.abstractmethod
    def challenge(self, data: bytes) -> bytes:
        """A SASL challenge line carrying ``data`` (already base64)."""

    @abc.abstractmethod
    def sasl_cancelled(self) -> list[Step]:
        """Read the client's ``*`` (SASL cancel) and answer it as the protocol does."""

    def verbs(self, data: bytes) -> list[bytes]:
        """The command names in ``data`` (what a client sent), upper case, in order."""
        return [line.split()[0].upper() for line in data.splitlines() if line.strip()]

    def implicit(self, *steps: Step, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        """Implicit TLS: the handshake, the greeting (no STARTTLS), the login, then ``steps``."""
        return [
            StartTLS(),
            *self.greet(starttls=False, mechanisms=mechanisms),
            *self.accept_login(mechanisms),
            *steps,
        ]


class _Imap(Dialect):
    def _caps(self, mechanisms: Sequence[str], starttls: bool) -> bytes:
        words = ["IMAP4rev1", "SASL-IR", *(f"AUTH={m}" for m in mechanisms)]
        return " ".join([*words, *(["STARTTLS"] if starttls else [])]).encode()

    def greet(self, *, starttls: bool, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        caps = self._caps(mechanisms, starttls)
        return [Send(b"* OK [CAPABILITY " + caps + b"] hostile ready\r\n")]

    def capabilities_again(self, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        caps = self._caps(mechanisms, False)
        return [ReadLine(b"U2 CAPABILITY\r\n"), Send(b"* CAPABILITY " + caps + b"\r\nU2 OK\r\n")]

    def accept_login(self, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        caps = b"[CAPABILITY IMAP4rev1 UIDPLUS MOVE ID]"
        return [Answer(lambda line: _tag(line) + b" OK " + caps + b" in\r\n")]

    def refuse_login(self, text: bytes = b"authentication failed") -> list[Step]:
        # The client still logs out politely after a refusal.
        return [
            Answer(lambda line: _tag(line) + b" NO [AUTHENTICATIONFAILED] " + text + b"\r\n"),
            *self.goodbye(),
        ]

    def goodbye(self) -> list[Step]:
        def bye(line: bytes) -> bytes:
            assert line.split()[1:] == [b"LOGOUT"], line
            return b"* BYE bye\r\n" + _tag(line) + b" OK done\r\n"

        return [Answer(bye), ReadUntilEOF()]

    def after_error(self) -> list[Step]:
        return self.goodbye()

    def challenge(self, data: bytes) -> bytes:
        return b"+ " + data + b"\r\n"

    def sasl_cancelled(self) -> list[Step]:
        return [ReadLine(b"*\r\n"), Send(b"U1 BAD cancelled\r\n"), *self.goodbye()]

    def verbs(self, data: bytes) -> list[bytes]:
        # "tag VERB args": a line without a verb is a SASL response or literal data.
        return [w[1].upper() for line in data.splitlines() if len(w := line.split()) > 1]


class _Pop3(Dialect):
    def _capa(self, mechanisms: Sequence[str], starttls: bool) -> bytes:
        tags = [b"UIDL", b"TOP", b"RESP-CODES"]
        tags += [b"SASL " + " ".join(mechanisms).encode()] if mechanisms else [b"USER"]
        tags += [b"STLS"] if starttls else []
        return b"+OK\r\n" + b"".join(t + b"\r\n" for t in tags) + b".\r\n"

    def greet(self, *, starttls: bool, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        return [
            Send(b"+OK hostile ready\r\n"),
            ReadLine(b"CAPA\r\n"),
            Send(self._capa(mechanisms, starttls)),
        ]

    def capabilities_again(self, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        return [ReadLine(b"CAPA\r\n"), Send(self._capa(mechanisms, False))]

    def accept_login(self, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        user_pass = [] if mechanisms else [ReadLine(b"USER " + USER.encode() + b"\r\n")]
        return [
            *user_pass,
            *([Send(b"+OK\r\n")] if user_pass else []),
            Answer(lambda line: b"+OK welcome\r\n"),
            ReadLine(b"CAPA\r\n"),
            Send(self._capa((), False)),
        ]

    def refuse_login(self, text: bytes = b"authentication failed") -> list[Step]:
        return [Answer(lambda line: b"-ERR [AUTH] " + text + b"\r\n"), ReadUntilEOF()]

    def goodbye(self) -> list[Step]:
        return [ReadLine(b"QUIT\r\n"), Send(b"+OK bye\r\n"), ReadUntilEOF()]

    def challenge(self, data: bytes) -> bytes:
        return b"+ " + data + b"\r\n"

    def sasl_cancelled(self) -> list[Step]:
        return [ReadLine(b"*\r\n"), Send(b"-ERR cancelled\r\n"), ReadUntilEOF()]


EHLO = b"EHLO client.test\r\n"


class _Smtp(Dialect):
    def _ehlo(self, mechanisms: Sequence[str], starttls: bool) -> bytes:
        lines = [b"hostile", b"PIPELINING", b"8BITMIME", b"DSN"]
        lines += [b"AUTH " + " ".join(mechanisms).encode()] if mechanisms else []
        lines += [b"STARTTLS"] if starttls else []
        head = b"".join(b"250-" + line + b"\r\n" for line in lines[:-1])
        return head + b"250 " + lines[-1] + b"\r\n"

    def greet(self, *, starttls: bool, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        return [
            Send(b"220 hostile ESMTP\r\n"),
            ReadLine(EHLO),
            Send(self._ehlo(mechanisms, starttls)),
        ]

    def capabilities_again(self, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        return [ReadLine(EHLO), Send(self._ehlo(mechanisms, False))]

    def accept_login(self, mechanisms: Sequence[str] = ("PLAIN",)) -> list[Step]:
        return [
            Answer(lambda line: b"235 2.7.0 accepted\r\n"),
            ReadLine(EHLO),
            Send(self._ehlo((), False)),
        ]

    def refuse_login(self, text: bytes = b"authentication failed") -> list[Step]:
        return [Answer(lambda line: b"535 5.7.8 " + text + b"\r\n"), ReadUntilEOF()]

    def goodbye(self) -> list[Step]:
        return [ReadLine(b"QUIT\r\n"), Send(b"221 bye\r\n"), ReadUntilEOF()]

    def challenge(self, data: bytes) -> bytes:
        return b"334 " + data + b"\r\n"

    def sasl_cancelled(self) -> list[Step]:
        return [ReadLine(b"*\r\n"), Send(b"501 5.0.0 cancelled\r\n"), ReadUntilEOF()]


_HTTP = b"HTTP/1.1 400 Bad Request\r\n"

IMAP = _Imap(
    name="imap",
    starttls_scheme="imap",
    tls_scheme="imaps",
    starttls=b"U1 STARTTLS\r\n",
    go_ahead=b"U1 OK begin TLS now\r\n",
    refusals=(b"U1 NO not now\r\n", b"U1 BAD unknown command\r\n"),
    garbage=(_HTTP, b"U1 MAYBE later\r\n"),
    injected=b"* CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN\r\n",
    credential_verbs=frozenset({b"LOGIN", b"AUTHENTICATE"}),
    mail_verbs=frozenset({b"SELECT", b"EXAMINE", b"FETCH", b"UID", b"APPEND", b"LIST"}),
)
POP3 = _Pop3(
    name="pop3",
    starttls_scheme="pop3",
    tls_scheme="pop3s",
    starttls=b"STLS\r\n",
    go_ahead=b"+OK begin TLS now\r\n",
    refusals=(b"-ERR not now\r\n", b"-ERR [SYS/TEMP] try later\r\n"),
    garbage=(_HTTP, b"OK begin TLS now\r\n"),
    injected=b"+OK\r\nSASL PLAIN\r\nUSER\r\n.\r\n",
    credential_verbs=frozenset({b"USER", b"PASS", b"APOP", b"AUTH"}),
    mail_verbs=frozenset({b"STAT", b"LIST", b"UIDL", b"RETR", b"TOP", b"DELE"}),
)
SMTP = _Smtp(
    name="smtp",
    starttls_scheme="smtp",
    tls_scheme="smtps",
    starttls=b"STARTTLS\r\n",
    go_ahead=b"220 2.0.0 begin TLS now\r\n",
    refusals=(
        b"454 4.7.0 TLS not available\r\n",
        b"502 5.5.1 unknown command\r\n",
        b"250 2.0.0 ok\r\n",  # positive, but not the 220 go-ahead
    ),
    garbage=(_HTTP, b"go ahead\r\n"),
    injected=b"250-hostile\r\n250 AUTH PLAIN LOGIN\r\n",
    credential_verbs=frozenset({b"AUTH"}),
    mail_verbs=frozenset({b"MAIL", b"RCPT", b"DATA", b"BDAT"}),
)

#: The three dialects, for ``pytest.mark.parametrize("dialect", DIALECTS, ids=...)``.
DIALECTS = (IMAP, POP3, SMTP)
