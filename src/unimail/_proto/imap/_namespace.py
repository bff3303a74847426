"""NAMESPACE (RFC 2342, RFC 9051 section 6.3.10) and ID (RFC 2971).

namespace-response = "NAMESPACE" SP namespace SP namespace SP namespace
                      ; personal, other users', shared
namespace          = nil / "(" 1*namespace-descr ")"
namespace-descr    = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil)
                      [namespace-response-extensions] ")"
id-response        = "ID" SP id-params-list
id-params-list     = "(" *(string SP nstring) ")" / nil
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..._errors import ProtocolError
from ._list import mailbox_name
from ._parser import Response

__all__ = ["Namespaces", "namespaces", "server_id"]

Namespace = tuple[str, "str | None"]


@attrs.frozen(kw_only=True)
class Namespaces:
    """Where folders live: each entry is ``(prefix, delimiter)``."""

    personal: tuple[tuple[str, str | None], ...] = ()
    other_users: tuple[tuple[str, str | None], ...] = ()
    shared: tuple[tuple[str, str | None], ...] = ()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, int)):
        return str(value)
    raise ProtocolError(f"expected a string, got {value!r:.60}")


def _group(value: object, utf8: bool) -> tuple[tuple[str, str | None], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ProtocolError(f"malformed NAMESPACE group: {value!r:.80}")
    found: list[tuple[str, str | None]] = []
    for descr in value:
        if not isinstance(descr, list) or len(descr) < 2:
            raise ProtocolError(f"malformed NAMESPACE entry: {descr!r:.80}")
        prefix = mailbox_name(descr[0], utf8=utf8) if descr[0] != b"" else ""
        found.append((prefix, None if descr[1] is None else _text(descr[1])))
    return tuple(found)


def namespaces(responses: Iterable[Response], *, utf8: bool = False) -> Namespaces:
    """Read the untagged NAMESPACE response among ``responses``."""
    for response in responses:
        if response.name == "NAMESPACE":
            if len(response.data) != 3:
                raise ProtocolError("NAMESPACE must name three groups")
            personal, other, shared = (_group(g, utf8) for g in response.data)
            return Namespaces(personal=personal, other_users=other, shared=shared)
    raise ProtocolError("the server answered NAMESPACE without a NAMESPACE response")


def server_id(responses: Iterable[Response]) -> dict[str, str]:
    """Read the untagged ID response among ``responses`` (an empty dict for NIL)."""
    for response in responses:
        if response.name != "ID" or not response.data:
            continue
        fields = response.data[0]
        if fields is None:
            return {}
        if not isinstance(fields, list) or len(fields) % 2:
            raise ProtocolError(f"malformed ID response: {fields!r:.80}")
        return {
            _text(key): _text(value)
            for key, value in zip(fields[::2], fields[1::2], strict=True)
            if value is not None
        }
    return {}
