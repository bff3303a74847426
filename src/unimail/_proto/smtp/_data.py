"""Message content on the wire: DATA dot-stuffing and BDAT chunks (RFC 5321 4.5.2, RFC 3030).

DATA content ends at the first ``CRLF . CRLF``. SMTP smuggling (2023) abuses servers that
also accept ``LF . LF``, ``CR . CR`` or ``LF . CRLF`` as the end: a client that sends such a
sequence inside a message lets the rest of it be read as a second, forged message. So the
content is made canonical *before* the terminator can be recognised by anyone:

1. every line ending -- CRLF, a bare LF, a bare CR -- becomes CRLF;
2. NUL is refused (RFC 5321 4.5.2 / 2.3.8: it has no place in a text line);
3. a line that starts with ``.`` gets one more ``.`` (transparency, 4.5.2), applied after 1,
   so no line of the content can be a lone ``.`` whatever bytes the message held;
4. the content ends with CRLF (added if missing), then exactly one ``. CRLF`` terminator.

The encoder is incremental: chunks of any size (down to one byte) give the same output as the
whole message at once. A CR at the end of a chunk is held back until the next chunk says
whether an LF follows. All work is done by ``bytes`` methods in C, so a 100 MB message costs a
few passes over each chunk and never more memory than one chunk.

BDAT (CHUNKING) content is length-framed, not terminated: steps 1, 2 and 4 apply (for 7BIT and
8BITMIME bodies, RFC 3030 section 3) but no dot-stuffing; a BINARYMIME body is sent as it is.
"""

from __future__ import annotations

from ..._errors import InvalidArgument

__all__ = ["TERMINATOR", "ContentEncoder", "canonical", "canonical_size_estimate", "dot_stuff"]

TERMINATOR = b".\r\n"

# Every octet but CR and LF, for bytes.translate(None, delete).
_NOT_CR_LF = bytes(octet for octet in range(256) if octet not in (0x0A, 0x0D))


class ContentEncoder:
    """Turn message bytes into canonical content, chunk by chunk.

    Args:
        dot_stuffing: True for DATA (stuff leading dots and end with the terminator), False
            for BDAT (only line endings and NUL).
    """

    def __init__(self, *, dot_stuffing: bool = True) -> None:
        """Start a new message."""
        self._stuff = dot_stuffing
        self._held_cr = False  # the previous chunk ended with CR: maybe half of a CRLF
        self._at_line_start = True  # the output so far ends with CRLF (or is empty)
        self._finished = False
        self.octets_in = 0

    def feed(self, chunk: bytes | bytearray | memoryview) -> bytes:
        """Return the canonical form of ``chunk`` (possibly empty; a trailing CR is held).

        Raises:
            InvalidArgument: the chunk holds NUL (nothing of it is returned).
        """
        if self._finished:
            raise InvalidArgument("the message content is already finished")
        data = bytes(chunk)
        if not data:
            return b""
        self.octets_in += len(data)
        if b"\0" in data:
            raise InvalidArgument("the message contains a NUL byte, which SMTP cannot carry")
        if self._held_cr:
            data = b"\r" + data
            self._held_cr = False
        if data.endswith(b"\r"):
            data = data[:-1]
            self._held_cr = True
            if not data:
                return b""
        return self._encode(data)

    def _encode(self, data: bytes) -> bytes:
        # The data is canonical exactly when every CR and every LF belongs to a CRLF pair.
        # Two read-only passes (the CR and LF octets alone, then the pairs) decide it, and
        # data that is already canonical (the usual case) is not copied.
        endings = data.translate(None, _NOT_CR_LF)
        pairs = data.count(b"\r\n") if endings else 0
        if pairs * 2 != len(endings) or endings.count(b"\r") != pairs:
            if b"\r" in endings:
                data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            data = data.replace(b"\n", b"\r\n")
        if self._stuff:
            data = data.replace(b"\n.", b"\n..")  # the same object when there is no match
            if self._at_line_start and data.startswith(b"."):
                data = b"." + data
        self._at_line_start = data.endswith(b"\n")
        return data

    def finish(self) -> bytes:
        """Return the rest: a held CR as CRLF, a final CRLF if missing, and the terminator."""
        if self._finished:
            return b""
        self._finished = True
        tail = b""
        if self._held_cr:
            tail, self._held_cr, self._at_line_start = b"\r\n", False, True
        if not self._at_line_start:
            tail += b"\r\n"
        return tail + TERMINATOR if self._stuff else tail


def canonical(message: bytes, *, dot_stuffing: bool = True) -> bytes:
    """Return the whole content of ``message`` at once, as :class:`ContentEncoder` would.

    Most messages are canonical already (CRLF line endings that end the message, no line
    starting with ``.``): they are recognised by a few passes of C code (``count`` and ``in``,
    no copy) and go out as they are, plus the terminator for DATA. Any other message goes
    through the encoder, so the output is the same byte for byte.

    Raises:
        InvalidArgument: ``message`` holds NUL.
    """
    if b"\0" in message:
        raise InvalidArgument("the message contains a NUL byte, which SMTP cannot carry")
    pairs = message.count(b"\r\n")
    if (
        pairs
        and message.endswith(b"\r\n")
        and message.count(b"\n") == pairs
        and message.count(b"\r") == pairs
    ):
        if not dot_stuffing:
            return message
        if not message.startswith(b".") and b"\n." not in message:
            return message + TERMINATOR
    encoder = ContentEncoder(dot_stuffing=dot_stuffing)
    return encoder.feed(message) + encoder.finish()


def dot_stuff(message: bytes) -> bytes:
    """Return the whole DATA content of ``message``: canonical, dot-stuffed, terminated.

    Raises:
        InvalidArgument: ``message`` holds NUL.
    """
    return canonical(message)


def canonical_size_estimate(message: bytes) -> int:
    """The size of ``message`` with CRLF line endings (for SIZE=, RFC 1870), without stuffing."""
    return len(message) + message.count(b"\n") - message.count(b"\r\n")
