"""RFC 2047 encoded words: the fast decoder agrees with the standard library."""

from __future__ import annotations

import email.header

import pytest
from hypothesis import given
from hypothesis import strategies as st

from unimail._proto._rfc2047 import decode_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("=?utf-8?q?Re=3A_hello?= number 1", "Re: hello number 1"),
        ("=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"),  # white space between words is dropped
        ("a =?iso-8859-1?q?caf=E9?= b", "a café b"),  # but kept around them
        ("=?utf-8?b?4pyT?==?utf-8?b?4pyT?=", "✓✓"),
        ("=?UTF-8?B?8J+Y?= =?UTF-8?B?gA==?=", "😀"),  # one character split across two words
        ("=?utf-8*en?q?hello?=", "hello"),  # RFC 2231 language suffix
        ("=?utf-8?q?a?= =?iso-8859-1?q?b?= c", "ab c"),
        ("=?utf-8?q?broken", "=?utf-8?q?broken"),  # not a word: left alone
        ("x =?bogus?q?a?= y", "x =?bogus?q?a?= y"),  # unknown charset: shown as it came
        ("=?utf-8?b?!!!?=", "=?utf-8?b?!!!?="),  # bad base64: left alone
    ],
)
def test_decode_words(text: str, expected: str) -> None:
    assert decode_words(text) == expected


# Control characters are left out: email.header.Header drops some of them when encoding.
PRINTABLE = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=60)


@given(PRINTABLE, st.sampled_from(["utf-8", "iso-8859-1", "windows-1252"]))
def test_round_trip_with_the_standard_library(text: str, charset: str) -> None:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return
    encoded = email.header.Header(text, charset).encode()
    assert decode_words(encoded) == text
