"""SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), without channel binding.

Theory of operation. The exchange is a four-message state machine::

    state        respond(challenge)                       finish(success_data)
    -----------  ---------------------------------------  -------------------------------------
    START        (empty prompt) -> client-first,          AuthenticationError (no proof)
                 FIRST_SENT
    FIRST_SENT   server-first -> client-final,            AuthenticationError (no proof)
                 FINAL_SENT
    FINAL_SENT   server-final -> b"" (empty answer),      server-final -> VERIFIED;
                 VERIFIED                                 None -> AuthenticationError
    VERIFIED     ProtocolError (no challenge may follow)  None, or the same server-final: ok

``initial_response()`` moves START to FIRST_SENT. Any error leaves the exchange failed for good.

Where the server-final message arrives: IMAP, POP3 and SMTP success replies carry no SASL data
in practice, so servers send it as one last challenge (IMAP/POP3 ``+ dj0...``, SMTP
``334 dj0...``) that the client answers with an empty line before the tagged OK / ``+OK`` /
``235`` (seen from Dovecot over IMAP and POP3, and from Postfix's SMTP AUTH through Dovecot).
``respond()`` verifies it there and ``finish(None)`` then succeeds. A protocol that carries
additional data with success passes it to ``finish()`` instead.

Failure semantics, chosen so that each error says whose fault it was:

- the server signature does not match, or the server reports success before proving it knows
  the password: AuthenticationError (mutual authentication failed);
- the server answers with ``e=`` (e.g. ``invalid-proof``): AuthenticationError naming the value
  (the server refused the credentials);
- the server nonce does not extend the client nonce, a field is missing or out of order, the
  salt or signature is not base64, the text is not UTF-8, or a mandatory extension (``m=``) is
  demanded: ProtocolError (the server broke the protocol);
- an iteration count outside 1..MAX_ITERATIONS: LimitExceeded.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import secrets

from ..._errors import AuthenticationError, InvalidArgument, LimitExceeded, ProtocolError, sanitize
from ._base import Mechanism, check_user, optional_authzid
from ._saslprep import saslprep

__all__ = ["MAX_ITERATIONS", "NONCE_BYTES", "ScramMechanism"]

#: The largest iteration count (``i=``) accepted from a server. PBKDF2 runs on the client, so a
#: hostile server could ask for a count that keeps the CPU busy for hours; one million rounds of
#: HMAC-SHA-256 take well under a second, and real servers use 4096 to a few hundred thousand.
MAX_ITERATIONS = 1_000_000

#: Random bytes in the client nonce (RFC 5802 asks for a nonce with enough entropy; 24 bytes
#: give 192 bits and 32 base64 characters).
NONCE_BYTES = 24

_HASHES = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}


class _State(enum.Enum):
    START = enum.auto()
    FIRST_SENT = enum.auto()
    FINAL_SENT = enum.auto()
    VERIFIED = enum.auto()


def _saslname(text: str) -> str:
    """Escape a name for ``n=`` / ``a=`` (RFC 5802 section 7)::

    saslname = 1*(value-safe-char / "=2C" / "=3D")
    """
    return text.replace("=", "=3D").replace(",", "=2C")


def _is_printable(text: str) -> bool:
    """RFC 5802 section 7: ``printable = %x21-2B / %x2D-7E`` (visible ASCII but ",")."""
    return bool(text) and all("!" <= ch <= "~" and ch != "," for ch in text)


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ProtocolError(f"the SCRAM {what} is not valid base64") from None


class ScramMechanism(Mechanism):
    """SCRAM-SHA-1 / SCRAM-SHA-256 client (RFC 5802, RFC 7677), gs2 flag ``n`` (no channel
    binding), user name and password prepared with SASLprep (RFC 4013).

    Args:
        name: ``"SCRAM-SHA-1"`` or ``"SCRAM-SHA-256"``.
        username, password, authzid: the credentials; ``authzid`` is sent as ``a=``.
        nonce: the client nonce, for tests only (RFC test vectors); by default
            NONCE_BYTES random bytes from ``secrets``, base64 encoded.

    Raises:
        InvalidArgument: an unknown name, or credentials SASLprep rejects, or CR/LF/NUL.
    """

    client_first = True

    def __init__(
        self,
        name: str,
        *,
        username: str,
        password: str,
        authzid: str | None = None,
        nonce: str | None = None,
    ) -> None:
        super().__init__(check_user(username))
        upper = name.upper()
        if upper not in _HASHES:
            raise InvalidArgument(f"unknown SCRAM variant {name!r}")
        self.name = upper
        self._hash = _HASHES[upper]
        authzid = optional_authzid(authzid)
        # RFC 5802 section 5.1: the user name is prepared as a query; failing or empty is an
        # error. The password goes through Normalize() = SASLprep (section 2.2).
        prepared_user = saslprep(self.username, "user name")
        if not prepared_user:
            raise InvalidArgument("user name is empty after SASLprep")
        if not isinstance(password, str):
            raise InvalidArgument(f"password must be a str, got {type(password).__name__}")
        self._password = saslprep(password, "password", secret=True).encode("utf-8")
        if nonce is None:
            nonce = base64.b64encode(secrets.token_bytes(NONCE_BYTES)).decode("ascii")
        elif not _is_printable(nonce):
            raise InvalidArgument("SCRAM nonce must be visible ASCII without ','")
        self._nonce = nonce
        # gs2-header = gs2-cbind-flag "," [ authzid ] ","  with gs2-cbind-flag "n".
        self._gs2_header = "n," + (f"a={_saslname(authzid)}" if authzid else "") + ","
        # client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
        self._first_bare = f"n={_saslname(prepared_user)},r={nonce}"
        self._state = _State.START
        self._server_signature = b""

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self._password.decode("utf-8"),)

    def initial_response(self) -> bytes:
        self._check_usable()
        if self._state is _State.START:
            self._state = _State.FIRST_SENT
        return (self._gs2_header + self._first_bare).encode("utf-8")

    def respond(self, challenge: bytes) -> bytes:
        self._check_usable()
        try:
            if self._state is _State.START:
                # The empty prompt for the initial response (RFC 4422 section 5, 2a).
                return self.initial_response()
            if self._state is _State.FIRST_SENT:
                return self._client_final(challenge)
            if self._state is _State.FINAL_SENT:
                self._verify(challenge)
                return b""
            raise ProtocolError(f"the server sent a challenge after {self.name} completed")
        except (ProtocolError, AuthenticationError) as error:
            raise self._fail(error) from None

    def finish(self, success_data: bytes | None) -> None:
        self._check_usable()
        try:
            if self._state in (_State.START, _State.FIRST_SENT):
                raise AuthenticationError(
                    f"the server reported {self.name} success before the exchange was done"
                )
            if success_data:
                self._verify(success_data)
            elif self._state is not _State.VERIFIED:
                raise AuthenticationError(
                    f"the server reported {self.name} success without its signature: "
                    "it did not prove it knows the password"
                )
        except (ProtocolError, AuthenticationError) as error:
            raise self._fail(error) from None

    # -- the messages ----------------------------------------------------------------------

    def _client_final(self, challenge: bytes) -> bytes:
        """Parse server-first, return client-final (RFC 5802 sections 3 and 7)::

        server-first-message = [reserved-mext ","] nonce "," salt ","
                               iteration-count ["," extensions]
        client-final-message = client-final-message-without-proof "," proof
        client-final-message-without-proof = channel-binding "," nonce ["," extensions]
        """
        server_first = _decode(challenge, "server-first message")
        fields = server_first.split(",")
        if fields[0].startswith("m="):
            raise ProtocolError("the server demands a SCRAM extension unimail does not support")
        if len(fields) < 3 or not (
            fields[0].startswith("r=") and fields[1].startswith("s=") and fields[2].startswith("i=")
        ):
            raise ProtocolError("malformed SCRAM server-first message (want r=, s=, i=)")
        nonce, salt_b64, count = fields[0][2:], fields[1][2:], fields[2][2:]
        if not _is_printable(nonce):
            raise ProtocolError("the SCRAM server nonce holds characters it may not")
        # RFC 5802 section 5.1: the server appends its part to the client nonce; the client MUST
        # check that the nonce it gets back starts with the one it sent.
        if len(nonce) <= len(self._nonce) or not nonce.startswith(self._nonce):
            raise ProtocolError("the SCRAM server nonce does not extend the client nonce")
        salt = _b64decode(salt_b64, "salt")
        iterations = _iterations(count)

        # channel-binding = "c=" base64(gs2-header) when the flag is "n" (no cbind-data).
        binding = base64.b64encode(self._gs2_header.encode("utf-8")).decode("ascii")
        without_proof = f"c={binding},r={nonce}"
        auth_message = f"{self._first_bare},{server_first},{without_proof}".encode()

        # RFC 5802 section 3.
        salted = hashlib.pbkdf2_hmac(self._hash, self._password, salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", self._hash)
        stored_key = hashlib.new(self._hash, client_key).digest()
        client_signature = hmac.digest(stored_key, auth_message, self._hash)
        proof = bytes(a ^ b for a, b in zip(client_key, client_signature, strict=True))
        server_key = hmac.digest(salted, b"Server Key", self._hash)
        self._server_signature = hmac.digest(server_key, auth_message, self._hash)
        self._state = _State.FINAL_SENT
        return f"{without_proof},p={base64.b64encode(proof).decode('ascii')}".encode("ascii")

    def _verify(self, data: bytes) -> None:
        """Check server-final (RFC 5802 section 7)::

        server-final-message = (server-error / verifier) ["," extensions]
        server-error = "e=" server-error-value
        verifier     = "v=" base64 ; base-64 encoded ServerSignature
        """
        first = _decode(data, "server-final message").split(",")[0]
        if first.startswith("e="):
            raise AuthenticationError(
                f"the server refused {self.name} authentication: {sanitize(first[2:])}"
            )
        if not first.startswith("v="):
            raise ProtocolError("malformed SCRAM server-final message (want v= or e=)")
        signature = _b64decode(first[2:], "server signature")
        if not hmac.compare_digest(signature, self._server_signature):
            raise AuthenticationError(
                f"the server's {self.name} signature does not verify: "
                "it does not know the password (or someone is in between)"
            )
        self._state = _State.VERIFIED
        self._complete = True


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"the SCRAM {what} is not valid UTF-8") from None


def _iterations(text: str) -> int:
    """``iteration-count = "i=" posit-number``, bounded by 1..MAX_ITERATIONS."""
    if not (text.isascii() and text.isdigit()):
        raise ProtocolError("the SCRAM iteration count is not a number")
    # Checked on the text first: int() of a huge digit string is itself slow.
    if len(text.lstrip("0")) > len(str(MAX_ITERATIONS)):
        raise LimitExceeded(f"the SCRAM iteration count exceeds {MAX_ITERATIONS}")
    count = int(text)
    if count < 1:
        raise LimitExceeded("the SCRAM iteration count is below 1")
    if count > MAX_ITERATIONS:
        raise LimitExceeded(f"the SCRAM iteration count {count} exceeds {MAX_ITERATIONS}")
    return count
