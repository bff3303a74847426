"""The password mechanisms without mutual authentication: PLAIN, LOGIN and CRAM-MD5."""

from __future__ import annotations

import hashlib
import hmac

from ..._errors import InvalidArgument, ProtocolError
from ._base import Mechanism, check_password_no_nul, check_user, optional_authzid

__all__ = ["CramMd5Mechanism", "LoginMechanism", "PlainMechanism"]


class PlainMechanism(Mechanism):
    """PLAIN (RFC 4616 section 2): one client message, no challenge.

    ::

        message   = [authzid] UTF8NUL authcid UTF8NUL passwd
        authcid   = 1*SAFE ; MUST accept up to 255 octets
        passwd    = 1*SAFE ; MUST accept up to 255 octets
        SAFE      = UTF1 / UTF2 / UTF3 / UTF4 ; any UTF-8 encoded Unicode character except NUL

    The client sends the strings as given: preparing them (SASLprep) is the server's job in
    RFC 4616 section 2. Only send it over TLS.
    """

    name = "PLAIN"
    client_first = True

    def __init__(self, *, username: str, password: str, authzid: str | None = None) -> None:
        super().__init__(check_user(username))
        self._authzid = optional_authzid(authzid)
        self._password = check_password_no_nul(password, self.name)
        self._sent = False

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._password,)

    def initial_response(self) -> bytes:
        self._check_usable()
        self._sent = True
        self._complete = True
        return b"\0".join(
            field.encode("utf-8") for field in (self._authzid or "", self.username, self._password)
        )

    def respond(self, challenge: bytes) -> bytes:
        self._check_usable()
        if self._sent:
            raise self._fail(
                ProtocolError("the server sent a challenge after PLAIN's only message")
            )
        # The server's empty prompt for the initial response (RFC 4422 section 5, 2a); RFC 4616
        # defines no challenge data, so whatever it holds is ignored.
        return self.initial_response()


class LoginMechanism(Mechanism):
    """LOGIN (draft-murchison-sasl-login): the server prompts twice, the client answers with the
    user name, then the password.

    The prompts ("Username:", "Password:" by convention) are answered by position, never by
    their text: servers localise them, and some send none at all. Only send it over TLS.
    """

    name = "LOGIN"

    def __init__(self, *, username: str, password: str) -> None:
        super().__init__(check_user(username))
        self._password = check_password_no_nul(password, self.name)
        self._step = 0

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._password,)

    def initial_response(self) -> bytes | None:
        return None  # the server speaks first

    def respond(self, challenge: bytes) -> bytes:
        self._check_usable()
        self._step += 1
        if self._step == 1:
            return self.username.encode("utf-8")
        if self._step == 2:
            self._complete = True
            return self._password.encode("utf-8")
        raise self._fail(ProtocolError("the server sent a third LOGIN challenge"))


class CramMd5Mechanism(Mechanism):
    """CRAM-MD5 (RFC 2195): the server sends a unique challenge (a msg-id such as
    ``<1896.697170952@postoffice.reston.mci.net>``); the client answers

    ::

        response = user SP 32LOWER-HEX(HMAC-MD5(key=password, text=challenge))

    The password is never sent, but the server must keep it in clear (or an equivalent), and
    the server is not authenticated: over TLS it protects no more than PLAIN does.
    """

    name = "CRAM-MD5"

    def __init__(self, *, username: str, password: str) -> None:
        super().__init__(check_user(username))
        if not isinstance(password, str):
            raise InvalidArgument(f"password must be a str, got {type(password).__name__}")
        self._password = password
        self._answered = False

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._password,)

    def initial_response(self) -> bytes | None:
        return None  # the server speaks first

    def respond(self, challenge: bytes) -> bytes:
        self._check_usable()
        if self._answered:
            raise self._fail(ProtocolError("the server sent a second CRAM-MD5 challenge"))
        if not challenge:
            raise self._fail(ProtocolError("the server sent an empty CRAM-MD5 challenge"))
        self._answered = True
        self._complete = True
        # MD5 is what RFC 2195 specifies; it is a keyed MAC here, not a password hash.
        digest = hmac.new(self._password.encode("utf-8"), challenge, hashlib.md5).hexdigest()
        return self.username.encode("utf-8") + b" " + digest.encode("ascii")
