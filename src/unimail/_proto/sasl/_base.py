"""The SASL client mechanism interface (RFC 4422) and the checks every mechanism shares.

A mechanism is sans-I/O: it is given the server's challenges as raw bytes (already base64
decoded by the caller) and returns raw responses (which the caller base64 encodes and frames:
IMAP ``+ ``, POP3 ``+ ``, SMTP ``334 ``). RFC 4422 section 5 defines the exchange::

    client                                server
    AUTHENTICATE MECH [initial-response]  ->
                                          <- challenge          (zero or more times)
    response                              ->
                                          <- outcome, maybe with additional data

A client-first mechanism (PLAIN, SCRAM-*, XOAUTH2, OAUTHBEARER) has an initial response. When
the protocol cannot carry it (no SASL-IR in IMAP), the server sends an empty challenge first and
the client answers it with the initial response (RFC 4422 section 5, item 2a): ``respond()``
does exactly that when ``initial_response()`` was not called.
"""

from __future__ import annotations

import abc

from ..._errors import InvalidArgument, ProtocolError
from ..._validate import check_wire_text

__all__ = ["Mechanism", "check_password_no_nul", "check_user", "optional_authzid"]


class Mechanism(abc.ABC):
    """One SASL authentication exchange, from the client's side. Use each object once.

    Attributes:
        name: the mechanism's registered name, upper case (``"SCRAM-SHA-256"``).
        client_first: True when the mechanism has an initial response (the client speaks
            first). The caller may check it before deciding to send SASL-IR, without side
            effects.
        username: the authentication identity (not a secret; shown in ``repr``).
    """

    name: str = ""
    client_first: bool = False

    def __init__(self, username: str) -> None:
        self.username = username
        self._complete = False
        self._failed = False

    @abc.abstractmethod
    def initial_response(self) -> bytes | None:
        """Return the initial response to send with the command (SASL-IR, ``AUTH PLAIN xxx``).

        Returns None for a mechanism that starts with a server challenge (LOGIN, CRAM-MD5).
        Calling it means the caller sends what it returns: a later empty challenge is then
        taken as the next step of the exchange, not as the prompt for the initial response.
        """

    @abc.abstractmethod
    def respond(self, challenge: bytes) -> bytes:
        """Return the response to one server ``challenge`` (raw bytes, base64 decoded).

        Raises:
            ProtocolError: the challenge is malformed or arrives when none may (the caller
                should cancel the exchange: IMAP/POP3 ``*``, SMTP ``*``).
            LimitExceeded: the challenge asks for more work than the library allows.
            AuthenticationError: the challenge proves the server is not who it claims (SCRAM)
                or reports that the server refused the credentials (SCRAM ``e=``).
        """

    def finish(self, success_data: bytes | None) -> None:
        """Accept the server's success, with any additional data sent along with it.

        For mechanisms without mutual authentication any additional data is ignored (RFC 4616
        and the others define none; some servers send some anyway).

        Raises:
            AuthenticationError: the server did not prove its identity (SCRAM).
            ProtocolError: the success data is malformed, or the exchange failed earlier.
        """
        self._check_usable()
        self._complete = True

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secrets this mechanism holds (password or token), for redacting a server text
        that quotes them back (see ``_redact``); never shown anywhere."""
        return ()

    @property
    def complete(self) -> bool:
        """True when the client has sent all it must and verified all it must."""
        return self._complete

    def __repr__(self) -> str:
        # Secrets are never stored in a field the repr shows: only the name and user name.
        state = "complete" if self._complete else "failed" if self._failed else "in progress"
        return f"<{type(self).__name__} {self.name} user={self.username!r} {state}>"

    def _check_usable(self) -> None:
        if self._failed:
            raise ProtocolError(f"the {self.name} exchange already failed")

    def _fail(self, error: Exception) -> Exception:
        """Mark the exchange as failed (it stays failed) and return ``error`` to raise."""
        self._failed = True
        self._complete = False
        return error


def check_user(username: str, what: str = "user name") -> str:
    """Return ``username`` if it is a non-empty str without CR, LF or NUL."""
    check_wire_text(username, what)
    if not username:
        raise InvalidArgument(f"{what} must not be empty")
    return username


def optional_authzid(authzid: str | None) -> str | None:
    """Return the authorization identity, None when absent or empty; reject CR, LF, NUL."""
    if authzid is None or authzid == "":
        return None
    return check_wire_text(authzid, "authorization identity (authzid)")


def check_password_no_nul(password: str, mechanism: str) -> str:
    """Return ``password`` if it is a str without NUL (the text never names the character)."""
    if not isinstance(password, str):
        raise InvalidArgument(f"password must be a str, got {type(password).__name__}")
    if "\0" in password:
        raise InvalidArgument(f"password contains NUL, which {mechanism} cannot carry")
    return password
