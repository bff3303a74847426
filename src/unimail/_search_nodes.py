"""The nodes of the query tree: one frozen class per kind of search key, and AND, OR, NOT.

Every node subclasses :class:`~unimail.Q` (``_search``), whose constructors and operators build
them, and defines how it is written as IMAP search keys (``_keys``), how it is evaluated on the
client (``_match``, on a ``_search_eval.View``), how it prints as the Python expression that
builds it (``_repr``) and which message fields it reads (``needs``). The grammar the keys follow
is quoted in ``_search``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator

import attrs

from ._models import FetchField, Flag
from ._proto.imap._wire import Arg, Atom, SequenceSet
from ._search import Q
from ._search_eval import View, fold

__all__ = ["_All", "_And", "_Content", "_Date", "_Flag", "_Header", "_Not", "_Or", "_Size", "_Uid"]

# Constructor names of the header keys, for repr().
_HEADER_KEYS = {"SUBJECT": "subject", "FROM": "sender", "TO": "to", "CC": "cc", "BCC": "bcc"}
# Constructor names of set / unset system flags, for repr(); ``None``: written as ``~Q.x()``.
_FLAG_NAMES: dict[str, tuple[str, str | None]] = {
    Flag.SEEN: ("seen", "unseen"),
    Flag.FLAGGED: ("flagged", "unflagged"),
    Flag.ANSWERED: ("answered", "unanswered"),
    Flag.DELETED: ("deleted", None),
    Flag.DRAFT: ("draft", None),
}


def _in_parens(child: Q, *kinds: type[Q]) -> str:
    return f"({child._repr()})" if isinstance(child, kinds) else child._repr()


# -- leaves -----------------------------------------------------------------------------------


@attrs.frozen(repr=False)
class _All(Q):
    def _keys(self) -> list[Arg]:
        return [Atom("ALL")]

    def _match(self, view: View) -> bool:
        return True

    def _repr(self) -> str:
        return "Q.all()"


@attrs.frozen(repr=False)
class _Header(Q):
    key: str  # SUBJECT, FROM, TO, CC, BCC or HEADER
    name: str
    value: str

    def _keys(self) -> list[Arg]:
        if self.key == "HEADER":
            return [Atom("HEADER"), self.name, self.value]
        return [Atom(self.key), self.value]

    def _match(self, view: View) -> bool:
        name, text = fold(self.name), fold(self.value)
        return any(n == name and text in value for n, value in view.headers())

    def _repr(self) -> str:
        if self.key == "HEADER":
            return f"Q.header({self.name!r}, {self.value!r})"
        return f"Q.{_HEADER_KEYS[self.key]}({self.value!r})"

    def _texts(self) -> Iterator[str]:
        yield self.value

    def needs(self) -> FetchField:
        return FetchField.HEADERS


@attrs.frozen(repr=False)
class _Content(Q):
    key: str  # BODY or TEXT
    value: str

    def _keys(self) -> list[Arg]:
        return [Atom(self.key), self.value]

    def _match(self, view: View) -> bool:
        text = fold(self.value)
        if self.key == "TEXT" and any(text in f"{n}: {v}" for n, v in view.headers()):
            return True
        return text in view.body()

    def _repr(self) -> str:
        return f"Q.{self.key.lower()}({self.value!r})"

    def _texts(self) -> Iterator[str]:
        yield self.value

    def needs(self) -> FetchField:
        if self.key == "TEXT":
            return FetchField.HEADERS | FetchField.BODY
        return FetchField.BODY


@attrs.frozen(repr=False)
class _Flag(Q):
    flag: str  # a Flag, or a keyword
    present: bool

    def _keys(self) -> list[Arg]:
        prefix = "" if self.present else "UN"
        if isinstance(self.flag, Flag):
            return [Atom(prefix + self.flag.value[1:].upper())]
        return [Atom(prefix + "KEYWORD"), Atom(self.flag)]

    def _match(self, view: View) -> bool:
        capability = "FLAGS" if isinstance(self.flag, Flag) else "KEYWORDS"
        return view.has_flag(self.flag, capability) == self.present

    def _repr(self) -> str:
        if not isinstance(self.flag, Flag):
            call = f"Q.keyword({self.flag!r})"
            return call if self.present else f"~{call}"
        positive, negative = _FLAG_NAMES[self.flag]
        if self.present:
            return f"Q.{positive}()"
        return f"Q.{negative}()" if negative else f"~Q.{positive}()"

    def __invert__(self) -> Q:
        return _Flag(self.flag, not self.present)

    def needs(self) -> FetchField:
        return FetchField.FLAGS


@attrs.frozen(repr=False)
class _Date(Q):
    key: str  # SINCE, BEFORE or ON
    date: datetime.date

    def _keys(self) -> list[Arg]:
        return [Atom(self.key), self.date]

    def _match(self, view: View) -> bool:
        date = view.date()
        if self.key == "SINCE":
            return date >= self.date
        return date < self.date if self.key == "BEFORE" else date == self.date

    def _repr(self) -> str:
        return f"Q.{self.key.lower()}({self.date!r})"

    def needs(self) -> FetchField:
        return FetchField.INTERNALDATE


@attrs.frozen(repr=False)
class _Size(Q):
    key: str  # LARGER or SMALLER
    size: int

    def _keys(self) -> list[Arg]:
        return [Atom(self.key), self.size]

    def _match(self, view: View) -> bool:
        size = view.size()
        return size > self.size if self.key == "LARGER" else size < self.size

    def _repr(self) -> str:
        return f"Q.{self.key.lower()}({self.size})"

    def needs(self) -> FetchField:
        return FetchField.SIZE


@attrs.frozen(repr=False)
class _Uid(Q):
    uids: tuple[int, ...]  # sorted, unique

    def _keys(self) -> list[Arg]:
        return [Atom("UID"), SequenceSet.of(self.uids)]

    def _match(self, view: View) -> bool:
        return view.uid_in(self.uids)

    def _repr(self) -> str:
        return f"Q.uid({list(self.uids)})"

    def needs(self) -> FetchField:
        return FetchField.UID


# -- operators --------------------------------------------------------------------------------


@attrs.frozen(repr=False)
class _Branch(Q):
    """What ``_And`` and ``_Or`` share: two or more children, none of the node's own kind."""

    children: tuple[Q, ...]
    depth: int = attrs.field(eq=False)

    def _texts(self) -> Iterator[str]:
        return (text for child in self.children for text in child._texts())

    def _depth(self) -> int:
        return self.depth

    def needs(self) -> FetchField:
        return _union(self.children)


@attrs.frozen(repr=False)
class _And(_Branch):
    def _keys(self) -> list[Arg]:
        return [arg for child in self.children for arg in child._key()]

    def _key(self) -> list[Arg]:
        return [self._keys()]  # several keys as one: "(" search-key *(SP search-key) ")"

    def _match(self, view: View) -> bool:
        return all(child._match(view) for child in self.children)

    def _repr(self) -> str:
        return " & ".join(_in_parens(child, _Or) for child in self.children)


@attrs.frozen(repr=False)
class _Or(_Branch):
    def _keys(self) -> list[Arg]:
        # OR takes two keys: a | b | c is written OR a OR b c.
        args: list[Arg] = []
        for child in self.children[:-1]:
            args += [Atom("OR"), *child._key()]
        return args + self.children[-1]._key()

    def _match(self, view: View) -> bool:
        return any(child._match(view) for child in self.children)

    def _repr(self) -> str:
        return " | ".join(_in_parens(child, _And) for child in self.children)


@attrs.frozen(repr=False)
class _Not(Q):
    child: Q
    depth: int = attrs.field(eq=False)

    def _keys(self) -> list[Arg]:
        return [Atom("NOT"), *self.child._key()]

    def _match(self, view: View) -> bool:
        return not self.child._match(view)

    def _repr(self) -> str:
        return "~" + _in_parens(self.child, _And, _Or)

    def __invert__(self) -> Q:
        return self.child

    def _texts(self) -> Iterator[str]:
        return self.child._texts()

    def _depth(self) -> int:
        return self.depth

    def needs(self) -> FetchField:
        return self.child.needs()


def _union(children: Iterable[Q]) -> FetchField:
    fields = FetchField(0)
    for child in children:
        fields |= child.needs()
    return fields
