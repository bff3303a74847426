"""CAPABILITY (RFC 9051 section 6.1.1, 7.2.2).

    capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2" *(SP capability)

Capabilities arrive in an untagged CAPABILITY response or in a ``[CAPABILITY ...]`` response
code of the greeting or of a tagged OK (after LOGIN, AUTHENTICATE or STARTTLS).
"""

from __future__ import annotations

from collections.abc import Iterable

from ._parser import Response

__all__ = ["capabilities_from"]


def capabilities_from(responses: Iterable[Response]) -> frozenset[str] | None:
    """Return the upper-case capabilities announced in ``responses``, or None if none were."""
    found: frozenset[str] | None = None
    for response in responses:
        if response.name == "CAPABILITY" and response.tag == "*":
            found = frozenset(str(item).upper() for item in response.data)
        elif response.code == "CAPABILITY":
            found = frozenset(response.code_data.upper().split())
    return found
