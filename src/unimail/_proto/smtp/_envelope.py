"""The envelope of a message: who it is from and to, read from its headers (RFC 5322 3.6).

The reverse-path is the first address of ``Sender``, else of ``From``. The recipients are every
address of ``To``, ``Cc`` and ``Bcc``, in that order, each once. When the message is being
resent (RFC 5322 3.6.6: it has ``Resent-*`` fields), the most recent resent block -- the
topmost ``Resent-*`` fields -- gives the envelope instead, as smtplib does.

``Bcc`` (and ``Resent-Bcc``) recipients get the message, but the field itself must not be
transmitted: that would tell every recipient who else was blind-copied.
"""

from __future__ import annotations

import copy
import email.message
import email.utils
from collections.abc import Iterable, Sequence

from ..._errors import InvalidArgument

__all__ = ["check_recipients", "envelope_of", "unique", "without_bcc"]


def _addresses(message: email.message.Message, names: Iterable[str]) -> list[str]:
    found: list[str] = []
    for name in names:
        for value in message.get_all(name, ()):
            for _, address in email.utils.getaddresses([str(value)]):
                if address:
                    found.append(address)
    return found


def _first_resent(message: email.message.Message, name: str) -> list[str]:
    # Only the topmost (most recent) field of the name belongs to the current resend.
    value = message.get(name)
    if value is None:
        return []
    return [a for _, a in email.utils.getaddresses([str(value)]) if a]


def envelope_of(message: email.message.Message) -> tuple[str | None, list[str]]:
    """Return ``(sender, recipients)`` from the headers of ``message``.

    Returns:
        The reverse-path (None when the message has no Sender/From) and the recipients
        (possibly empty), each once, in header order.
    """
    resent = any(message.get(name) is not None for name in ("Resent-From", "Resent-Sender"))
    prefix = "Resent-" if resent else ""
    senders = _first_resent(message, f"{prefix}Sender") or _first_resent(message, f"{prefix}From")
    if resent:
        names = ("Resent-To", "Resent-Cc", "Resent-Bcc")
        recipients = [a for name in names for a in _first_resent(message, name)]
    else:
        recipients = _addresses(message, ("To", "Cc", "Bcc"))
    return (senders[0] if senders else None), unique(recipients)


def unique(addresses: Iterable[str]) -> list[str]:
    """Return ``addresses`` without repeats (case-insensitive on the domain), in order."""
    seen: set[str] = set()
    out: list[str] = []
    for address in addresses:
        local, at, domain = address.rpartition("@")
        key = f"{local}{at}{domain.lower()}" if at else address
        if key not in seen:
            seen.add(key)
            out.append(address)
    return out


def without_bcc(message: email.message.Message) -> email.message.Message:
    """Return ``message`` without its Bcc and Resent-Bcc fields; ``message`` is unchanged.

    The copy is shallow: deleting a field rebinds the copy's header list, so the caller's
    message and its (possibly large) payload are shared, not duplicated.
    """
    if message.get("Bcc") is None and message.get("Resent-Bcc") is None:
        return message
    stripped = copy.copy(message)
    del stripped["Bcc"]
    del stripped["Resent-Bcc"]
    return stripped


def check_recipients(recipients: Sequence[str]) -> None:
    """Raise InvalidArgument when there is no recipient at all."""
    if not recipients:
        raise InvalidArgument("the message has no recipient (To, Cc, Bcc or recipients=)")
