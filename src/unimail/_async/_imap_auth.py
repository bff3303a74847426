"""IMAP login: LOGIN (RFC 9051 section 6.2.3) and AUTHENTICATE (section 6.2.2) on the shared
SASL core, with SASL-IR (RFC 4959) where offered.

    authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp] *(CRLF base64)
    initial-resp = (base64 / "=")
    login        = "LOGIN" SP userid SP password

By default the strongest mechanism both sides support is used (``sasl.STRENGTH``); the LOGIN
command only when the server offers no SASL mechanism we know, or when asked with
``auth="LOGIN"``. SCRAM's server-final message arrives as a last ``+`` continuation and is
verified there. An OAuth2 token rejected by the server is asked for again, once.

A refusal's text goes into the exception with every credential the exchange carried replaced
by ``***`` (``_proto.sasl.Redactor``): some servers quote the password or token they refused.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

from .._errors import AuthenticationError, CommandError, ConnectionLost
from .._proto.imap._wire import Arg, Atom
from .._proto.sasl import STRENGTH, TOKEN_MECHANISMS, Redactor, choose_mechanism
from ._credentials import check_encrypted, mechanism_factory

if TYPE_CHECKING:
    from ._imap_client import AsyncImapClient

__all__ = ["login"]

# RFC 7888 and common server limits: keep an initial response's command line short.
_MAX_INITIAL = 8000


async def login(client: AsyncImapClient) -> None:
    """Authenticate ``client`` with the credentials of its options.

    Raises:
        AuthenticationError: refused, LOGINDISABLED, no acceptable mechanism, missing
            credentials, or an unencrypted connection without ``allow_insecure_auth``.
        UnsupportedOperation: the requested mechanism is not offered.
    """
    options = client.options
    check_encrypted(client.is_tls, options)
    user = options.url.username
    if user is None:
        raise AuthenticationError("a user name (in the URL) is needed to log in")
    capabilities = client.capabilities
    offered = [c[5:] for c in capabilities if c.startswith("AUTH=")]
    requested = options.auth.upper() if isinstance(options.auth, str) else None
    token_login = callable(options.auth)
    known = set(offered) & set(STRENGTH)
    if requested == "LOGIN" or (requested is None and not token_login and not known):
        if "LOGINDISABLED" in capabilities:
            raise AuthenticationError("the server disabled the LOGIN command (LOGINDISABLED)")
        if options.password is None:
            raise AuthenticationError("a password is needed to log in")
        await _run(client, "LOGIN", user, options.password, redactor=Redactor(options.password))
        return
    name = choose_mechanism(
        offered, requested=requested, password=options.password is not None, token=token_login
    )
    for attempt in (1, 2):
        try:
            await _authenticate(client, name, user)
            return
        except AuthenticationError:
            # An OAuth2 token may have expired between the provider's call and its use.
            if attempt == 2 or name not in TOKEN_MECHANISMS:
                raise


async def _authenticate(client: AsyncImapClient, name: str, user: str) -> None:
    make = await mechanism_factory(name, client.options, user, client.peer)
    mechanism = make()
    redactor = Redactor(client.options.password, *mechanism.secrets)
    args: list[Arg] = [Atom(name)]
    if mechanism.client_first and "SASL-IR" in client.capabilities:
        # Only sent when short: otherwise the mechanism answers the server's empty "+" with
        # it (RFC 4422 section 5), which a fresh mechanism object does by itself.
        initial = base64.b64encode(mechanism.initial_response() or b"").decode("ascii")
        if len(initial) <= _MAX_INITIAL:
            args.append(Atom(initial or "="))
            redactor.add(initial)
        else:
            mechanism = make()

    def respond(challenge: bytes) -> bytes:
        answer = mechanism.respond(challenge)
        redactor.add(base64.b64encode(answer))  # as it travels: the server may quote it
        return answer

    await _run(client, "AUTHENTICATE", *args, respond=respond, name=name, redactor=redactor)
    mechanism.finish(None)


async def _run(
    client: AsyncImapClient,
    command: str,
    *args: Arg,
    respond: Callable[[bytes], bytes] | None = None,
    name: str | None = None,
    redactor: Redactor,
) -> None:
    error: Exception | None = None
    client.hide_in_trace(
        redactor.redact_bytes, redactor.safe_cut
    )  # a server may quote the credentials back
    try:
        reply = await client.run(command, *args, secret=True, respond=respond)
    except CommandError as exc:
        text = redactor.redact(exc.text)
        error = AuthenticationError(
            f"the server refused the credentials ({name or command}): {text}"
        )
    except ConnectionLost as exc:  # BYE: its text may quote the credentials too
        error = ConnectionLost(redactor.redact(str(exc)))
    if error is not None:
        # Raised outside the handler, so the server's unredacted words are not kept as the
        # new exception's __context__ either.
        raise error
    await client.capabilities_after_login(reply)
