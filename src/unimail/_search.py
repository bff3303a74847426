"""The query tree ``Q``: built once, sent as IMAP SEARCH keys or evaluated on the client.

``Q.unseen() & Q.sender("bob")`` is a tree of frozen values. :meth:`Q.to_imap` writes it as
the search keys of RFC 9051 section 6.4.4 (in the argument types of ``_proto/imap/_wire``);
:meth:`Q.matches` evaluates it in Python (``_search_eval``) for POP3 and Maildir::

    search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date /
                 "BODY" SP astring / "CC" SP astring / "DELETED" / "FLAGGED" /
                 "FROM" SP astring / "KEYWORD" SP flag-keyword / "NOT" SP search-key /
                 "ON" SP date / "OR" SP search-key SP search-key / "SEEN" /
                 "SINCE" SP date / "SUBJECT" SP astring / "TEXT" SP astring /
                 "TO" SP astring / "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
                 "UNKEYWORD" SP flag-keyword / "UNSEEN" / "DRAFT" / "UNDRAFT" /
                 "HEADER" SP header-fld-name SP astring / "LARGER" SP number64 /
                 "SMALLER" SP number64 / "UID" SP sequence-set /
                 "(" search-key *(SP search-key) ")"

AND is juxtaposition. NOT and OR are prefix operators over single search-keys, so they never
need parentheses themselves (``OR a OR b c``, ``NOT OR a b``); only an AND of several keys
inside NOT or OR is parenthesised (``NOT (a b)``).

Every argument is checked when the node is built, so a query that exists can be sent.

The node classes the constructors and operators build are in ``_search_nodes``.
"""

from __future__ import annotations

import abc
import datetime
from collections.abc import Iterable, Iterator

import attrs

from ._errors import InvalidArgument
from ._models import FetchField, Flag
from ._proto.imap._wire import Arg
from ._search_eval import Candidate, View
from ._validate import check_wire_text

__all__ = ["Candidate", "Q"]

# How deeply &, | and ~ may nest. It bounds recursion and keeps the parenthesised lists of
# to_imap() within what _wire.serialize accepts (an AND is parenthesised only below an OR or
# a NOT, so 32 levels give at most 16 nested lists). Real queries nest a handful of levels.
MAX_DEPTH = 32

# flag-keyword = atom; ATOM-CHAR excludes atom-specials: ( ) { SP CTL % * " \ ]
_ATOM_SPECIALS = frozenset('(){ %*"\\]')


@attrs.frozen(repr=False)
class Q(abc.ABC):
    """A search query: build it with the constructors below, combine with ``&``, ``|``, ``~``.

    Queries are immutable, hashable and compare by structure; ``a & b & c`` is one AND of three
    terms. Arguments are validated when a query is built: a bad one raises
    :class:`~unimail.InvalidArgument` (a ``ValueError``) before anything is sent. Python's
    ``and``, ``or`` and ``not`` do not combine queries; ``bool(q)`` raises ``TypeError``.
    """

    # -- constructors -------------------------------------------------------------------------

    @staticmethod
    def all() -> Q:
        """Every message (``ALL``)."""
        return _All()

    @staticmethod
    def subject(text: str) -> Q:
        """Messages whose Subject contains ``text`` (case-insensitive, decoded)."""
        return _Header("SUBJECT", "Subject", check_wire_text(text, "Q.subject() text"))

    @staticmethod
    def sender(text: str) -> Q:
        """Messages whose From field (names and addresses) contains ``text`` (IMAP ``FROM``)."""
        return _Header("FROM", "From", check_wire_text(text, "Q.sender() text"))

    @staticmethod
    def to(text: str) -> Q:
        """Messages whose To field (names and addresses) contains ``text``."""
        return _Header("TO", "To", check_wire_text(text, "Q.to() text"))

    @staticmethod
    def cc(text: str) -> Q:
        """Messages whose Cc field (names and addresses) contains ``text``."""
        return _Header("CC", "Cc", check_wire_text(text, "Q.cc() text"))

    @staticmethod
    def bcc(text: str) -> Q:
        """Messages whose Bcc field (names and addresses) contains ``text``."""
        return _Header("BCC", "Bcc", check_wire_text(text, "Q.bcc() text"))

    @staticmethod
    def header(name: str, text: str) -> Q:
        """Messages with a header field ``name`` containing ``text``; ``""``: the field exists.

        Raises:
            InvalidArgument: ``name`` is not an RFC 5322 field name (printable ASCII without
                ``:`` or space), or ``text`` is not a ``str`` or holds CR, LF or NUL.
        """
        if not isinstance(name, str) or not name or any(c not in _FTEXT for c in name):
            raise InvalidArgument(f"Q.header() name {name!r} is not a header field name")
        return _Header("HEADER", name, check_wire_text(text, "Q.header() text"))

    @staticmethod
    def body(text: str) -> Q:
        """Messages whose body (the decoded text of its ``text/*`` parts) contains ``text``."""
        return _Content("BODY", check_wire_text(text, "Q.body() text"))

    @staticmethod
    def text(text: str) -> Q:
        """Messages whose header fields or body contain ``text``."""
        return _Content("TEXT", check_wire_text(text, "Q.text() text"))

    @staticmethod
    def seen() -> Q:
        """Messages with the ``\\Seen`` flag."""
        return _Flag(Flag.SEEN, True)

    @staticmethod
    def unseen() -> Q:
        """Messages without the ``\\Seen`` flag."""
        return _Flag(Flag.SEEN, False)

    @staticmethod
    def flagged() -> Q:
        """Messages with the ``\\Flagged`` flag."""
        return _Flag(Flag.FLAGGED, True)

    @staticmethod
    def unflagged() -> Q:
        """Messages without the ``\\Flagged`` flag."""
        return _Flag(Flag.FLAGGED, False)

    @staticmethod
    def answered() -> Q:
        """Messages with the ``\\Answered`` flag."""
        return _Flag(Flag.ANSWERED, True)

    @staticmethod
    def unanswered() -> Q:
        """Messages without the ``\\Answered`` flag."""
        return _Flag(Flag.ANSWERED, False)

    @staticmethod
    def deleted() -> Q:
        """Messages with the ``\\Deleted`` flag (``~Q.deleted()`` for those without)."""
        return _Flag(Flag.DELETED, True)

    @staticmethod
    def draft() -> Q:
        """Messages with the ``\\Draft`` flag (``~Q.draft()`` for those without)."""
        return _Flag(Flag.DRAFT, True)

    @staticmethod
    def keyword(keyword: str) -> Q:
        """Messages with the keyword ``keyword`` (case-insensitive), e.g. ``"$Junk"``.

        Raises:
            InvalidArgument: ``keyword`` is not an IMAP atom, or is a system flag (``\\Seen``:
                use :meth:`seen` and its siblings).
        """
        if isinstance(keyword, str) and keyword.startswith("\\"):
            raise InvalidArgument(
                f"Q.keyword({keyword!r}): system flags have their own constructors (Q.seen())"
            )
        if (
            not isinstance(keyword, str)
            or not keyword
            or any(not "!" <= c <= "~" or c in _ATOM_SPECIALS for c in keyword)
        ):
            raise InvalidArgument(f"Q.keyword() keyword {keyword!r} is not an IMAP atom")
        return _Flag(keyword, True)

    @staticmethod
    def since(date: datetime.date) -> Q:
        """Messages whose internal date is on or after ``date`` (a datetime: its date)."""
        return _Date("SINCE", _date(date, "Q.since()"))

    @staticmethod
    def before(date: datetime.date) -> Q:
        """Messages whose internal date is before ``date`` (a datetime: its date)."""
        return _Date("BEFORE", _date(date, "Q.before()"))

    @staticmethod
    def on(date: datetime.date) -> Q:
        """Messages whose internal date is ``date`` (a datetime: its date)."""
        return _Date("ON", _date(date, "Q.on()"))

    @staticmethod
    def larger(size: int) -> Q:
        """Messages of more than ``size`` bytes."""
        return _Size("LARGER", _size(size, "Q.larger()"))

    @staticmethod
    def smaller(size: int) -> Q:
        """Messages of fewer than ``size`` bytes."""
        return _Size("SMALLER", _size(size, "Q.smaller()"))

    @staticmethod
    def uid(uids: int | Iterable[int]) -> Q:
        """Messages whose uid is ``uids`` (one int) or one of ``uids``.

        Raises:
            InvalidArgument: the set is empty or holds something other than an int in
                1 .. 2**32-1.
        """
        items = [uids] if isinstance(uids, int) else uids
        if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
            raise InvalidArgument(f"Q.uid() takes ints, not {type(uids).__name__}")
        values = list(items)
        for uid in values:
            if isinstance(uid, bool) or not isinstance(uid, int) or not 0 < uid < 2**32:
                raise InvalidArgument(f"Q.uid(): {uid!r} is not a uid (1 .. 4294967295)")
        if not values:
            raise InvalidArgument("Q.uid() needs at least one uid")
        return _Uid(tuple(sorted(set(values))))

    # -- combining ----------------------------------------------------------------------------

    def __and__(self, other: Q) -> Q:
        if not isinstance(other, Q):
            return NotImplemented
        return _And(*_flat(_And, self, other))

    def __or__(self, other: Q) -> Q:
        if not isinstance(other, Q):
            return NotImplemented
        return _Or(*_flat(_Or, self, other))

    def __invert__(self) -> Q:
        return _Not(self, _height([self]))

    def __bool__(self) -> bool:
        raise TypeError("a query has no truth value: combine queries with &, | and ~")

    def __repr__(self) -> str:
        return self._repr()

    # -- using --------------------------------------------------------------------------------

    def to_imap(self) -> list[Arg]:
        """Return the IMAP SEARCH keys of this query (RFC 9051 section 6.4.4).

        The list goes after ``UID SEARCH`` (and ``CHARSET UTF-8`` when :meth:`needs_utf8` and
        the server has not enabled UTF8=ACCEPT); ``_wire.serialize`` writes it.
        """
        return self._keys()

    def needs_utf8(self) -> bool:
        """Return True when some text of the query is not ASCII."""
        return any(not t.isascii() for t in self._texts())

    def needs(self) -> FetchField:
        """Return what :meth:`matches` reads: ``FLAGS``, ``SIZE``, ``INTERNALDATE``, ``UID``,
        ``HEADERS``, ``BODY``; the empty ``FetchField(0)`` for ``Q.all()``."""
        return FetchField(0)

    def needs_body(self) -> bool:
        """Return True when the query looks at message bodies (BODY or TEXT), so that
        :meth:`matches` needs whole messages and not only their headers."""
        return FetchField.BODY in self.needs()

    def matches(self, candidate: Candidate) -> bool:
        """Return whether ``candidate`` matches, evaluated in Python as an IMAP server would.

        Raises:
            UnsupportedOperation: the query needs a field the candidate lacks (``None``);
                its ``capability`` names it (``"FLAGS"``, ``"KEYWORDS"``, ``"SIZE"``,
                ``"INTERNAL_DATE"``, ``"HEADERS"``, ``"BODY"``, ``"UID"``).
        """
        return self._match(View(candidate))

    # -- what each node defines ---------------------------------------------------------------

    @abc.abstractmethod
    def _keys(self) -> list[Arg]: ...

    @abc.abstractmethod
    def _match(self, view: View) -> bool: ...

    @abc.abstractmethod
    def _repr(self) -> str: ...

    def _key(self) -> list[Arg]:
        """Return this query as one search-key (an operand of NOT or OR)."""
        return self._keys()

    def _texts(self) -> Iterator[str]:
        return iter(())

    def _depth(self) -> int:
        return 0


_FTEXT = frozenset(chr(c) for c in range(33, 127)) - {":"}  # RFC 5322 section 3.6.8


def _date(value: datetime.date, what: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if not isinstance(value, datetime.date):
        raise InvalidArgument(f"{what} takes a datetime.date, not {type(value).__name__}")
    return value


def _size(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidArgument(f"{what} takes a size in bytes (an int >= 0), not {value!r}")
    return value


def _height(children: Iterable[Q]) -> int:
    height = 1 + max(child._depth() for child in children)
    if height > MAX_DEPTH:
        raise InvalidArgument(f"the query nests more than {MAX_DEPTH} levels deep")
    return height


def _flat(kind: type[_And | _Or], a: Q, b: Q) -> tuple[tuple[Q, ...], int]:
    children = (*(a.children if isinstance(a, kind) else (a,)),)
    children += b.children if isinstance(b, kind) else (b,)
    return children, _height(children)


# The nodes subclass Q, so their module can only run once Q exists; Q's constructors and
# operators use them only when called. Importing any submodule runs unimail/__init__.py first,
# which imports this module (never _search_nodes directly): the nodes find Q complete here.
from ._search_nodes import (  # noqa: E402
    _All,
    _And,
    _Content,
    _Date,
    _Flag,
    _Header,
    _Not,
    _Or,
    _Size,
    _Uid,
)
