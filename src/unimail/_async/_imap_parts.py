"""Body parts and many appends on an IMAP folder: BINARY (RFC 3516) and MULTIAPPEND (RFC 3502).

BINARY lets the server undo a part's content transfer encoding: ``BINARY.PEEK[2]`` is the
attachment's bytes, not its base64 text, and ``BINARY.SIZE[2]`` its decoded size. Without
BINARY the part comes as ``BODY.PEEK[2]`` with the BODYSTRUCTURE beside it, whose encoding
says how to decode it here (base64 and quoted-printable; anything else is already raw).

MULTIAPPEND appends several messages in one command; RFC 3502 makes it atomic (all or none).
Its APPENDUID code names the new uids as a uid-set, in the order the messages were sent.
Without MULTIAPPEND each message is one APPEND. Messages go in batches (``_BATCH_COUNT``
messages or ``_BATCH_BYTES`` bytes, whichever comes first) so that one command never grows
without bound.

    append         = "APPEND" SP mailbox 1*append-message         ; RFC 3502
    append-message = append-opts SP append-data
    append-opts    = [SP flag-list] [SP date-time] *(SP append-ext)
    section-binary = "[" [section-part] "]"                       ; RFC 3516
    section-part   = nz-number *("." nz-number)
"""

from __future__ import annotations

import binascii
import datetime
import email.message
import email.policy
import re
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, cast

from .._errors import CommandError, InvalidArgument, ProtocolError
from .._message import Appendable, split_appendable
from .._models import Flag
from .._proto.imap._arguments import check_uids, date_time, flag_list
from .._proto.imap._fetch import FetchData
from .._proto.imap._fetch_stream import FetchAssembler
from .._proto.imap._parser import Response
from .._proto.imap._uidplus import appended_uids
from .._proto.imap._wire import Arg, Atom, SequenceSet
from ._folder import Uid

if TYPE_CHECKING:
    from ._imap_folder import AsyncImapFolder
    from .imap import AsyncImapMailbox

__all__ = ["PartMethods"]

_SECTION = re.compile(r"[1-9][0-9]*(?:\.[1-9][0-9]*)*", re.ASCII)

# One MULTIAPPEND command carries at most this many messages, or bytes of messages.
_BATCH_COUNT = 200
_BATCH_BYTES = 32 * 1024 * 1024


class PartMethods:
    """The BINARY and MULTIAPPEND methods of :class:`AsyncImapFolder` (a mixin of it)."""

    async def get_part(self, uid: Uid, section: str) -> bytes:
        """Return body part ``section`` of message ``uid`` (``"1"``, ``"2.1"``: the
        ``BodyPart.section`` of its ``body_structure``) with its transfer encoding (base64,
        quoted-printable) undone: the attachment's bytes. Never marks the message seen.

        Uses BINARY.PEEK (RFC 3516) where offered; otherwise fetches the part with the
        message's BODYSTRUCTURE and decodes it here.

        Raises:
            InvalidArgument: a bad uid or section (nothing was sent).
            CommandError: no such message or part, or the server cannot decode the part
                (``[UNKNOWN-CTE]``).
        """
        folder = cast("AsyncImapFolder", self)
        if "BINARY" in folder._mailbox.client.capabilities:
            data = await _fetch_one(folder, uid, f"BINARY.PEEK[{_section(section)}]")
            return _need(data.section(f"BINARY[{section}]"), uid, section)
        data = await _fetch_one(folder, uid, "BODYSTRUCTURE", f"BODY.PEEK[{_section(section)}]")
        raw = _need(data.section(f"BODY[{section}]"), uid, section)
        structure = data.message_info().body_structure
        parts = {part.section: part for part in structure.walk()} if structure else {}
        encoding = parts[section].encoding.lower() if section in parts else "7bit"
        return _decode(raw, encoding)

    async def part_size(self, uid: Uid, section: str) -> int:
        """Return the decoded size in bytes of body part ``section`` of message ``uid``:
        BINARY.SIZE (RFC 3516) without fetching the part; where the server lacks BINARY, the
        part is fetched and decoded to measure it.

        Raises:
            InvalidArgument: a bad uid or section (nothing was sent).
            CommandError: no such message or part.
        """
        folder = cast("AsyncImapFolder", self)
        if "BINARY" not in folder._mailbox.client.capabilities:
            return len(await folder.get_part(uid, section))
        data = await _fetch_one(folder, uid, f"BINARY.SIZE[{_section(section)}]")
        size = data.items.get(f"BINARY.SIZE[{section}]")
        if not isinstance(size, int):
            raise CommandError(f"no part {section} in message {uid} of {folder.name!r}", code="NO")
        return size

    async def append_many(
        self,
        messages: Iterable[email.message.Message | bytes | Appendable],
        *,
        flags: Collection[Flag | str] = (),
        internal_date: datetime.datetime | None = None,
    ) -> list[Uid | None]:
        """Store ``messages`` here, in order: one MULTIAPPEND command (RFC 3502) per batch of
        up to 200 messages or 32 MB where the server offers it (a batch is stored whole or not
        at all), else one APPEND each.

        Each message is an ``EmailMessage`` or bytes (stored with ``flags`` and
        ``internal_date``), or a ``(message, flags, internal_date)`` tuple with its own.
        Every message is checked before the first is sent. If the server refuses a batch,
        the ``CommandError`` is raised and the batches before it stay stored.

        Returns:
            The new uid of each message, in order, where the server says (UIDPLUS
            APPENDUID); None in its place otherwise.

        Raises:
            InvalidArgument: a bad flag or date, or a message holding NUL bytes (nothing was
                sent).
            FolderNotFound: the folder does not exist.
            UnsupportedOperation: the folder is read-only.
        """
        folder = cast("AsyncImapFolder", self)
        folder._writable()
        box = folder._mailbox
        items: list[tuple[list[Arg], bytes]] = []
        for item in messages:
            message, own_flags, own_date = split_appendable(item, flags, internal_date)
            options: list[Arg] = [flag_list(own_flags)]
            if own_date is not None:
                options.append(date_time(own_date))
            items.append((options, _raw(message)))
        if "MULTIAPPEND" not in box.client.capabilities:
            return [await folder._append_raw(options, raw) for options, raw in items]
        uids: list[Uid | None] = []
        for batch in _batches(items):
            args: list[Arg] = [box._name(folder.name)]
            for options, raw in batch:
                args += [*options, raw]
            reply = await box._on_folder(folder.name, "APPEND", *args)
            box._unsolicited(reply.untagged)
            found = appended_uids([reply.tagged])
            if folder._uidvalidity is None and found is not None:
                folder._uidvalidity = found[0]
            if found is None or found[0] != folder._uidvalidity or len(found[1]) != len(batch):
                uids += [None] * len(batch)
            else:
                uids += found[1]
        return uids


def _section(section: str) -> str:
    if not isinstance(section, str) or not _SECTION.fullmatch(section):
        raise InvalidArgument(f"a body part section is like '1' or '2.1', got {section!r}")
    return section


def _need(value: bytes | None, uid: Uid, section: str) -> bytes:
    if value is None:
        raise CommandError(f"no part {section} in message {uid}", code="NO")
    return value


async def _fetch_one(folder: AsyncImapFolder, uid: Uid, *items: str) -> FetchData:
    """UID FETCH one message's ``items`` (and its UID) and return its answer."""
    wanted = check_uids([uid])
    await folder._select()
    box = folder._mailbox
    client = box.client
    args: list[Arg] = [Atom("UID"), *(Atom(item) for item in items)]
    pending = await client.start("UID", Atom("FETCH"), SequenceSet.of(wanted), args)
    # As in a folder's fetch (_fetch_stream): an answer split over several FETCH responses
    # (RFC 9051 7.5.2) is put together by uid; another message's update, EXISTS, EXPUNGE go
    # to the mailbox's view of the folder; a message expunged meanwhile is no answer.
    assembler = FetchAssembler({item.replace(".PEEK", "") for item in items}, wanted)
    found: list[FetchData] = []
    while (response := await client.next_response(pending)) is not None:
        found += await take(box, assembler, response)
    found += assembler.finish()  # incomplete: the server had nothing more to say about it
    if not found:
        raise CommandError(f"no message with uid {uid} in {folder.name!r}", code="NO")
    return found[0]


async def take(
    box: AsyncImapMailbox, assembler: FetchAssembler, response: Response
) -> list[FetchData]:
    """The messages ``response``, read during a FETCH command, completes (none or one).

    What is not the command's (another message's flag update, EXISTS, EXPUNGE, a FETCH
    without UID) goes to the mailbox's view of the folder. An answer out of step closes the
    connection (``ProtocolError``).
    """
    try:
        complete = assembler.feed(response)
    except ProtocolError:
        await box.client.abort()
        raise
    if complete is None:
        box._unsolicited([response])
        return []
    return complete


def _decode(raw: bytes, encoding: str) -> bytes:
    """Undo a content transfer encoding (RFC 2045 section 6), leniently as mail needs."""
    try:
        if encoding == "base64":
            # Line breaks and stray characters are skipped (RFC 2045 section 6.8).
            return binascii.a2b_base64(re.sub(rb"[^A-Za-z0-9+/=]", b"", raw))
        if encoding == "quoted-printable":
            return binascii.a2b_qp(raw)
    except binascii.Error:
        raise CommandError(f"the part's {encoding} content is malformed", code="NO") from None
    return raw  # 7bit, 8bit, binary: already the content


def _raw(message: email.message.Message | bytes) -> bytes:
    # policy.SMTP: CRLF line endings, as IMAP messages have (RFC 9051 section 6.3.12).
    raw = message if isinstance(message, bytes) else message.as_bytes(policy=email.policy.SMTP)
    if b"\0" in raw:
        raise InvalidArgument("IMAP cannot store a message holding NUL bytes")
    return raw


def _batches(items: list[tuple[list[Arg], bytes]]) -> list[list[tuple[list[Arg], bytes]]]:
    batches: list[list[tuple[list[Arg], bytes]]] = []
    size = 0
    for item in items:
        raw = item[1]
        if not batches or len(batches[-1]) >= _BATCH_COUNT or size + len(raw) > _BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += len(raw)
    return batches
