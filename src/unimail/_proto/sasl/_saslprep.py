"""SASLprep (RFC 4013), the stringprep profile (RFC 3454) SCRAM applies to user names and
passwords, built on the standard library's ``stringprep`` tables (Unicode 3.2).

RFC 4013 section 2 in four steps:

1. Map: non-ASCII space characters (table C.1.2) to SPACE; "commonly mapped to nothing"
   characters (table B.1, e.g. SOFT HYPHEN) to nothing.
2. Normalise with Unicode normalization form KC (Unicode 3.2, as stringprep fixes it).
3. Prohibit tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8 and C.9.
4. Check bidirectional strings (RFC 3454 section 6): a string with any RandALCat character
   (table D.1) holds no LCat character (table D.2) and starts and ends with RandALCat.

Unassigned code points (table A.1) are allowed, as for a "query" (RFC 3454 section 7): RFC 5802
section 5.1 says so for the user name. Section 2.2 asks "stored string" rules for the password,
but the client stores nothing: the server hashed the password when it was set, and refusing
code points newer than Unicode 3.2 (every emoji) would make such passwords unusable with SCRAM.
"""

from __future__ import annotations

import stringprep
import unicodedata
from collections.abc import Callable

from ..._errors import InvalidArgument

__all__ = ["saslprep"]

# RFC 4013 section 2.3.
_PROHIBITED: tuple[Callable[[str], bool], ...] = (
    stringprep.in_table_c12,
    stringprep.in_table_c21_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def saslprep(text: str, what: str, *, secret: bool = False) -> str:
    """Return ``text`` prepared with SASLprep (RFC 4013), unassigned code points allowed.

    Args:
        text: the string to prepare.
        what: names the field in error messages ("user name", "password").
        secret: when True, error messages never show the offending character.

    Raises:
        InvalidArgument: ``text`` holds a prohibited character or fails the bidi check.
    """
    # 2.1 Mapping.
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in text if not stringprep.in_table_b1(ch)
    )
    # 2.2 Normalization.
    prepared = unicodedata.ucd_3_2_0.normalize("NFKC", mapped)
    # 2.3 Prohibited output.
    for ch in prepared:
        if any(table(ch) for table in _PROHIBITED):
            shown = "" if secret else f" (U+{ord(ch):04X})"
            raise InvalidArgument(f"{what} contains a character SASLprep prohibits{shown}")
    # 2.4 Bidirectional characters (RFC 3454 section 6).
    if not _bidi_ok(prepared):
        raise InvalidArgument(
            f"{what} mixes right-to-left and left-to-right text in a way SASLprep forbids"
        )
    return prepared


def _bidi_ok(text: str) -> bool:
    """RFC 3454 section 6: with any RandALCat character, no LCat one, and RandALCat first and
    last."""
    if not any(stringprep.in_table_d1(ch) for ch in text):
        return True
    return (
        not any(stringprep.in_table_d2(ch) for ch in text)
        and stringprep.in_table_d1(text[0])
        and stringprep.in_table_d1(text[-1])
    )
