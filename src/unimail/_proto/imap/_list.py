"""LIST (RFC 9051 section 6.3.9, 7.3.1) with special-use attributes (RFC 6154).

mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
               [SP mbox-list-extended]

With LIST-STATUS (RFC 5819) the server follows each LIST response with the STATUS response of
that folder: ``* STATUS "INBOX" (MESSAGES 3 UIDNEXT 4)``.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..._errors import ProtocolError
from ..._models import FolderInfo, FolderStatus, SpecialUse
from ._mutf7 import decode_mutf7
from ._parser import Response
from ._select import folder_status

__all__ = ["folder_info", "folders_with_status", "mailbox_name"]

_SPECIAL = {use.value.lower(): use for use in SpecialUse}


def mailbox_name(value: object, *, utf8: bool = False) -> str:
    """Decode a mailbox name token (atom, string or literal) to a folder name."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, (str, int)):
        text = str(value)
    else:
        raise ProtocolError(f"invalid mailbox name {value!r}")
    if text.upper() == "INBOX":
        return "INBOX"  # RFC 9051 5.1: INBOX is case-insensitive
    return text if utf8 else decode_mutf7(text)


def folder_info(response: Response, *, utf8: bool = False) -> FolderInfo:
    """Return the folder described by an untagged LIST (or LSUB) response."""
    data = response.data
    if len(data) < 3 or not isinstance(data[0], list):
        raise ProtocolError(f"malformed {response.name} response: {data!r}")
    attributes = frozenset(str(a) for a in data[0])
    delimiter = data[1]
    if isinstance(delimiter, str) and delimiter.upper() == "NIL":
        delimiter = None
    if delimiter is not None and not isinstance(delimiter, bytes):
        raise ProtocolError(f"malformed {response.name} delimiter: {delimiter!r}")
    special = next((_SPECIAL[a.lower()] for a in attributes if a.lower() in _SPECIAL), None)
    return FolderInfo(
        name=mailbox_name(data[2], utf8=utf8),
        delimiter=delimiter.decode("utf-8", "replace") if delimiter else None,
        attributes=attributes,
        special_use=special,
    )


def folders_with_status(responses: Iterable[Response], *, utf8: bool = False) -> list[FolderInfo]:
    """Return the folders of LIST (or LSUB) responses, each with the counters of the STATUS
    response that names it (RFC 5819), if any."""
    folders: list[FolderInfo] = []
    counters: dict[str, FolderStatus] = {}
    for response in responses:
        if response.name in ("LIST", "LSUB"):
            folders.append(folder_info(response, utf8=utf8))
        elif response.name == "STATUS" and response.data:
            counters[mailbox_name(response.data[0], utf8=utf8)] = folder_status([response])
    return [
        attrs.evolve(folder, status=counters[folder.name]) if folder.name in counters else folder
        for folder in folders
    ]
