"""The bookkeeping of one IMAP command, and the decisions about it that need no I/O.

``AsyncImapClient`` (``_imap_client``) moves the bytes; this module holds the records of a
command in flight (:class:`Pending`) and of one completed (:class:`Reply`), and the rules the
client applies along the way: what the protocol trace shows of a command that carries
credentials, how a ``+`` continuation request of a SASL exchange is answered (RFC 9051 section
6.2.2), and which responses end the exchange with an exception (a greeting that refuses the
connection or rules out STARTTLS, a tagged NO or BAD, an untagged BYE).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import attrs

from .._errors import CommandError, ConnectionLost, ProtocolError, TLSError
from .._proto.imap._parser import Response
from .._proto.imap._wire import Arg, Atom

__all__ = [
    "Pending",
    "Reply",
    "answer_continuation",
    "check_greeting",
    "check_tagged",
    "check_untagged",
    "redacted_command",
]

# Response codes after which trying again later may work (RFC 5530).
_TEMPORARY_CODES = frozenset({"UNAVAILABLE", "INUSE", "LIMIT", "OVERQUOTA", "SERVERBUG"})


@attrs.frozen
class Reply:
    """The outcome of one command: its tagged OK and the untagged responses before it."""

    tagged: Response
    untagged: list[Response]


@attrs.define
class Pending:
    """A command sent and not yet completed (see ``AsyncImapClient.start``)."""

    tag: str
    name: str
    #: The client's count of received bytes when the command started: what it received
    #: since bounds the responses gathered for it (see ``AsyncImapClient.run``).
    received_at: int = 0
    tagged: Response | None = None
    early: Response | None = None
    queued: list[Response] = attrs.field(factory=list)


def redacted_command(tag: str, name: str, args: tuple[Arg, ...]) -> bytes:
    """Return what the trace shows of a command whose arguments are credentials.

    Args:
        tag: the command's tag.
        name: the command (``"AUTHENTICATE"``, ``"LOGIN"``).
        args: its arguments.

    Returns:
        The tag, the name and, for AUTHENTICATE, the mechanism (an Atom), then ``***``.
    """
    # The trace may show the mechanism of AUTHENTICATE (an Atom), never credentials.
    shown = [tag, name]
    shown += [args[0].value] if args and isinstance(args[0], Atom) else []
    return " ".join([*shown, "***\r\n"]).encode()


def answer_continuation(response: Response, respond: Callable[[bytes], bytes]) -> bytes:
    """Return the line answering the continuation request ``response`` of a SASL exchange.

    Args:
        response: the ``+`` continuation request; its text is the base64 challenge.
        respond: gets the decoded challenge and returns the response.

    Returns:
        The response base64-encoded, with its CRLF.

    Raises:
        ProtocolError: the challenge is not base64.
    """
    try:
        challenge = base64.b64decode(response.text.strip(), validate=True)
    except ValueError:
        raise ProtocolError("the server sent a continuation that is not base64") from None
    return base64.b64encode(respond(challenge)) + b"\r\n"


def check_greeting(greeting: Response, *, starttls: bool) -> None:
    """Refuse a greeting that ends the connection before it starts.

    Args:
        greeting: the server's first response.
        starttls: the connection must be upgraded with STARTTLS.

    Raises:
        CommandError: the server greeted with BYE.
        TLSError: the server sent PREAUTH where STARTTLS is required.
    """
    if greeting.name == "BYE":
        raise CommandError(
            f"the server refused the connection: {greeting.text}", code="BYE",
            text=greeting.text, temporary=True,
        )  # fmt: skip
    if starttls and greeting.name == "PREAUTH":
        # RFC 9051 7.1.4: PREAUTH leaves no way to negotiate STARTTLS.
        raise TLSError("the server sent PREAUTH, so STARTTLS is impossible: refusing")


def check_untagged(pending: Pending, response: Response) -> None:
    """Refuse an untagged BYE during ``pending`` (except during LOGOUT, which expects one).

    Raises:
        ConnectionLost: the server said BYE.
    """
    if response.name == "BYE" and pending.name != "LOGOUT":
        raise ConnectionLost(f"the server closed the connection: {response.text}")


def check_tagged(name: str, tagged: Response) -> None:
    """Accept the tagged OK that completes command ``name``; raise for a NO or BAD.

    Raises:
        CommandError: the reply is NO or BAD; ``temporary`` when its response code says that
            trying again later may work.
    """
    if tagged.name == "OK":
        return
    code = tagged.code
    raise CommandError(
        f"IMAP {name} failed: {tagged.name} {f'[{code}] ' if code else ''}{tagged.text}",
        code=tagged.name,
        enhanced_code=code,
        text=tagged.text,
        temporary=code in _TEMPORARY_CODES,
    )
