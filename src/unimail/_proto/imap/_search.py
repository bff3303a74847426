"""UID SEARCH answers (RFC 9051 section 6.4.4, 7.3.4; RFC 3501 section 7.2.5).

mailbox-data =/ "SEARCH" *(SP nz-number)            ; IMAP4rev1
esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
"""

from __future__ import annotations

from collections.abc import Iterable

from ..._errors import ProtocolError
from ._parser import Response
from ._uidplus import parse_uid_set

__all__ = ["search_uids"]


def search_uids(responses: Iterable[Response], tag: str | None = None) -> list[int]:
    """Return the uids of the untagged SEARCH, SORT or ESEARCH responses among
    ``responses``, in the server's order (for SORT: the sorted order).

    Args:
        tag: the SEARCH command's tag, to pick its ESEARCH response (RFC 4731 correlator).
    """
    uids: list[int] = []
    for response in responses:
        if response.name == "ESEARCH":
            uids += _esearch_all(response, tag)
            continue
        if response.name not in ("SEARCH", "SORT"):
            continue
        for item in response.data:
            if isinstance(item, list):
                continue  # (MODSEQ n) under CONDSTORE, RFC 7162 section 3.1.5
            if not isinstance(item, int):
                raise ProtocolError(f"non-numeric uid in SEARCH response: {item!r}")
            uids.append(item)
    return uids


def _esearch_all(response: Response, tag: str | None) -> list[int]:
    # esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
    data = list(response.data)
    correlator = data.pop(0) if data and isinstance(data[0], list) else None
    # search-correlator = SP "(" "TAG" SP tag-string ")"
    if isinstance(correlator, list) and tag is not None and correlator[1:2] != [tag.encode()]:
        return []  # another command's answer
    items = [str(item).upper() if isinstance(item, str) else item for item in data]
    for index, item in enumerate(items):
        if item == "ALL" and index + 1 < len(items):
            return parse_uid_set(str(items[index + 1]))
    return []
