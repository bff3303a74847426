"""Mailbox and transport URLs: ``imaps://alice@mail.example.org:993``, ``maildir:/path``.

The user name is percent-encoded in the URL (``alice%40example.org``); a password never is:
it is refused so that it cannot end up in shell history, logs or reprs.
"""

from __future__ import annotations

import urllib.parse

import attrs

from ._errors import InvalidArgument
from ._validate import check_wire_text

__all__ = ["MailURL", "is_address"]


def is_address(text: str) -> bool:
    """True when ``text`` is a bare e-mail address (``alice@example.org``), not a URL."""
    return isinstance(text, str) and "@" in text and ":" not in text and "/" not in text


@attrs.frozen(kw_only=True)
class MailURL:
    """A parsed mailbox or transport URL.

    Attributes:
        scheme: lower-case scheme (``"imaps"``, ``"pop3"``, ``"smtp"``, ``"maildir"``, ...).
        username: the decoded user name, or ``None``.
        host: the host name or address (without brackets for IPv6), or ``""`` for local URLs.
        port: the port, or ``None`` for the scheme's default.
        path: the rest: a folder for IMAP, a file-system path or a name for local backends.
    """

    scheme: str
    username: str | None = None
    host: str = ""
    port: int | None = None
    path: str = ""

    @classmethod
    def parse(cls, url: str) -> MailURL:
        """Parse ``url``.

        Raises:
            InvalidArgument: the URL has no scheme, carries a password, has a bad port, or holds
                CR, LF or NUL.
        """
        if not isinstance(url, str):
            raise InvalidArgument(f"URL must be a str, got {type(url).__name__}")
        check_wire_text(url, "URL")
        scheme, sep, rest = url.partition(":")
        if not sep or not scheme or not scheme.replace("+", "").replace("-", "").isalnum():
            raise InvalidArgument(f"URL {url!r} has no scheme (expected e.g. 'imaps://host')")
        scheme = scheme.lower()
        if not rest.startswith("//"):
            # Local backends: maildir:/path, mbox:path, memory:name.
            return cls(scheme=scheme, path=urllib.parse.unquote(rest))
        parts = urllib.parse.urlsplit(url)
        if parts.password is not None:
            raise InvalidArgument(
                "a password in the URL is refused: pass it as password=... instead"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise InvalidArgument(f"URL has an invalid port: {exc}") from None
        host = parts.hostname or ""
        if not host:
            raise InvalidArgument(f"URL {_redact(url)!r} names no host")
        username = urllib.parse.unquote(parts.username) if parts.username else None
        if username is not None:
            check_wire_text(username, "user name")
        path = urllib.parse.unquote(parts.path.lstrip("/"))
        return cls(scheme=scheme, username=username, host=host, port=port, path=path)

    def __str__(self) -> str:
        if not self.host:
            return f"{self.scheme}:{self.path}"
        user = urllib.parse.quote(self.username, safe="") + "@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        path = "/" + urllib.parse.quote(self.path) if self.path else ""
        return f"{self.scheme}://{user}{host}{port}{path}"


def _redact(url: str) -> str:
    return url.split("@", 1)[-1]
