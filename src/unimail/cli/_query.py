"""The search options shared by ``search``, ``fetch``, ``copy`` and ``watch``: each becomes
one term of a :class:`unimail.Q`, and the terms are combined with AND."""

from __future__ import annotations

import argparse
import datetime

from unimail import Q

__all__ = ["add_query_options", "query_from"]


def add_query_options(parser: argparse.ArgumentParser) -> None:
    """Add the search options to ``parser``."""
    group = parser.add_argument_group("search terms (combined with AND)")
    for name, help_text in (
        ("subject", "the Subject contains TEXT"),
        ("from", "the From address or name contains TEXT"),
        ("to", "the To address or name contains TEXT"),
        ("cc", "the Cc address or name contains TEXT"),
        ("body", "the body contains TEXT"),
        ("text", "the headers or the body contain TEXT"),
    ):
        group.add_argument(f"--{name}", metavar="TEXT", dest=f"q_{name}", help=help_text)
    group.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="received on or after")
    group.add_argument("--before", type=_date, metavar="YYYY-MM-DD", help="received before")
    group.add_argument("--larger", type=int, metavar="BYTES", help="larger than BYTES")
    group.add_argument("--smaller", type=int, metavar="BYTES", help="smaller than BYTES")
    flags = group.add_mutually_exclusive_group()
    flags.add_argument("--unseen", action="store_true", help="not yet read")
    flags.add_argument("--seen", action="store_true", help="already read")
    group.add_argument("--flagged", action="store_true", help="flagged")


def query_from(args: argparse.Namespace) -> Q | None:
    """Return the query the options of ``args`` describe, None when there is none."""
    terms: list[Q] = []
    makers = {
        "subject": Q.subject, "from": Q.sender, "to": Q.to, "cc": Q.cc, "body": Q.body,
        "text": Q.text,
    }  # fmt: skip
    for name, make in makers.items():
        value = getattr(args, f"q_{name}", None)
        if value is not None:
            terms.append(make(value))
    if getattr(args, "since", None) is not None:
        terms.append(Q.since(args.since))
    if getattr(args, "before", None) is not None:
        terms.append(Q.before(args.before))
    if getattr(args, "larger", None) is not None:
        terms.append(Q.larger(args.larger))
    if getattr(args, "smaller", None) is not None:
        terms.append(Q.smaller(args.smaller))
    if getattr(args, "unseen", False):
        terms.append(Q.unseen())
    if getattr(args, "seen", False):
        terms.append(Q.seen())
    if getattr(args, "flagged", False):
        terms.append(Q.flagged())
    if not terms:
        return None
    query = terms[0]
    for term in terms[1:]:
        query = query & term
    return query


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
