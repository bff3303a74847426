"""Logging in to a POP3 server: USER/PASS, APOP (RFC 1939) and AUTH with SASL (RFC 5034).

Which method, by default: the strongest SASL mechanism both sides support when it does not
reveal the password (SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, or the OAuth ones with a token);
else APOP when the greeting carries a timestamp (it does not reveal the password either, but
MD5 is weak, so it never wins over SCRAM); else SASL PLAIN or LOGIN; else USER/PASS. The
caller can ask for one by name (``auth="USER"``, ``"APOP"``, ``"PLAIN"``, ...).

Nothing is sent over an unencrypted connection unless the caller set ``allow_insecure_auth``
(APOP and SCRAM included: their exchanges allow offline guessing of the password).

A refusal becomes :class:`AuthenticationError`, except when the server's RESP-CODE says the
problem is not the credentials (RFC 2449 section 8, RFC 3206): ``[IN-USE]`` (the maildrop is
locked by another session), ``[LOGIN-DELAY]`` (logging in again too soon) and ``[SYS/TEMP]``
raise a :class:`CommandError` with ``temporary=True``, ``[SYS/PERM]`` one with
``temporary=False``; ``enhanced_code`` holds the code. Either way the server's text goes into
the exception with every credential of the exchange replaced by ``***``
(``_proto.sasl.Redactor``): some servers quote the password or token they refused.
"""

from __future__ import annotations

import base64
import binascii
from typing import NoReturn

import attrs

from .._errors import (
    AuthenticationError,
    ProtocolError,
    UnimailError,
    UnsupportedOperation,
)
from .._proto.pop3._commands import MAX_COMMAND_LINE, Command, apop_digest
from .._proto.pop3._protocol import Reply
from .._proto.pop3._reply import StatusLine, apop_timestamp
from .._proto.sasl import TOKEN_MECHANISMS, Redactor, choose_mechanism
from ._credentials import check_encrypted, mechanism_factory
from ._pop3_client import AsyncPop3Client, command_error

__all__ = ["login"]

# SASL mechanisms that beat APOP: they never reveal the password, and are not MD5 of it.
_STRONG = frozenset({"SCRAM-SHA-256", "SCRAM-SHA-1", "OAUTHBEARER", "XOAUTH2"})
# RESP-CODEs that say the refusal is not about the credentials.
_NOT_CREDENTIALS = frozenset({"IN-USE", "LOGIN-DELAY", "SYS/TEMP", "SYS/PERM"})


async def login(client: AsyncPop3Client) -> str:
    """Authenticate with the URL's user name and the password or token; return the method
    used (``"USER"``, ``"APOP"`` or the SASL mechanism name). Capabilities are read again.

    Raises:
        AuthenticationError: refused, no usable method, or the connection is unencrypted
            without ``allow_insecure_auth``.
        CommandError: refused for a reason other than the credentials (see the module).
        UnsupportedOperation: the method asked for is not offered.
    """
    options = client.options
    check_encrypted(client.is_tls, options)
    user = options.url.username
    if user is None:
        raise AuthenticationError("a user name is needed: put it in the URL (pop3s://user@host)")
    provider = options.auth if callable(options.auth) else None
    requested = options.auth.strip().upper() if isinstance(options.auth, str) else None
    method = _choose(client, requested, options.password is not None, provider is not None)
    if method == "USER":
        await _user_pass(client, user)
    elif method == "APOP":
        await _apop(client, user)
    else:
        await _sasl(client, method, user, retry=provider is not None)
    await client.capa()  # RFC 2449 section 5: capabilities may change after login
    return method


def _choose(client: AsyncPop3Client, requested: str | None, password: bool, token: bool) -> str:
    caps = client.capabilities
    timestamp = apop_timestamp(client.greeting)
    if requested in ("USER", "APOP"):
        if not password:
            raise AuthenticationError(f"{requested} needs a password")
        if requested == "APOP" and timestamp is None:
            raise UnsupportedOperation(
                "the server's greeting has no APOP timestamp", capability="APOP"
            )
        if requested == "USER" and caps.known and "USER" not in caps:
            raise UnsupportedOperation("the server does not offer USER/PASS", capability="USER")
        return requested
    if requested is not None:
        return choose_mechanism(caps.sasl, requested=requested, password=password, token=token)
    sasl: str | None = None
    if caps.sasl:
        try:
            sasl = choose_mechanism(caps.sasl, password=password, token=token)
        except AuthenticationError:
            sasl = None
    if sasl in _STRONG or (sasl == "CRAM-MD5" and timestamp is None):
        return sasl
    if timestamp is not None and password:
        return "APOP"
    if sasl is not None:
        return sasl
    if password and (not caps.known or "USER" in caps):
        return "USER"
    if not (password or token):
        raise AuthenticationError("a password (or an OAuth token provider) is needed")
    raise AuthenticationError("the server offers no login method unimail can use")


def _refused(how: str, status: StatusLine, redactor: Redactor) -> UnimailError:
    text = redactor.redact(status.text)
    if text != status.text:
        status = attrs.evolve(status, raw_text=text.encode())
    if status.code in _NOT_CREDENTIALS:
        return command_error(how, status)
    code = f"[{status.code}] " if status.code else ""
    return AuthenticationError(f"the server refused the credentials ({how}): {code}{status.text}")


async def _run(client: AsyncPop3Client, command: Command, how: str, redactor: Redactor) -> None:
    client.hide_in_trace(
        redactor.redact_bytes, redactor.safe_cut
    )  # a server may quote the credentials back
    status = await client.simple(command, check=False)
    if not status.ok:
        raise _refused(how, status, redactor)


async def _user_pass(client: AsyncPop3Client, user: str) -> None:
    password = client.options.password or ""
    redactor = Redactor(password)
    await _run(client, Command.make("USER", user), "USER", redactor)
    await _run(client, Command.make("PASS", password, secret=True), "PASS", redactor)


async def _apop(client: AsyncPop3Client, user: str) -> None:
    timestamp = apop_timestamp(client.greeting) or b""
    digest = apop_digest(timestamp, client.options.password or "")
    # The digest is no password, but it allows guessing one offline: hidden as well.
    redactor = Redactor(client.options.password, digest)
    await _run(client, Command.make("APOP", user, digest, secret=True), "APOP", redactor)


async def _sasl(client: AsyncPop3Client, name: str, user: str, *, retry: bool) -> None:
    make = await mechanism_factory(name, client.options, user, client.peer)
    mechanism = make()
    redactor = Redactor(client.options.password, *mechanism.secrets)
    client.hide_in_trace(
        redactor.redact_bytes, redactor.safe_cut
    )  # a server may quote the credentials back
    command = Command.make("AUTH", name)
    if mechanism.client_first:
        # RFC 5034 section 4: the initial response goes on the AUTH line ("=" when empty),
        # unless the line would pass 255 octets: then it answers the server's empty "+ ".
        response = base64.b64encode(mechanism.initial_response() or b"").decode() or "="
        if len(b"AUTH %s %s\r\n" % (name.encode(), response.encode())) <= MAX_COMMAND_LINE:
            command = Command.make("AUTH", name, response, secret=True)
            redactor.add(response)
        else:
            mechanism = make()
    await client.drain()
    await client.submit([command])
    while True:
        event = await client.next_continuation()
        if isinstance(event, Reply):
            break
        try:
            challenge = base64.b64decode(event.text, validate=True)
        except (binascii.Error, ValueError):
            await _cancel(client, ProtocolError("the server sent a challenge that is not base64"))
        try:
            answer = mechanism.respond(challenge)
        except UnimailError as exc:
            await _cancel(client, exc)
        encoded = base64.b64encode(answer)
        redactor.add(encoded)  # as it travels: the server may quote it
        await client.send_line(encoded, redacted=b"***\r\n")
    if not event.status.ok:
        if retry and name in TOKEN_MECHANISMS and event.status.code not in _NOT_CREDENTIALS:
            # The token may have expired: ask the provider once more for a fresh one.
            await _sasl(client, name, user, retry=False)
            return
        raise _refused(f"AUTH {name}", event.status, redactor)
    mechanism.finish(None)  # SCRAM: the server must have proved that it knows the password


async def _cancel(client: AsyncPop3Client, error: UnimailError) -> NoReturn:
    """Cancel the exchange with "*" (RFC 5034 section 4), read the -ERR, raise ``error``."""
    await client.send_line(b"*")
    event = await client.next_continuation()
    if not isinstance(event, Reply):
        await client.abort()
    raise error
