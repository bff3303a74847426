"""Dates in ENVELOPE: the fast path by position reads exactly what the regex and the standard
library read, and refuses what they refuse."""

from __future__ import annotations

import datetime
import email.utils

from hypothesis import given, settings
from hypothesis import strategies as st

from unimail._proto.imap._envelope import _date, date_loosely

_ZONES = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)


@given(st.datetimes(min_value=datetime.datetime(1000, 1, 1), timezones=_ZONES))
def test_usual_dates_are_read_as_the_standard_library_reads_them(moment: datetime.datetime) -> None:
    moment = moment.replace(microsecond=0)
    text = email.utils.format_datetime(moment)  # "Tue, 01 Oct 2024 00:00:07 +0200"
    assert _date(text) == moment == email.utils.parsedate_to_datetime(text)
    assert _date(text).utcoffset() == moment.utcoffset()  # type: ignore[union-attr]


# Every position of "Tue, 01 Oct 2024 00:00:07 +0200" changed to bytes that look alike.
_TEMPLATE = "Tue, 01 Oct 2024 00:00:07 +0200"
_LOOKALIKES = st.sampled_from(
    [*"0123456789 ,:+-.TZzOoc\té", "\u0661", "\uff11", "Feb", "Mon", "Jan"]
)


@settings(max_examples=1000)
@given(st.lists(st.tuples(st.integers(0, 30), _LOOKALIKES), max_size=4))
def test_odd_dates_are_read_as_without_the_fast_path(changes: list[tuple[int, str]]) -> None:
    chars = list(_TEMPLATE)
    for position, char in changes:
        chars[position] = char
    text = "".join(chars)
    assert _date(text) == date_loosely(text)


def test_hour_24_is_refused_as_the_regex_refuses_it() -> None:
    assert _date("Tue, 01 Oct 2024 24:00:00 +0200") is None
    assert _date("Tue, 01 Oct 2024 23:59:59 +0200") is not None
