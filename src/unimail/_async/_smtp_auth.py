"""SMTP AUTH (RFC 4954) on the shared SASL core (``_proto/sasl``).

::

    auth-command = "AUTH" SP sasl-mech [SP initial-response]
                   *(CRLF [base64]) [CRLF cancel-response] CRLF
    initial-response = base64 / "="
    cancel-response = "*"

The server's challenges come as ``334 <base64>``; ``235`` is success, ``535`` (and any other
4xx/5xx) failure. The initial response goes on the AUTH line when the line stays within 512
octets (RFC 4954 section 4 and RFC 5321 4.5.3.1.4); otherwise it is sent after an empty 334.
SCRAM's server-final message may arrive as a last 334 challenge (answered with an empty
line) or, from some servers, as base64 text in the 235 reply: both are checked, so a server
that cannot prove it knows the password is caught either way. A refused OAuth2 token is asked
for again, once. A refusal's text goes into the AuthenticationError with every credential of
the exchange (password, token, and each response as sent: base64 and decoded) replaced by
``***`` (``_proto.sasl.Redactor``): some servers quote back what they refused.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from .._errors import AuthenticationError, ProtocolError, UnimailError
from .._options import Options
from .._proto.sasl import TOKEN_MECHANISMS, Redactor, choose_mechanism
from .._proto.smtp import Reply
from .._proto.smtp import _commands as cmd
from ._credentials import check_encrypted, mechanism_factory

if TYPE_CHECKING:
    from ._smtp_client import AsyncSmtpClient

__all__ = ["authenticate"]

_MAX_LINE = 512


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("the server sent a 334 challenge that is not base64") from None


async def authenticate(client: AsyncSmtpClient, options: Options) -> None:
    """Run AUTH on ``client`` with the credentials of ``options``.

    Raises:
        AuthenticationError: refused, no acceptable mechanism, missing credentials, or an
            unencrypted connection without ``allow_insecure_auth``.
        UnsupportedOperation: the requested mechanism is not offered.
    """
    check_encrypted(client.is_tls, options)
    user = options.url.username
    if user is None:
        raise AuthenticationError("a user name (in the URL) is needed to log in")
    offered = client.ehlo.auth_mechanisms
    if "AUTH" not in client.ehlo:
        raise AuthenticationError(f"the server at {client.peer} does not offer AUTH")
    requested = options.auth if isinstance(options.auth, str) else None
    provider = options.auth if callable(options.auth) else None
    name = choose_mechanism(
        offered,
        requested=requested,
        password=options.password is not None,
        token=provider is not None,
    )
    for attempt in (1, 2):
        try:
            await _exchange(client, name, options, user)
            return
        except AuthenticationError:
            # An OAuth2 token may have expired between the provider's call and its use: the
            # provider is asked once more (it can refresh), as the IMAP and POP3 logins do.
            if attempt == 2 or name not in TOKEN_MECHANISMS:
                raise


async def _exchange(client: AsyncSmtpClient, name: str, options: Options, user: str) -> None:
    mechanism = (await mechanism_factory(name, options, user, client.peer))()
    redactor = Redactor(options.password, *mechanism.secrets)
    client.hide_in_trace(
        redactor.redact_bytes, redactor.safe_cut
    )  # a server may quote the credentials back
    line = cmd.auth(name)
    if mechanism.client_first:
        # The initial response is computed only if it fits: otherwise the mechanism answers
        # the server's empty 334 with it (RFC 4422 section 5, 2a).
        initial = mechanism.initial_response() or b""
        redactor.add(initial)
        encoded = base64.b64encode(initial).decode("ascii") or "="
        if len(line) + len(encoded) + 1 <= _MAX_LINE:
            line = cmd.auth(name, encoded)
        else:
            await client.send(line, redacted=b"AUTH " + name.encode() + b"\r\n")
            reply = await client.read_reply()
            if reply.code != 334:
                raise _refused(reply, mechanism, redactor)
            line = encoded.encode("ascii") + b"\r\n"
    await client.send(line, redacted=b"AUTH " + name.encode() + b" ***\r\n")
    while True:
        reply = await client.read_reply()
        if reply.code == 235:
            data = _success_data(name, reply)
            mechanism.finish(data)
            return
        if reply.code != 334:
            raise _refused(reply, mechanism, redactor)
        try:
            response = mechanism.respond(_decode(reply.lines[0] if reply.lines else ""))
        except UnimailError:
            # RFC 4954 4: "*" cancels; the server answers 501, which is not worth waiting for
            # beyond one reply: the exchange has failed either way.
            await client.send(b"*\r\n")
            await client.read_reply()
            raise
        redactor.add(response)
        await client.send(base64.b64encode(response) + b"\r\n", redacted=b"***\r\n")


def _success_data(name: str, reply: Reply) -> bytes | None:
    """SCRAM's server-final message, when a server put it in the 235 text."""
    if not name.startswith("SCRAM-"):
        return None
    text = reply.message.split(" ")[0] if reply.message else ""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if data.startswith(b"v=") else None


def _refused(reply: Reply, mechanism: object, redactor: Redactor) -> AuthenticationError:
    detail = getattr(mechanism, "error", None)
    extra = f" ({detail})" if detail else ""
    text = redactor.redact(f"{reply}{extra}")
    return AuthenticationError(f"the server refused the credentials: {text}")
