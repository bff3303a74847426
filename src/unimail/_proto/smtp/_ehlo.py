"""The EHLO reply: the server's name and its service extensions (RFC 5321 section 4.1.1.1).

::

    ehlo-ok-rsp    = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
                     / ( "250-" Domain [ SP ehlo-greet ] CRLF
                     *( "250-" ehlo-line CRLF )
                     "250" SP ehlo-line CRLF )
    ehlo-line      = ehlo-keyword *( SP ehlo-param )
    ehlo-keyword   = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    ehlo-param     = 1*(%d33-126)

Keywords are case-insensitive and kept upper case. Old servers announce ``AUTH=LOGIN PLAIN``
(the pre-RFC 2554 form, still sent by Exchange and Comcast); it is read as ``AUTH``. A line
that is not a keyword is ignored rather than fatal: the extensions are an offer, and one
unreadable line should not stop the ones that can be read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

from ..._errors import ProtocolError
from ._reply import Reply

__all__ = ["EhloInfo"]

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")


@attrs.frozen
class EhloInfo:
    """What the server said about itself in its EHLO (or HELO) reply.

    Attributes:
        name: the server's name (first word of the first line).
        extensions: keyword (upper case) -> its parameters; empty after HELO.
        esmtp: False when the server only answered HELO (no extensions at all).
    """

    name: str
    extensions: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    esmtp: bool = True

    @classmethod
    def parse(cls, reply: Reply, *, esmtp: bool = True) -> EhloInfo:
        """Read a 250 reply to EHLO (or, with ``esmtp=False``, to HELO).

        Raises:
            ProtocolError: the reply is not a 250.
        """
        if reply.code != 250:
            raise ProtocolError(f"expected 250 to EHLO/HELO, got {reply.code}")
        name = reply.lines[0].split(" ", 1)[0] if reply.lines and reply.lines[0] else ""
        extensions: dict[str, tuple[str, ...]] = {}
        if esmtp:
            for line in reply.lines[1:]:
                words = line.split()
                if not words:
                    continue
                keyword, _, first = words[0].partition("=")
                if not _KEYWORD.fullmatch(keyword):
                    continue
                params = ([first] if first else []) + words[1:]
                key = keyword.upper()
                # "AUTH=LOGIN" and "AUTH LOGIN PLAIN" on two lines: merge the mechanisms.
                extensions[key] = tuple(dict.fromkeys((*extensions.get(key, ()), *params)))
        return cls(name, extensions, esmtp)

    def __contains__(self, keyword: object) -> bool:
        return isinstance(keyword, str) and keyword.upper() in self.extensions

    def params(self, keyword: str) -> tuple[str, ...]:
        """Return the parameters of ``keyword`` (empty when it has none or is missing)."""
        return self.extensions.get(keyword.upper(), ())

    @property
    def max_size(self) -> int | None:
        """The SIZE limit in bytes (RFC 1870); None when unknown or unlimited (``SIZE 0``)."""
        if "SIZE" not in self.extensions:
            return None
        params = self.extensions["SIZE"]
        if params and params[0].isdigit():
            return int(params[0]) or None
        return None

    @property
    def auth_mechanisms(self) -> tuple[str, ...]:
        """The SASL mechanisms offered with AUTH (RFC 4954), upper case, in server order."""
        return tuple(m.upper() for m in self.params("AUTH"))
