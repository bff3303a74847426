"""Which destination folder each source folder of ``unimail.copy`` goes to.

In this order, the first that applies:

1. the caller's mapping (``mapping={"Sent Items": "Sent"}``);
2. INBOX goes to INBOX (its name is case-insensitive, RFC 9051 section 5.1);
3. a special-use folder (RFC 6154: ``\\Sent``, ``\\Trash``, ...) goes to the destination's
   folder with the same role, whatever either is called ("Sent Items" -> "Sent");
4. otherwise the same name, with the source's hierarchy delimiter replaced by the
   destination's ("Lists.python" -> "Lists/python"), or by ``.`` where the destination is
   flat (a directory of mbox files); a delimiter of the destination inside a name part
   becomes ``_``, so that no level is invented.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ._errors import FolderNotFound, InvalidArgument
from ._models import FolderInfo
from ._validate import check_wire_text

__all__ = ["plan_folders", "target_name"]


def target_name(
    folder: FolderInfo,
    destination: Sequence[FolderInfo],
    mapping: Mapping[str, str],
) -> str:
    """Return the destination folder name for the source ``folder`` (see the module).

    Args:
        folder: the source folder, as its mailbox lists it.
        destination: the destination's folders, as its mailbox lists them.
        mapping: the caller's source name -> destination name choices.
    """
    if folder.name in mapping:
        return mapping[folder.name]
    if folder.name.upper() == "INBOX":
        return "INBOX"
    if folder.special_use is not None:
        for candidate in destination:
            if candidate.special_use == folder.special_use:
                return candidate.name
    parts = folder.name.split(folder.delimiter) if folder.delimiter else [folder.name]
    # A flat destination (a directory of mbox files) gets the levels joined with dots.
    target_delimiter = _delimiter(destination) or "."
    return target_delimiter.join(part.replace(target_delimiter, "_") for part in parts)


def plan_folders(
    source: Sequence[FolderInfo],
    destination: Sequence[FolderInfo],
    selected: Iterable[str] | None,
    mapping: Mapping[str, str] | None,
) -> list[tuple[FolderInfo, str]]:
    """Return ``(source folder, destination name)`` for each folder to copy.

    Args:
        source: the source's folders.
        destination: the destination's folders.
        selected: the source folder names to copy; None: every folder that holds messages.
        mapping: the caller's source name -> destination name choices.

    Raises:
        FolderNotFound: a selected folder is not in the source.
        InvalidArgument: a mapping or selection that is not text, or two source folders that
            would go to the same destination folder by different rules.
    """
    names = dict(mapping or {})
    for key, value in names.items():
        check_wire_text(key, "folder name")
        check_wire_text(value, "folder name")
        if not value:
            raise InvalidArgument(f"the folder {key!r} is mapped to an empty name")
    by_name = {f.name: f for f in source}
    if selected is None:
        chosen = [f for f in source if f.selectable]
    else:
        if isinstance(selected, str):
            raise InvalidArgument("folders takes a list of folder names, not one string")
        chosen = []
        for name in selected:
            check_wire_text(name, "folder name")
            found = by_name.get(name) or _inbox(source, name)
            if found is None:
                raise FolderNotFound(f"the source has no folder named {name!r}", code="NO")
            chosen.append(found)
    plan: list[tuple[FolderInfo, str]] = []
    targets: dict[str, str] = {}
    for folder in chosen:
        target = target_name(folder, destination, names)
        if target in targets and targets[target] != folder.name:
            raise InvalidArgument(
                f"the folders {targets[target]!r} and {folder.name!r} would both be copied "
                f"into {target!r}: map one of them elsewhere (mapping=...)"
            )
        targets[target] = folder.name
        plan.append((folder, target))
    return plan


def _inbox(source: Sequence[FolderInfo], name: str) -> FolderInfo | None:
    if name.upper() != "INBOX":
        return None
    return next((f for f in source if f.name.upper() == "INBOX"), None)


def _delimiter(folders: Sequence[FolderInfo]) -> str | None:
    for folder in folders:
        if folder.delimiter:
            return folder.delimiter
    return None
