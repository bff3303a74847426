"""UID SEARCH answers (RFC 9051 section 6.4.4, 7.3.4; RFC 3501 section 7.2.5).

mailbox-data =/ "SEARCH" *(SP nz-number)            ; IMAP4rev1
esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
"""

from __future__ import annotations

from collections.abc import Iterable

from ..._errors import ProtocolError
from ._parser import Response

__all__ = ["search_uids"]


def search_uids(responses: Iterable[Response]) -> list[int]:
    """Return the uids of the untagged SEARCH responses among ``responses``, in order."""
    uids: list[int] = []
    for response in responses:
        if response.name != "SEARCH":
            continue
        for item in response.data:
            if isinstance(item, list):
                continue  # (MODSEQ n) under CONDSTORE, RFC 7162 section 3.1.5
            if not isinstance(item, int):
                raise ProtocolError(f"non-numeric uid in SEARCH response: {item!r}")
            uids.append(item)
    return uids
