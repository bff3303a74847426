"""Framing of POP3 replies: status lines, and multi-line bodies with dot-unstuffing.

RFC 1939 section 3: "Responses to certain commands are multi-line. In these cases [...] each
line is terminated by a CRLF pair. When all lines of the response have been sent, a final line
is sent, consisting of a termination octet (decimal code 046, ".") and a CRLF pair. If any line
of the multi-line response begins with the termination octet, the line is "byte-stuffed" by
pre-pending the termination octet to that line of the response." And for the client: "If so
and if octets other than CRLF follow, the first octet of the line (the termination octet) is
stripped away. If so and if CRLF immediately follows the termination character, then the
response from the POP server is ended".

So a body ends only at CRLF "." CRLF (the CRLF before the dot may be the one that ended the
status line). A line starts only after a CRLF: a "." after a bare LF is data, and so is a "."
line ended by a bare LF (``".\\n"`` has octets other than CRLF after the dot: the dot is
stripped and the LF kept).

Speed matters here (a mailbox of thousands of messages goes through this function): instead
of looking at every line, it searches the buffer for ``CRLF "."``, the only place where
anything but copying happens, and copies the runs in between in one slice each.
"""

from __future__ import annotations

from ..._errors import LimitExceeded

__all__ = ["take_status_line", "unstuff"]

_DOT = 0x2E
_CR = 0x0D
_LF = 0x0A


def take_status_line(buffer: bytearray, max_length: int) -> bytes | None:
    """Remove and return the first line of ``buffer`` (up to its LF), or ``None`` if the line
    is not complete yet.

    Raises:
        LimitExceeded: the line is longer than ``max_length`` (checked before its end arrives).
    """
    end = buffer.find(b"\n")
    if end < 0:
        if len(buffer) > max_length + 1:
            raise LimitExceeded(f"reply line longer than max_line_length ({max_length})")
        return None
    if end > max_length + 1:
        raise LimitExceeded(f"reply line longer than max_line_length ({max_length})")
    line = bytes(buffer[: end + 1])
    del buffer[: end + 1]
    return line


def unstuff(buffer: bytearray, at_line_start: bool) -> tuple[bytes, int, bool, bool]:
    """Decode the bytes of a multi-line body that ``buffer`` holds, as far as possible.

    Args:
        buffer: received bytes, starting where the previous call stopped.
        at_line_start: True when ``buffer[0]`` begins a line (after the status line's CRLF or
            a CRLF of the body).

    Returns:
        ``(data, consumed, at_line_start, ended)``: the unstuffed body bytes decoded now, how
        many bytes of ``buffer`` they used (the caller removes them), whether the next byte
        begins a line, and whether the terminating ``.CRLF`` was consumed (then the bytes after
        ``consumed`` belong to the next reply). Bytes that cannot be decided yet (a trailing
        CR, or a "." at a line start that may be the terminator) are left in ``buffer``.
    """
    size = len(buffer)
    pos = 0
    pieces: list[bytearray] = []
    while True:
        if at_line_start:
            if pos >= size:
                break
            if buffer[pos] == _DOT:
                left = size - pos
                if left >= 3 and buffer[pos + 1] == _CR and buffer[pos + 2] == _LF:
                    return b"".join(pieces), pos + 3, False, True
                if left == 1 or (left == 2 and buffer[pos + 1] == _CR):
                    break  # ".", ".\r": maybe the terminator; wait for more
                pos += 1  # a byte-stuffed line: strip the termination octet
            at_line_start = False
        hit = buffer.find(b"\r\n.", pos)
        if hit < 0:
            if buffer.endswith(b"\r\n"):
                end, at_line_start = size, True
            elif buffer.endswith(b"\r"):
                end = size - 1  # maybe half a CRLF: decide when the LF arrives
            else:
                end = size
            if end > pos:
                pieces.append(buffer[pos:end])
            pos = max(pos, end)
            break
        pieces.append(buffer[pos : hit + 2])
        pos = hit + 2
        at_line_start = True
    return b"".join(pieces), pos, at_line_start, False
