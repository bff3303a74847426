"""Modified UTF-7 folder names (RFC 3501 section 5.1.3, kept by RFC 9051 section 5.1.3).

Printable ASCII other than ``&`` stands for itself; ``&`` is written ``&-``; every other run of
characters is written ``&`` + modified base64 of its UTF-16BE form (``,`` instead of ``/``, no
padding) + ``-``. Servers that accept UTF8=ACCEPT take raw UTF-8 instead.
"""

from __future__ import annotations

import base64

from ..._errors import InvalidArgument, ProtocolError

__all__ = ["decode_mutf7", "encode_mutf7"]


def encode_mutf7(name: str) -> str:
    """Return ``name`` in modified UTF-7."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            try:
                raw = "".join(pending).encode("utf-16-be")
            except UnicodeEncodeError:  # a lone surrogate, e.g. from os.fsdecode()
                raise InvalidArgument(f"{name!r} is not valid Unicode text") from None
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ","))
            out.append("-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def decode_mutf7(name: str) -> str:
    """Return the Unicode form of the modified UTF-7 ``name``.

    Raises:
        ProtocolError: ``name`` is not valid modified UTF-7.
    """
    if "&" not in name:
        return name
    out: list[str] = []
    pos = 0
    while pos < len(name):
        amp = name.find("&", pos)
        if amp < 0:
            out.append(name[pos:])
            break
        out.append(name[pos:amp])
        end = name.find("-", amp)
        if end < 0:
            raise ProtocolError(f"unterminated modified UTF-7 in folder name {name!r}")
        chunk = name[amp + 1 : end]
        if not chunk:
            out.append("&")
        else:
            padded = chunk.replace(",", "/") + "=" * (-len(chunk) % 4)
            try:
                out.append(base64.b64decode(padded, validate=True).decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                raise ProtocolError(f"invalid modified UTF-7 in folder name {name!r}") from None
        pos = end + 1
    return "".join(out)
