"""Search text with CR, LF or NUL is refused when the query is built (issue 8, injection).

Every query reaches a server only through ``Folder.search``; refusing the text in ``Q`` itself
means no search, on any backend, can carry it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from unimail import InvalidArgument, Q

QUERIES: dict[str, Callable[[str], Q]] = {
    "subject": lambda bad: Q.subject("x" + bad),
    "sender": lambda bad: Q.sender("x" + bad),
    "to": lambda bad: Q.to("x" + bad),
    "cc": lambda bad: Q.cc("x" + bad),
    "body": lambda bad: Q.body("x" + bad),
    "text": lambda bad: Q.text("x" + bad),
    "header": lambda bad: Q.header("X-Tag", "x" + bad),
    "keyword": lambda bad: Q.keyword("kw" + bad),
}


@pytest.mark.parametrize("bad", ["\r\nX", "\nX", "\rX", "\0X"], ids=["crlf", "lf", "cr", "nul"])
@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_search_text_is_refused_when_the_query_is_built(
    bad: str, query: Callable[[str], Q]
) -> None:
    with pytest.raises(InvalidArgument):
        query(bad)
