"""The IMAP parsers build ``MessageInfo``, ``Envelope``, ``Address``, ``BodyPart`` and their own
``Response`` and ``FetchData`` with ``assemble``, without the constructors: each value must be
the one the constructor would make.

A field added to a model and not to a parser, or a list left where the constructor's
converter makes a tuple, fails here.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import pytest
from benchmarks._corpus import fetch_stream

from tests.test_imap_bodystructure_real import _corpus_structures, _structure_files
from tests.test_imap_raw import _answer
from unimail import Address, BodyPart, Envelope, MessageInfo
from unimail._proto._assemble import assemble
from unimail._proto.imap._bodystructure import parse_bodystructure
from unimail._proto.imap._fetch import FetchData, fetch_data
from unimail._proto.imap._parser import Response


def _values(value: object) -> Iterator[object]:
    """``value`` and every model value inside it."""
    if isinstance(value, MessageInfo):
        yield value
        yield from _values(value.envelope)
        yield from _values(value.body_structure)
    elif isinstance(value, BodyPart):
        yield value
        yield from _values(value.envelope)
        for child in value.children:
            yield from _values(child)
    elif isinstance(value, Envelope):
        yield value
        for field in ("from_", "sender", "reply_to", "to", "cc", "bcc"):
            yield from getattr(value, field)
    elif isinstance(value, Address):
        yield value


def _assert_as_constructed(value: object) -> None:
    cls = type(value)
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    assert set(vars(value)) == set(names)
    again = cls(**vars(value))  # the converters run here
    assert vars(again) == vars(value)
    for name in names:  # equal is not enough: a list equals no tuple, but say both kinds
        assert type(getattr(again, name)) is type(getattr(value, name)), name
    assert again == value and repr(again) == repr(value)
    if cls in (MessageInfo, Envelope, BodyPart, Address):  # Response and FetchData hold lists
        assert hash(again) == hash(value)


def test_fetched_values_are_as_constructed() -> None:
    data = fetch_stream(300)
    kinds: set[type] = set()
    parts = 0
    for response in _answer(data[: data.rindex(b"A1 OK")]):
        assert isinstance(response, Response)
        fetched = fetch_data(response)
        for value in (response, fetched, *_values(fetched.message_info())):
            _assert_as_constructed(value)
            kinds.add(type(value))
            parts += isinstance(value, BodyPart)
    assert kinds == {Response, FetchData, MessageInfo, Envelope, BodyPart, Address}
    assert parts > 600  # multiparts, nested messages: not only single parts


def test_corpus_structures_are_as_constructed() -> None:
    files = _structure_files()
    if not files:
        pytest.fail("the MailKit corpus is missing", pytrace=False)
    count = 0
    for path in files:
        for structure in _corpus_structures(path):
            for value in _values(parse_bodystructure(structure)):
                _assert_as_constructed(value)
                count += 1
    assert count >= 130  # 60 structures and their parts, envelopes


def test_assemble_needs_every_field() -> None:
    # No default is filled in: a field left out is missing, not silently None.
    envelope = assemble(Envelope, {"subject": "hi"})
    with pytest.raises(AttributeError):
        _ = envelope.date
