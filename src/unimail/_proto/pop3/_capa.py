"""The CAPA command's answer: what the POP3 server can do (RFC 2449 section 5).

RFC 2449 section 9::

    capa-resp  = single-line *capability "." CRLF
    capability = capa-tag *(SP param) CRLF    ;512 octets maximum
    capa-tag   = 1*cchar
    param      = 1*pchar
    cchar      = %x21-2D / %x2F-7F            ;printable ASCII, excluding "."
    pchar      = %x21-7F                      ;printable ASCII

Capabilities can differ before and after login and before and after STLS (RFC 2449 section
5, RFC 2595 section 4): the client asks again each time, and never keeps an older answer.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = ["Pop3Capabilities", "parse_capa"]


@attrs.frozen(kw_only=True)
class Pop3Capabilities:
    """What the server announced with CAPA.

    Attributes:
        names: every capability tag, upper case (``"TOP"``, ``"UIDL"``, ``"SASL"``, ...).
        sasl: the SASL mechanisms of the ``SASL`` capability, upper case (RFC 5034).
        expire: the ``EXPIRE`` policy: days the server keeps a retrieved message, ``0`` when it
            deletes them at once, ``None`` for ``NEVER`` or when not announced.
        expire_never: True when the server announced ``EXPIRE NEVER``.
        login_delay: the minimum seconds between logins (``LOGIN-DELAY``), if announced.
        implementation: the ``IMPLEMENTATION`` text, if announced.
        known: False when the server does not support CAPA at all (an RFC 1939 server): the
            optional commands (TOP, UIDL, USER) are then unknown and must be tried.
    """

    names: frozenset[str] = frozenset()
    sasl: tuple[str, ...] = ()
    expire: int | None = None
    expire_never: bool = False
    login_delay: int | None = None
    implementation: str | None = None
    known: bool = True

    def __contains__(self, name: object) -> bool:
        """Return whether the tag ``name`` (upper case) was announced."""
        return name in self.names

    @property
    def pipelining(self) -> bool:
        """True when commands may be sent without waiting for replies (RFC 2449 6.6)."""
        return "PIPELINING" in self.names

    @property
    def stls(self) -> bool:
        """True when STLS is offered (RFC 2595 section 4)."""
        return "STLS" in self.names

    @classmethod
    def unknown(cls) -> Pop3Capabilities:
        """The capabilities of a server that answered CAPA with ``-ERR``."""
        return cls(known=False)


def _int(token: str) -> int | None:
    return int(token) if token.isdigit() and len(token) <= 9 else None


def parse_capa(lines: Iterable[bytes]) -> Pop3Capabilities:
    """Return the capabilities listed in the lines of a CAPA reply (without the ``+OK`` line).

    Unknown tags are kept in ``names``; malformed parameters of known tags are ignored rather
    than failing the connection (servers differ, and the tags only widen what is tried).
    """
    names: set[str] = set()
    sasl: list[str] = []
    expire: int | None = None
    expire_never = False
    login_delay: int | None = None
    implementation: str | None = None
    for raw in lines:
        text = raw.decode("ascii", "replace").strip()
        if not text:
            continue
        tag, *params = text.split()
        tag = tag.upper()
        names.add(tag)
        if tag == "SASL":
            sasl.extend(p.upper() for p in params if p.upper() not in sasl)
        elif tag == "EXPIRE" and params:
            # RFC 2449 6.7: "EXPIRE" SP (days / "NEVER") [SP "USER"]
            if params[0].upper() == "NEVER":
                expire_never = True
            else:
                expire = _int(params[0])
        elif tag == "LOGIN-DELAY" and params:
            login_delay = _int(params[0])  # RFC 2449 6.5: seconds [SP "USER"]
        elif tag == "IMPLEMENTATION":
            implementation = " ".join(params) or None
    return Pop3Capabilities(
        names=frozenset(names),
        sasl=tuple(sasl),
        expire=expire,
        expire_never=expire_never,
        login_delay=login_delay,
        implementation=implementation,
    )
