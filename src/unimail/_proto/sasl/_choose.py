"""Picking a mechanism from what the server offers, and building it from credentials."""

from __future__ import annotations

from collections.abc import Iterable

from ..._errors import AuthenticationError, InvalidArgument, UnsupportedOperation, sanitize
from ._base import Mechanism, check_user
from ._oauth import OAuthBearerMechanism, XOAuth2Mechanism
from ._scram import ScramMechanism
from ._simple import CramMd5Mechanism, LoginMechanism, PlainMechanism

__all__ = ["STRENGTH", "TOKEN_MECHANISMS", "choose_mechanism", "create_mechanism"]

#: Every mechanism unimail implements, strongest first: the token mechanisms (OAUTHBEARER is
#: the standard, XOAUTH2 its predecessor), then the password ones (SCRAM authenticates the
#: server too and never reveals the password; CRAM-MD5 does not reveal it either; PLAIN and
#: LOGIN send it, which is why they are only used over TLS).
STRENGTH: tuple[str, ...] = (
    "OAUTHBEARER",
    "XOAUTH2",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "CRAM-MD5",
    "PLAIN",
    "LOGIN",
)

#: The mechanisms that take an OAuth 2.0 token; all others take a password.
TOKEN_MECHANISMS = frozenset({"OAUTHBEARER", "XOAUTH2"})


def choose_mechanism(
    server: Iterable[str],
    *,
    requested: str | None = None,
    password: bool = False,
    token: bool = False,
) -> str:
    """Return the name of the mechanism to use, upper case.

    Args:
        server: the mechanism names the server offers (IMAP ``AUTH=`` capabilities, POP3
            ``SASL``, SMTP ``AUTH``), any case.
        requested: the caller's choice; used if the server offers it.
        password: the caller has a password.
        token: the caller has an OAuth 2.0 token (or a provider of them).

    Without ``requested``, the first name of STRENGTH that the server offers and the
    credentials allow (token mechanisms with a token, password mechanisms with a password).

    Raises:
        InvalidArgument: ``requested`` is not a mechanism unimail implements.
        UnsupportedOperation: the server does not offer ``requested`` (``capability`` names it
            as ``AUTH=<name>``).
        AuthenticationError: no mechanism fits both the server and the credentials.
    """
    offered = [name.strip().upper() for name in server]
    offered_set = set(offered)
    shown = ", ".join(sanitize(name) for name in offered) or "none"
    if requested is not None:
        wanted = requested.strip().upper()
        if wanted not in STRENGTH:
            raise InvalidArgument(
                f"unknown SASL mechanism {sanitize(requested)!r}; "
                f"unimail supports {', '.join(STRENGTH)}"
            )
        if wanted not in offered_set:
            raise UnsupportedOperation(
                f"the server does not offer SASL mechanism {wanted}; it offers {shown}",
                capability=f"AUTH={wanted}",
            )
        return wanted
    for name in STRENGTH:
        usable = token if name in TOKEN_MECHANISMS else password
        if usable and name in offered_set:
            return name
    if not (password or token):
        need = "no password or token was given"
    else:
        kinds = " or ".join(
            kind for kind, has in (("a token", token), ("a password", password)) if has
        )
        usable_names = [n for n in STRENGTH if (token if n in TOKEN_MECHANISMS else password)]
        need = f"unimail uses {', '.join(usable_names)} with {kinds}"
    raise AuthenticationError(f"no acceptable SASL mechanism: {need}; the server offers {shown}")


def create_mechanism(
    name: str,
    *,
    username: str,
    password: str | None = None,
    token: str | None = None,
    authzid: str | None = None,
    host: str = "",
    port: int = 0,
) -> Mechanism:
    """Return a new Mechanism for one exchange, with every credential checked.

    Args:
        name: a mechanism of STRENGTH, any case.
        username: the authentication identity (never CR, LF or NUL).
        password: for SCRAM-*, CRAM-MD5, PLAIN and LOGIN.
        token: the OAuth 2.0 access token, for OAUTHBEARER and XOAUTH2.
        authzid: the identity to act as (PLAIN, SCRAM-*, OAUTHBEARER); LOGIN, CRAM-MD5 and
            XOAUTH2 cannot carry one.
        host, port: the server, sent by OAUTHBEARER (optional there, ignored elsewhere).

    Raises:
        InvalidArgument: an unknown name, a missing credential, an authzid the mechanism cannot
            carry, or a field with a character the mechanism cannot send (CR, LF, NUL; %x01 in
            the OAuth ones; what SASLprep prohibits in SCRAM). The message names the field and
            never shows a secret.
    """
    if not isinstance(name, str):
        raise InvalidArgument(f"mechanism name must be a str, got {type(name).__name__}")
    upper = name.strip().upper()
    if upper not in STRENGTH:
        raise InvalidArgument(
            f"unknown SASL mechanism {sanitize(name)!r}; unimail supports {', '.join(STRENGTH)}"
        )
    check_user(username)
    if authzid and upper in ("LOGIN", "CRAM-MD5", "XOAUTH2"):
        raise InvalidArgument(f"{upper} cannot carry an authorization identity (authzid)")
    if upper in TOKEN_MECHANISMS:
        if token is None:
            raise InvalidArgument(f"{upper} needs an OAuth token")
        if upper == "XOAUTH2":
            return XOAuth2Mechanism(username=username, token=token)
        return OAuthBearerMechanism(
            username=username, token=token, authzid=authzid, host=host, port=port
        )
    if password is None:
        raise InvalidArgument(f"{upper} needs a password")
    if upper == "PLAIN":
        return PlainMechanism(username=username, password=password, authzid=authzid)
    if upper == "LOGIN":
        return LoginMechanism(username=username, password=password)
    if upper == "CRAM-MD5":
        return CramMd5Mechanism(username=username, password=password)
    return ScramMechanism(upper, username=username, password=password, authzid=authzid)
