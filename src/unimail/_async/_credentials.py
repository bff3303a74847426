"""Credentials shared by every protocol's login: the OAuth2 token provider and the rule that
credentials never travel unencrypted without the caller's two explicit opt-ins."""

from __future__ import annotations

from collections.abc import Callable

from .._errors import AuthenticationError
from .._options import Options
from .._proto.sasl import TOKEN_MECHANISMS, Mechanism, create_mechanism

__all__ = ["check_encrypted", "fetch_token", "mechanism_factory"]


def check_encrypted(is_tls: bool, options: Options) -> None:
    """Refuse to log in over an unencrypted connection unless ``allow_insecure_auth`` is set.

    Raises:
        AuthenticationError: the connection is not encrypted and the caller did not opt in.
    """
    if not is_tls and not options.allow_insecure_auth:
        raise AuthenticationError(
            "refusing to send credentials over an unencrypted connection "
            "(set allow_insecure_auth=True together with security='plaintext' to allow it)"
        )


async def fetch_token(options: Options) -> str | None:
    """Ask the OAuth2 token provider of ``options`` (``auth=callable``) for a token.

    Returns None when ``auth`` is not a provider. The provider is called on every login, so
    it can hand out a fresh token when the previous one expired.

    Raises:
        AuthenticationError: the provider failed or returned something other than a str.
    """
    provider = options.auth if callable(options.auth) else None
    if provider is None:
        return None
    try:
        value = provider()
        if not isinstance(value, str):
            value = await value  # unasync: raise TypeError("the token provider returned no str")
    except Exception as exc:
        raise AuthenticationError(f"the OAuth2 token provider failed: {exc!r}") from None
    if not isinstance(value, str):
        raise AuthenticationError("the OAuth2 token provider returned no str")
    return value


async def mechanism_factory(
    name: str, options: Options, user: str, peer: str
) -> Callable[[], Mechanism]:
    """Return a maker of fresh SASL ``name`` mechanisms for ``user`` with the credentials of
    ``options``; an OAuth2 token is asked for once, here. ``peer`` (``host:port`` of the
    connection) is what OAUTHBEARER reports. A fresh object is needed when an initial
    response turned out too long to send on the command line."""
    token = await fetch_token(options) if name in TOKEN_MECHANISMS else None
    host, _, port = peer.rpartition(":")

    def make() -> Mechanism:
        return create_mechanism(
            name,
            username=user,
            password=options.password,
            token=token,
            host=host.strip("[]"),
            port=int(port) if port.isdigit() else 0,
        )

    return make
