"""Checks on caller input that reaches the wire, run before any byte is sent."""

from __future__ import annotations

from ._errors import InvalidArgument

__all__ = ["check_wire_text"]


def check_wire_text(value: str, what: str) -> str:
    """Return ``value`` if it can travel on a protocol line: no CR, LF or NUL.

    Raises:
        InvalidArgument: ``value`` holds CR, LF or NUL (command injection), naming ``what``.
    """
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a str, got {type(value).__name__}")
    for bad, name in (("\r", "CR"), ("\n", "LF"), ("\0", "NUL")):
        if bad in value:
            raise InvalidArgument(f"{what} contains {name}, which cannot be sent")
    return value
