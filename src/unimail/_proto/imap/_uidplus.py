"""UIDPLUS response codes (RFC 4315 section 3; RFC 9051 section 7.1).

    resp-code-apnd = "APPENDUID" SP nz-number SP append-uid
    resp-code-copy = "COPYUID" SP nz-number SP uid-set SP uid-set
    uid-set        = (uniqueid / uid-range) *("," uid-set)
    uid-range      = (uniqueid ":" uniqueid)

After a MULTIAPPEND (RFC 3502) the append-uid of APPENDUID is a uid-set: the new uids of the
messages in the order they were sent. The two uid-sets of COPYUID pair up in order: the n-th
source uid became the n-th new uid.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..._errors import ProtocolError
from ._parser import Response

__all__ = ["appended_uid", "appended_uids", "copied_uids", "parse_uid_set"]


def parse_uid_set(text: str) -> list[int]:
    """Expand ``"4:6,9"`` into ``[4, 5, 6, 9]`` (ranges in the order given, ``6:4`` too)."""
    uids: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.partition(":")
            start, end = int(first), int(last or first)
            step = 1 if end >= start else -1
            if abs(end - start) > 10_000_000:
                raise ProtocolError(f"uid range too large in response code: {part!r}")
            uids.extend(range(start, end + step, step))
    except ValueError:
        raise ProtocolError(f"malformed uid set {text!r}") from None
    return uids


def appended_uid(responses: Iterable[Response]) -> tuple[int, int] | None:
    """Return ``(uidvalidity, uid)`` from an APPENDUID code, or None without one."""
    for response in responses:
        if response.code == "APPENDUID":
            fields = response.code_data.split()
            if len(fields) != 2 or not all(f.isdigit() for f in fields):
                raise ProtocolError(f"malformed APPENDUID: {response.code_data!r}")
            return int(fields[0]), int(fields[1])
    return None


def appended_uids(responses: Iterable[Response]) -> tuple[int, list[int]] | None:
    """Return ``(uidvalidity, uids)`` from an APPENDUID code whose append-uid may be a
    uid-set (MULTIAPPEND), or None without one."""
    for response in responses:
        if response.code == "APPENDUID":
            fields = response.code_data.split()
            if len(fields) != 2 or not fields[0].isdigit():
                raise ProtocolError(f"malformed APPENDUID: {response.code_data!r}")
            return int(fields[0]), parse_uid_set(fields[1])
    return None


def copied_uids(responses: Iterable[Response]) -> dict[int, int]:
    """Return ``{source_uid: new_uid}`` from COPYUID codes (empty without any)."""
    mapping: dict[int, int] = {}
    for response in responses:
        if response.code != "COPYUID":
            continue
        fields = response.code_data.split()
        if len(fields) != 3:
            raise ProtocolError(f"malformed COPYUID: {response.code_data!r}")
        sources, targets = parse_uid_set(fields[1]), parse_uid_set(fields[2])
        if len(sources) != len(targets):
            raise ProtocolError(f"COPYUID pairs {len(sources)} uids with {len(targets)}")
        mapping.update(zip(sources, targets, strict=True))
    return mapping
