"""POP3 command lines, validated before anything is sent (RFC 1939 section 3, RFC 2449).

RFC 1939 section 3: "Commands in the POP3 consist of a case-insensitive keyword, possibly
followed by one or more arguments. All commands are terminated by a CRLF pair. Keywords and
arguments consist of printable ASCII characters. Keywords and arguments are each separated by
a single SPACE character." RFC 2449 section 4 raises the limits: a keyword is 3 or 4
characters, an argument at most 40 characters, and a whole command line at most 255 octets.

PASS and USER are exceptions in practice: their one argument is the whole rest of the line
(RFC 1939 section 13: "a POP3 server may treat spaces in the argument as part of the
password"), and passwords are UTF-8 on modern servers. What can never be sent is CR, LF or
NUL: they would end the command early and inject another one.
"""

from __future__ import annotations

import hashlib

import attrs

from ..._errors import InvalidArgument
from ..._validate import check_wire_text

__all__ = ["MAX_COMMAND_LINE", "Command", "apop_digest", "message_number"]

#: RFC 2449 section 4: "the maximum length of a command line is 255 octets, including the
#: terminating CRLF".
MAX_COMMAND_LINE = 255

#: RFC 2449 section 4: "Each argument may be up to 40 characters long."
_MAX_ARGUMENT = 40

# Commands whose arguments are numbers.
_NUMBERED = frozenset({"RETR", "TOP", "DELE", "LIST", "UIDL"})

# Commands whose single argument is the rest of the line (it may hold spaces, and UTF-8).
_FREE_TEXT = frozenset({"USER", "PASS"})


@attrs.frozen
class Command:
    """One command, ready to be written.

    Attributes:
        name: the keyword, upper case (``"RETR"``).
        args: the arguments, already validated.
        secret: the arguments are credentials: the trace must show them redacted.
    """

    name: str
    args: tuple[str, ...] = ()
    secret: bool = False

    @classmethod
    def make(cls, name: str, *args: str | int, secret: bool = False) -> Command:
        """Validate and build a command.

        Raises:
            InvalidArgument: CR, LF or NUL in an argument; a space in an argument of a
                command other than USER and PASS; an empty argument; a non-ASCII argument of a
                command other than USER and PASS; or a line longer than 255 octets.
        """
        name = check_wire_text(name, "POP3 command").upper()
        if not (3 <= len(name) <= 4 and name.isascii() and name.isalpha()):
            raise InvalidArgument(f"{name!r} is not a POP3 command keyword")
        checked: list[str] = []
        for arg in args:
            what = f"{name} argument"
            if isinstance(arg, bool):
                raise InvalidArgument(f"{what} cannot be a bool")
            text = str(arg) if isinstance(arg, int) else arg
            check_wire_text(text, what)  # also rejects a non-str
            if not text:
                raise InvalidArgument(f"{what} cannot be empty")
            if name not in _FREE_TEXT:
                if " " in text or not text.isascii() or not text.isprintable():
                    raise InvalidArgument(f"{what} must be printable ASCII without spaces")
                if len(text) > _MAX_ARGUMENT and name != "AUTH":
                    raise InvalidArgument(f"{what} is longer than {_MAX_ARGUMENT} characters")
            checked.append(text)
        command = cls(name, tuple(checked), secret)
        if len(command.encode()) > MAX_COMMAND_LINE:
            raise InvalidArgument(f"{name} command line is longer than {MAX_COMMAND_LINE} octets")
        return command

    @classmethod
    def numbered(cls, name: str, *numbers: int) -> Command:
        """Build a command whose arguments are message numbers and counts (RETR, TOP, DELE,
        LIST n, UIDL n): the cheap path for the thousands of them a mailbox can need.

        Raises:
            InvalidArgument: an argument is not a non-negative int.
        """
        for number in numbers:
            if isinstance(number, bool) or not isinstance(number, int) or number < 0:
                raise InvalidArgument(f"{name} takes non-negative ints, not {number!r}")
        if name not in _NUMBERED:
            raise InvalidArgument(f"{name!r} does not take message numbers")
        return cls(name, tuple(map(str, numbers)))

    def encode(self) -> bytes:
        """Return the command line, CRLF included."""
        return " ".join((self.name, *self.args)).encode("utf-8") + b"\r\n"

    def redacted(self) -> bytes | None:
        """Return what the protocol trace shows instead of the line, or ``None`` to show it."""
        if not self.secret:
            return None
        # AUTH's mechanism and APOP's user name are no secrets, and they help reading a trace.
        shown = (self.name, self.args[0]) if len(self.args) > 1 else (self.name,)
        return " ".join((*shown, "***\r\n")).encode()


def message_number(value: int) -> int:
    """Return ``value`` if it is a valid message number (RFC 1939: 1 and up).

    Raises:
        InvalidArgument: not a positive int.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"a POP3 message number is an int from 1, not {value!r}")
    return value


def apop_digest(timestamp: bytes, password: str) -> str:
    """Return the APOP digest: MD5 of the greeting's timestamp followed by the password.

    RFC 1939 section 7: ``APOP name digest``, where digest is the lower-case hex MD5 of the
    timestamp (angle brackets included) concatenated with the shared secret.
    """
    # MD5 is what RFC 1939 prescribes; APOP is only used when nothing better is offered.
    digest = hashlib.md5(timestamp + password.encode("utf-8"), usedforsecurity=False)
    return digest.hexdigest()
