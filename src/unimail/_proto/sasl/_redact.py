"""Keeping credentials out of error messages, even when the server repeats them.

A server that refuses a login sometimes quotes what it got: ``NO invalid password 'hunter2'``,
``-ERR [AUTH] bad credentials AHVzZXIAaHVudGVyMg==``. Its text goes into the exception (and
so into tracebacks and the caller's logs), where DESIGN.md says a secret must never appear.
:class:`Redactor` collects every secret of one login in the forms it travelled in (as typed,
base64-encoded, IMAP-quoted) and replaces each of them in a server text by ``***``.
"""

from __future__ import annotations

import base64

__all__ = ["REDACTED", "Redactor"]

#: What a secret is replaced with.
REDACTED = "***"

# A secret shorter than this is not searched for: replacing every "a" of a one-letter test
# password would garble the text and hide nothing worth hiding.
_MIN_LENGTH = 3


class Redactor:
    """The secrets of one login, and :meth:`redact` to take them out of a server's text."""

    def __init__(self, *secrets: str | bytes | None) -> None:
        """Start with ``secrets`` (None entries are skipped); see :meth:`add`."""
        self._forms: set[str] = set()
        self._byte_forms: list[bytes] = []  # the same, encoded, longest first
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | bytes | None) -> None:
        """Remember ``secret`` as it is, base64-encoded, and as an IMAP quoted string's
        content (backslash and double quote escaped). Bytes are taken as UTF-8."""
        if not secret:
            return
        raw = secret if isinstance(secret, bytes) else secret.encode("utf-8", "replace")
        text = raw.decode("utf-8", "replace")
        quoted = text.replace("\\", "\\\\").replace('"', '\\"')
        for form in (text, quoted, base64.b64encode(raw).decode("ascii")):
            if len(form) >= _MIN_LENGTH and form not in self._forms:
                self._forms.add(form)
                self._byte_forms.append(form.encode("utf-8"))
        self._byte_forms.sort(key=len, reverse=True)

    def redact_bytes(self, data: bytes) -> bytes:
        """Return ``data`` (what a server sent) with every known secret form replaced by
        ``***``; for the protocol trace. A form cut in two by the network is not found."""
        for form in self._byte_forms:
            if form in data:
                data = data.replace(form, REDACTED.encode("ascii"))
        return data

    def safe_cut(self, data: bytes) -> int:
        """Where ``data`` (the start of a server line) may be cut without splitting a secret:
        before its longest end that some secret form begins with, and before any whole form
        that would cross that place. ``len(data)`` when no secret is in the way.

        For the protocol trace, which logs a partial line only when it must: the part after
        the cut waits for the rest of the line, where the whole form can be replaced.
        """
        cut = len(data)
        for form in self._byte_forms:
            for size in range(min(len(form) - 1, len(data)), 0, -1):
                if data.endswith(form[:size]):
                    cut = min(cut, len(data) - size)
                    break
        moved = True
        while moved:  # a whole form across the cut moves it to where that form starts
            moved = False
            for form in self._byte_forms:
                start = data.find(form, max(0, cut - len(form) + 1))
                if 0 <= start < cut < start + len(form):
                    cut, moved = start, True
        return cut

    def redact(self, text: str) -> str:
        """Return ``text`` with every known secret form replaced by ``***`` (longest first,
        so that a secret inside a longer one does not leave the rest of it behind)."""
        for form in sorted(self._forms, key=len, reverse=True):
            if form in text:
                text = text.replace(form, REDACTED)
        return text
