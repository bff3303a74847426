"""The OAuth 2.0 bearer-token mechanisms: OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's and
Microsoft's older form).

Both send the token in the initial response. On failure the server does not fail at once: it
sends one challenge holding a JSON error (``{"status":"invalid_token", ...}`` or Google's
``{"status":"401", "schemes":"Bearer", "scope":"..."}``), which the client must answer (XOAUTH2:
an empty response; OAUTHBEARER: a single ``%x01``, RFC 7628 section 3.2.3) before the server
sends its final failure reply. ``respond()`` records that JSON in ``error`` (and its status in
``error_status``) so the caller can refresh the token and try again.
"""

from __future__ import annotations

import abc
import json

from ..._errors import InvalidArgument, ProtocolError
from ..._validate import check_wire_text
from ._base import Mechanism, check_user, optional_authzid

__all__ = ["OAuthBearerMechanism", "XOAuth2Mechanism"]


def _check_token(token: str) -> str:
    """A bearer token is visible ASCII (RFC 6750 ``b64token`` is a subset); the text never
    shows it."""
    if not isinstance(token, str):
        raise InvalidArgument(f"OAuth token must be a str, got {type(token).__name__}")
    if not token:
        raise InvalidArgument("OAuth token must not be empty")
    if not all("!" <= ch <= "~" for ch in token):
        raise InvalidArgument("OAuth token may hold visible ASCII characters only")
    return token


def _check_no_ctrl_a(value: str, what: str) -> str:
    # %x01 separates the key/value pairs of both mechanisms.
    check_wire_text(value, what)
    if "\x01" in value:
        raise InvalidArgument(f"{what} contains %x01, which separates OAuth SASL fields")
    return value


class _BearerMechanism(Mechanism):
    """The shared exchange: initial response, then at most one error challenge."""

    client_first = True
    #: What the client answers to the error challenge.
    _error_answer = b""

    def __init__(self, username: str, token: str) -> None:
        super().__init__(_check_no_ctrl_a(check_user(username), "user name"))
        self._token = _check_token(token)
        self._sent = False
        #: The server's JSON error challenge (decoded text), when the token was refused.
        self.error: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    @property
    def error_status(self) -> str | None:
        """The ``status`` member of the JSON ``error``, when there is one."""
        if self.error is None:
            return None
        try:
            parsed = json.loads(self.error)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than json recurses
            return None
        status = parsed.get("status") if isinstance(parsed, dict) else None
        return status if isinstance(status, str) else None

    @abc.abstractmethod
    def _message(self) -> bytes:
        """The client's one message (with the token), as the mechanism spells it."""

    def initial_response(self) -> bytes:
        self._check_usable()
        self._sent = True
        self._complete = True
        return self._message()

    def respond(self, challenge: bytes) -> bytes:
        self._check_usable()
        if not self._sent:
            # The empty prompt for the initial response (RFC 4422 section 5, 2a).
            return self.initial_response()
        if self.error is not None:
            raise self._fail(ProtocolError(f"the server sent a second {self.name} challenge"))
        self.error = challenge.decode("utf-8", "replace")
        return self._error_answer


class XOAuth2Mechanism(_BearerMechanism):
    """XOAUTH2 (Google, Microsoft): ``"user=" user %x01 "auth=Bearer " token %x01 %x01``.

    It has no authorization identity; the error challenge is answered with an empty response.
    """

    name = "XOAUTH2"

    def __init__(self, *, username: str, token: str) -> None:
        super().__init__(username, token)

    def _message(self) -> bytes:
        return f"user={self.username}\x01auth=Bearer {self._token}\x01\x01".encode()


class OAuthBearerMechanism(_BearerMechanism):
    """OAUTHBEARER (RFC 7628 section 3.1)::

        client-resp  = (gs2-header kvsep *kvpair kvsep) / kvsep
        gs2-header   = "n," ["a=" saslname] ","         ; RFC 5801, no channel binding
        kvsep        = %x01
        kvpair       = key "=" value kvsep              ; host, port, auth

    ``a=`` carries ``authzid`` when given, else the user name (as RFC 7628's examples do and
    Gmail expects). ``host`` and ``port`` are sent when known (they are optional). The error
    challenge is answered with a single ``%x01`` (section 3.2.3).
    """

    name = "OAUTHBEARER"
    _error_answer = b"\x01"

    def __init__(
        self,
        *,
        username: str,
        token: str,
        authzid: str | None = None,
        host: str = "",
        port: int = 0,
    ) -> None:
        super().__init__(username, token)
        authzid = optional_authzid(authzid)
        if authzid is not None:
            _check_no_ctrl_a(authzid, "authorization identity (authzid)")
        self._authzid = authzid or self.username
        if not isinstance(host, str):
            raise InvalidArgument(f"host must be a str, got {type(host).__name__}")
        self._host = _check_no_ctrl_a(host, "host")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise InvalidArgument("port must be an int from 0 to 65535 (0: not sent)")
        self._port = port

    def _message(self) -> bytes:
        saslname = self._authzid.replace("=", "=3D").replace(",", "=2C")
        pairs = ""
        if self._host:
            pairs += f"host={self._host}\x01"
        if self._port:
            pairs += f"port={self._port}\x01"
        pairs += f"auth=Bearer {self._token}\x01"
        return f"n,a={saslname},\x01{pairs}\x01".encode()
