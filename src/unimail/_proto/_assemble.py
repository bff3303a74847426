"""Building frozen attrs values without their constructors, for parsers that make thousands."""

from __future__ import annotations

from typing import Any, TypeVar

__all__ = ["assemble"]

_T = TypeVar("_T")


def assemble(cls: type[_T], fields: dict[str, Any]) -> _T:
    """Make an instance of ``cls``, a dict-based (``slots=False``) attrs class, holding
    ``fields`` as its instance dict, without calling ``__init__``.

    For parsers that build thousands of values whose fields already have their final types:
    the constructor's converters (list to tuple) and keyword handling cost as much as the
    parsing of a small value. ``fields`` must name every field, converted; no default is
    filled in. tests/test_imap_assemble.py checks the parsers' values against the
    constructor's.
    """
    instance = object.__new__(cls)
    object.__setattr__(instance, "__dict__", fields)
    return instance
