"""Envelope address syntax (RFC 5321 section 4.1.2, RFC 6531 section 3.3), checked before sending.

::

    Mailbox        = Local-part "@" ( Domain / address-literal )
    Local-part     = Dot-string / Quoted-string
    Dot-string     = Atom *("."  Atom)
    Atom           = 1*atext
    Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
    QcontentSMTP   = qtextSMTP / quoted-pairSMTP
    quoted-pairSMTP  = %d92 %d32-126
    qtextSMTP      = %d32-33 / %d35-91 / %d93-126
    Domain         = sub-domain *("." sub-domain)
    sub-domain     = Let-dig [Ldh-str]
    address-literal  = "[" ( IPv4-address-literal / IPv6-address-literal /
                       General-address-literal ) "]"

RFC 6531 adds ``UTF8-non-ascii`` to ``atext`` and ``qtextSMTP`` and lets a sub-domain be a
U-label. A non-ASCII *domain* is sent as its A-label (IDNA 2008 with UTS 46 mapping), which
every server understands; a non-ASCII *local part* cannot be converted and needs the server's
SMTPUTF8 extension, which :class:`EnvelopeAddress` records. Lengths (section 4.5.3.1): local
part 64 octets, domain 255, the whole path 256 including the angle brackets.
"""

from __future__ import annotations

import functools
import ipaddress
import re

import attrs
import idna

from ..._errors import InvalidArgument
from ..._validate import check_wire_text

__all__ = ["EnvelopeAddress", "check_address", "domain_of"]

_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010ffff]"
_DOT_STRING = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_QUOTED = re.compile(r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e\u0080-\U0010ffff]|\\[\x20-\x7e])*"')
_LDH_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_GENERAL_LITERAL = re.compile(r"[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+")


@attrs.frozen
class EnvelopeAddress:
    """A checked envelope address.

    Attributes:
        original: the address as the caller gave it (the key of SendResult).
        wire: the form sent in MAIL FROM / RCPT TO: the domain as an A-label.
        domain: the ASCII domain (or address literal with brackets); ``""`` for the null path.
        needs_smtputf8: the local part is non-ASCII: only an SMTPUTF8 server can take it.
    """

    original: str
    wire: str
    domain: str
    needs_smtputf8: bool


def domain_of(address: str) -> str:
    """Return the part after the last ``@`` (empty if there is none)."""
    return address.rpartition("@")[2]


def check_address(address: str, *, what: str = "address", null_ok: bool = False) -> EnvelopeAddress:
    """Check ``address`` as an RFC 5321 / RFC 6531 mailbox and return its wire form.

    Args:
        address: ``local@domain`` without angle brackets or display name.
        what: how the error message names it ("sender", "recipient").
        null_ok: accept ``""`` (the null reverse-path ``<>`` of bounces).

    Raises:
        InvalidArgument: the address is malformed; the message names it.
    """
    if not isinstance(address, str):
        raise InvalidArgument(f"{what} must be a str, got {type(address).__name__}")
    return _check(address, what, null_ok)


@functools.lru_cache(maxsize=4096)  # bulk senders check the same few addresses again and again
def _check(address: str, what: str, null_ok: bool) -> EnvelopeAddress:
    check_wire_text(address, f"{what} {address!r}")
    if address == "" and null_ok:
        return EnvelopeAddress("", "", "", needs_smtputf8=False)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise InvalidArgument(f"{what} {address!r} is not of the form local@domain")
    if not (_DOT_STRING.fullmatch(local) or _QUOTED.fullmatch(local)):
        raise InvalidArgument(f"{what} {address!r} has an invalid local part")
    if len(local.encode("utf-8")) > 64:
        raise InvalidArgument(f"{what} {address!r}: the local part is longer than 64 octets")
    wire_domain = _check_domain(domain, address, what)
    wire = f"{local}@{wire_domain}"
    if len(wire.encode("utf-8")) + 2 > 256:
        raise InvalidArgument(f"{what} {address!r} is longer than 254 octets")
    return EnvelopeAddress(address, wire, wire_domain, needs_smtputf8=not local.isascii())


def _check_domain(domain: str, address: str, what: str) -> str:
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        try:
            if literal[:5].lower() == "ipv6:":
                ipaddress.IPv6Address(literal[5:])
            elif not _GENERAL_LITERAL.fullmatch(literal):
                ipaddress.IPv4Address(literal)
        except ValueError:
            raise InvalidArgument(f"{what} {address!r} has an invalid address literal") from None
        return domain
    ascii_domain = domain
    if not domain.isascii():
        try:
            ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            raise InvalidArgument(
                f"{what} {address!r} has a domain that is not valid IDNA: {exc}"
            ) from None
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 255 or not all(
        len(label) <= 63 and _LDH_LABEL.fullmatch(label) for label in labels
    ):
        raise InvalidArgument(f"{what} {address!r} has an invalid domain")
    return ascii_domain
