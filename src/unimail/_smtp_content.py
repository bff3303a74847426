"""The bytes of a message to send: from ``bytes``, a binary file, a path or an EmailMessage.

Large messages are never held twice: bytes are sliced (memoryview), files are read in chunks,
and an ``EmailMessage`` is serialised into a spooled temporary file that moves to disk past
:data:`SPOOL_SIZE`, so sending a 100 MB message costs a few MB of extra memory.
"""

from __future__ import annotations

import email.generator
import email.message
import email.policy
import io
import os
import tempfile
from collections.abc import Iterator
from typing import IO

from ._errors import InvalidArgument
from ._proto.smtp import MessageSource

__all__ = ["CHUNK_SIZE", "SPOOL_SIZE", "Content"]

#: How much of a message is read, canonicalised and sent at a time.
CHUNK_SIZE = 1024 * 1024
#: An EmailMessage serialises into memory up to this size, then into a temporary file.
SPOOL_SIZE = 4 * 1024 * 1024


class _Generator(email.generator.BytesGenerator):
    """``BytesGenerator`` that streams: the same bytes, without holding the message twice.

    The standard generator buffers every part's body before writing its headers (so that it
    can still pick a multipart boundary that occurs nowhere in the body), and splits a
    body into a list of lines before writing them. For a 50 MB attachment that is several
    times its size in memory. Here every multipart boundary is chosen before serialising
    (:func:`_set_boundaries`, a fresh random token, as the standard generator makes), so
    headers can be written first and each body goes straight to the output, one
    newline-terminated piece at a time. With ``cte_type="7bit"`` the standard path is kept:
    re-encoding a part may change its headers after its body was generated.
    """

    def _seven_bit(self) -> bool:
        return self.policy is not None and self.policy.cte_type == "7bit"

    def _write(self, msg: email.message.Message) -> None:
        if self._seven_bit():
            super()._write(msg)  # type: ignore[misc]
            return
        self._munge_cte = None
        write_headers = getattr(msg, "_write_headers", None)
        if write_headers is None:
            self._write_headers(msg)  # type: ignore[attr-defined]
        else:
            write_headers(self)
        self._dispatch(msg)  # type: ignore[attr-defined]

    def _handle_text(self, msg: email.message.Message) -> None:
        payload = getattr(msg, "_payload", None)
        if isinstance(payload, str) and payload.isascii() and not self._mangle_from_:  # type: ignore[attr-defined]
            # An ASCII body holds no surrogate-escaped bytes, so the standard path would only
            # make a full encoded copy to find that out, then write exactly this.
            self._write_lines(payload)
            return
        super()._handle_text(msg)  # type: ignore[misc]

    # The generator dispatches bodies of unknown types through this alias, bound to the
    # base class's method when that class was created: bind it to the override.
    _writeBody = _handle_text

    def _handle_multipart(self, msg: email.message.Message) -> None:
        parts = msg.get_payload()
        boundary = msg.get_boundary()
        if self._seven_bit() or not isinstance(parts, list) or not boundary:
            super()._handle_multipart(msg)  # type: ignore[misc]
            return
        newline = self._NL  # type: ignore[attr-defined]
        if msg.preamble is not None:
            self._write_lines(msg.preamble)
            self.write(newline)
        for index, part in enumerate(parts):
            self.write(("" if index == 0 else newline) + "--" + boundary + newline)
            self.clone(self._fp).flatten(part, unixfrom=False, linesep=newline)  # type: ignore[attr-defined]
        if not parts:
            self.write("--" + boundary + newline)
        self.write(newline + "--" + boundary + "--" + newline)
        if msg.epilogue is not None:
            self._write_lines(msg.epilogue)

    def _write_lines(self, lines: str) -> None:
        if len(lines) <= CHUNK_SIZE:
            super()._write_lines(lines)  # type: ignore[misc]
            return
        start = 0
        while start < len(lines):
            # Cut just after an LF, so that no CRLF is split between two pieces.
            end = lines.find("\n", start + CHUNK_SIZE)
            stop = len(lines) if end < 0 else end + 1
            super()._write_lines(lines[start:stop])  # type: ignore[misc]
            start = stop


def _set_boundaries(message: email.message.Message) -> None:
    """Give every multipart part without a boundary a fresh one, as serialising would."""
    for part in message.walk():
        if part.is_multipart() and not part.get_boundary():
            part.set_boundary(email.generator.Generator._make_boundary())  # type: ignore[attr-defined]


class Content:
    """The raw bytes of one message (before SMTP canonicalisation), readable in chunks."""

    def __init__(self, *, data: bytes | None = None, file: IO[bytes] | None = None) -> None:
        """Hold ``data`` or read ``file`` (seekable, positioned at the start of the message)."""
        self._data = data
        self._file = file
        self._start = file.tell() if file is not None else 0
        self._owned = False

    @classmethod
    def of(cls, message: MessageSource, *, utf8: bool = False, seven_bit: bool = False) -> Content:
        """Return the content of ``message``; an EmailMessage is serialised with CRLF.

        Args:
            message: the message; a path is opened, a file is read from its position.
            utf8: serialise an EmailMessage's headers as UTF-8 (SMTPUTF8, RFC 6532).
            seven_bit: serialise an EmailMessage with 7-bit transfer encodings only (for a
                server without 8BITMIME).

        Raises:
            InvalidArgument: a message of an unsupported type, a file not opened in binary
                mode or not seekable, or a path that cannot be read.
        """
        if isinstance(message, email.message.Message):
            return cls._serialise(message, utf8=utf8, seven_bit=seven_bit)
        if isinstance(message, (bytes, bytearray, memoryview)):
            return cls(data=bytes(message))
        if isinstance(message, os.PathLike):
            try:
                file = open(message, "rb")  # noqa: SIM115 - owned by the Content, closed by it
            except OSError as exc:
                raise InvalidArgument(f"cannot read the message file: {exc}") from None
            content = cls(file=file)
            content._owned = True
            return content
        if hasattr(message, "read"):
            if isinstance(message, io.TextIOBase):
                raise InvalidArgument("a message file must be opened in binary mode ('rb')")
            if not message.seekable():
                raise InvalidArgument("a message file must be seekable (save it to a file first)")
            return cls(file=message)
        raise InvalidArgument(
            f"a message is an EmailMessage, bytes, a binary file or a path, "
            f"not {type(message).__name__}"
        )

    @classmethod
    def _serialise(cls, message: email.message.Message, *, utf8: bool, seven_bit: bool) -> Content:
        policy = message.policy.clone(linesep="\r\n")
        if seven_bit:
            policy = policy.clone(cte_type="7bit")
        if isinstance(policy, email.policy.EmailPolicy):
            policy = policy.clone(utf8=utf8)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_SIZE)  # noqa: SIM115 - owned
        try:
            if not seven_bit:
                _set_boundaries(message)
            _Generator(spool, mangle_from_=False, policy=policy).flatten(message)
        except (UnicodeError, ValueError, TypeError, LookupError) as exc:
            spool.close()
            raise InvalidArgument(f"the message cannot be serialised: {exc}") from None
        if not spool._rolled:  # type: ignore[attr-defined]  # still in memory: keep bytes only
            data = spool._file.getvalue()  # type: ignore[attr-defined]
            spool.close()
            return cls(data=data)
        spool.seek(0)
        content = cls(file=spool)
        content._owned = True
        return content

    @property
    def data(self) -> bytes | None:
        """The whole message when it is held in memory, else None (it is in a file)."""
        return self._data

    def size(self) -> int:
        """The size in octets: the estimate RFC 1870 asks for in ``SIZE=`` (bare LFs, which
        become CRLF, are not counted: counting them would cost a pass over the message)."""
        if self._data is not None:
            return len(self._data)
        assert self._file is not None
        end = self._file.seek(0, os.SEEK_END)
        self._file.seek(self._start)
        return end - self._start

    def is_ascii(self) -> bool:
        """True when every octet is 7-bit (else the body needs 8BITMIME)."""
        if self._data is not None:
            return self._data.isascii()
        return all(chunk.isascii() for chunk in self.chunks())

    def header_is_ascii(self) -> bool:
        """True when the header section is 7-bit (else it needs SMTPUTF8, RFC 6532)."""
        head = self._data if self._data is not None else next(self.chunks(), b"")
        end = head.find(b"\n\r\n")
        if end < 0:
            end = len(head)
        bare = head.find(b"\n\n", 0, end)  # a blank line with a bare LF ends it too
        return head[: end if bare < 0 else bare].isascii()

    def chunks(self, size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield the message in pieces of at most ``size`` octets (files: from the start)."""
        if self._data is not None:
            view = memoryview(self._data)
            for start in range(0, len(view), size):
                yield bytes(view[start : start + size])
            return
        assert self._file is not None
        self._file.seek(self._start)
        while chunk := self._file.read(size):
            yield chunk

    def read_all(self) -> bytes:
        """Return the whole message (for save_to=)."""
        return self._data if self._data is not None else b"".join(self.chunks())

    def close(self) -> None:
        """Close a file this object opened or spooled (a caller's file stays open)."""
        if self._owned and self._file is not None:
            self._file.close()
