"""SELECT / EXAMINE (RFC 9051 section 6.3.2) and STATUS (section 6.3.11, 7.3.3).

SELECT's answer is spread over untagged responses: ``* n EXISTS``, ``* FLAGS (...)``, and
``* OK [UIDVALIDITY n]``, ``[UIDNEXT n]``, ``[PERMANENTFLAGS (...)]`` response codes, with
``[READ-ONLY]`` or ``[READ-WRITE]`` on the tagged OK. Under CONDSTORE (RFC 7162 section
3.1.2.1) an ``[HIGHESTMODSEQ n]`` code joins them, or ``[NOMODSEQ]`` for a folder that keeps no
modification sequences.

    status-att-list = status-att-val *(SP status-att-val)
    status-att-val  = ("MESSAGES" SP number) / ("UIDNEXT" SP nz-number) /
                      ("UIDVALIDITY" SP nz-number) / ("UNSEEN" SP number) / ...
    status-att-val  =/ "HIGHESTMODSEQ" SP mod-sequence-valzer    ; RFC 7162 section 7
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..._errors import ProtocolError
from ..._models import FolderStatus
from ._parser import Response

__all__ = ["SelectInfo", "folder_status", "select_info"]

_COUNTERS = frozenset(
    {"MESSAGES", "UNSEEN", "UIDNEXT", "UIDVALIDITY", "RECENT", "SIZE", "HIGHESTMODSEQ"}
)


@attrs.frozen(kw_only=True)
class SelectInfo:
    """What SELECT / EXAMINE told about the selected folder."""

    exists: int = 0
    uidvalidity: int | None = None
    uidnext: int | None = None
    read_only: bool = False
    #: The folder's HIGHESTMODSEQ at the SELECT (CONDSTORE); None without one.
    highest_modseq: int | None = None
    #: True when the server said ``[NOMODSEQ]``: this folder keeps no modification sequences.
    nomodseq: bool = False


def _number(text: str, what: str) -> int:
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        raise ProtocolError(f"malformed {what}: {text!r}") from None


def select_info(responses: Iterable[Response], tagged: Response) -> SelectInfo:
    """Collect the answer to SELECT / EXAMINE from its untagged responses and tagged OK."""
    exists = 0
    uidvalidity: int | None = None
    uidnext: int | None = None
    modseq: int | None = None
    nomodseq = False
    for response in [*responses, tagged]:
        if response.name == "EXISTS" and response.number is not None:
            exists = response.number
        elif response.code == "UIDVALIDITY":
            uidvalidity = _number(response.code_data, "UIDVALIDITY")
        elif response.code == "UIDNEXT":
            uidnext = _number(response.code_data, "UIDNEXT")
        elif response.code == "HIGHESTMODSEQ":
            modseq = _number(response.code_data, "HIGHESTMODSEQ")
        elif response.code == "NOMODSEQ":
            nomodseq = True
    return SelectInfo(
        exists=exists,
        uidvalidity=uidvalidity,
        uidnext=uidnext,
        read_only=tagged.code == "READ-ONLY",
        highest_modseq=modseq,
        nomodseq=nomodseq,
    )


def folder_status(responses: Iterable[Response]) -> FolderStatus:
    """Return the counters of an untagged STATUS response among ``responses``."""
    for response in responses:
        if response.name != "STATUS":
            continue
        if len(response.data) < 2 or not isinstance(response.data[1], list):
            raise ProtocolError(f"malformed STATUS response: {response.data!r}")
        items = response.data[1]
        values: dict[str, int] = {}
        for key, value in zip(items[::2], items[1::2], strict=False):
            name = str(key).upper()
            if name in _COUNTERS:
                if not isinstance(value, str) or not value.isdigit():
                    raise ProtocolError(f"malformed STATUS value for {name}: {value!r}")
                values[name] = int(value)
            # Other attributes (MAILBOXID, APPENDLIMIT NIL, ...) are extensions we skip.
        if "MESSAGES" not in values:
            raise ProtocolError("STATUS response without MESSAGES")
        return FolderStatus(
            messages=values["MESSAGES"],
            unseen=values.get("UNSEEN"),
            uidnext=values.get("UIDNEXT"),
            uidvalidity=values.get("UIDVALIDITY"),
            highest_modseq=values.get("HIGHESTMODSEQ") or None,  # 0: no mod-sequences
        )
    raise ProtocolError("the server answered STATUS without a STATUS response")
