"""Reading the MIME structure of a message: FETCH BODYSTRUCTURE and BODY (RFC 9051 7.5.2).

The value comes tokenised by ``_parser`` (NIL -> None, number -> int, atom -> str, string ->
bytes, list -> list) and becomes a tree of :class:`~unimail.BodyPart`. Grammar, RFC 9051
section 9 (RFC 3501 differs only in ``number`` for ``number64``, no message/global and no
"FONT" / "MODEL" in ``media-basic``)::

    body            = "(" (body-type-1part / body-type-mpart) ")"
    body-type-1part = (body-type-basic / body-type-msg / body-type-text) [SP body-ext-1part]
    body-type-basic = media-basic SP body-fields
    body-type-msg   = media-message SP body-fields SP envelope SP body SP body-fld-lines
    body-type-text  = media-text SP body-fields SP body-fld-lines
    body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
    body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP
                      body-fld-octets
    body-fld-param  = "(" string SP string *(SP string SP string) ")" / nil
    body-fld-lines  = number64
    body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc
                      *(SP body-extension)]]]
    body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc
                      *(SP body-extension)]]]
    body-fld-dsp    = "(" string SP body-fld-param ")" / nil
    body-fld-lang   = nstring / "(" string *(SP string) ")"
    body-fld-loc    = nstring
    media-message   = DQUOTE "MESSAGE" DQUOTE SP DQUOTE ("RFC822" / "GLOBAL") DQUOTE

Extension data is optional (and never sent for the non-extensible BODY item): whatever is
present is read, the rest stays empty. Part numbers follow RFC 9051 section 6.4.5.
"""

from __future__ import annotations

import re

from ..._errors import LimitExceeded, ProtocolError
from ..._models import BodyPart, Envelope
from .._assemble import assemble
from ._bodyparams import decode_words_leniently as _decode_words
from ._bodyparams import params as _params
from ._bodyparams import show as _show
from ._bodyparams import string as _string
from ._envelope import parse_envelope

__all__ = ["MAX_DEPTH", "parse_bodystructure"]

#: Bodies nested deeper than this (multipart in multipart, message in message) are refused.
MAX_DEPTH = 64

_ASCII_NUMBER = re.compile(r"[0-9]+")
# Quirks seen in the wild for body-fld-octets: "-1" (Dovecot for a broken appledouble part)
# and "1.86931e+06" (mail.ru). Both are read rather than failing the whole FETCH.
_NEGATIVE = re.compile(r"-[0-9]+")
_FLOAT = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_MESSAGE = frozenset({"message/rfc822", "message/global"})
# A bounded cache of repeated media types, subtypes and encodings.
_TOKENS: dict[object, str | None] = {}
# (media type, subtype) as sent -> (type, "type/subtype") in lower case; bounded.
_TYPES: dict[tuple[object, object], tuple[str, str]] = {}
_MULTIPART_TYPES: dict[bytes, str] = {}  # subtype as sent -> "multipart/subtype"


def parse_bodystructure(value: object) -> BodyPart:
    """Convert a BODYSTRUCTURE (or BODY) FETCH value to a :class:`~unimail.BodyPart` tree.

    Args:
        value: the tokenised value, as in ``fetch_data(response).items["BODYSTRUCTURE"]``.

    Returns:
        The root part: a multipart (section ``""``) or the message's only part (``"1"``).

    Raises:
        ProtocolError: the value is not a body structure.
        LimitExceeded: bodies nest deeper than :data:`MAX_DEPTH`.
    """
    return _body(value, section="", depth=0)


def _body(value: object, *, section: str, depth: int) -> BodyPart:
    """Read the body of a message (top level or embedded): RFC 9051 6.4.5 numbering."""
    if not isinstance(value, list) or not value:
        raise ProtocolError(f"body structure is not a list: {_show(value)}")
    if depth > MAX_DEPTH:
        raise LimitExceeded(f"body structure nests deeper than {MAX_DEPTH}")
    if _is_multipart(value):
        return _multipart(value, section=section, depth=depth)
    # A single-part message's content is its part 1 ("2.1" inside message part "2").
    return _single(value, section=f"{section}.1" if section else "1", depth=depth)


def _is_multipart(value: list[object]) -> bool:
    if isinstance(value[0], list):
        return True
    # Apple Mail's empty multipart, as some servers report it: (NIL "alternative" (params)
    # NIL NIL NIL), the media type NIL and no size. A basic part has its size at index 6.
    return value[0] is None and not (len(value) > 6 and _is_number(value[6]))


def _multipart(value: list[object], *, section: str, depth: int) -> BodyPart:
    prefix = f"{section}." if section else ""
    children: list[BodyPart] = []
    index = 1 if value[0] is None else 0
    end = len(value)
    while index < end:
        child = value[index]
        if not isinstance(child, list):
            break
        # One part of the multipart (a nested multipart keeps the part's own number).
        if not child:
            raise ProtocolError(f"body part is not a list: {_show(child)}")
        if depth + 1 > MAX_DEPTH:
            raise LimitExceeded(f"body structure nests deeper than {MAX_DEPTH}")
        number = f"{prefix}{len(children) + 1}"
        if isinstance(child[0], list) or (child[0] is None and _is_multipart(child)):
            children.append(_multipart(child, section=number, depth=depth + 1))
        else:
            children.append(_single(child, section=number, depth=depth + 1))
        index += 1
    # body-type-mpart = 1*body SP media-subtype: a server that leaves out the subtype gets
    # the RFC 2046 default, "mixed".
    raw = value[index] if index < end else None
    content_type = _MULTIPART_TYPES.get(raw) if type(raw) is bytes else None
    if content_type is None:
        content_type = f"multipart/{_lower(raw, 'multipart subtype') or 'mixed'}"
        if type(raw) is bytes and len(_MULTIPART_TYPES) < 64:
            _MULTIPART_TYPES[raw] = content_type
    ext = value[index + 1 :]
    disposition, disposition_params, language, location = (
        (None, {}, (), None) if ext[1:].count(None) == len(ext) - 1 else _extension(ext[1:])
    )
    return assemble(  # every field, as BodyPart(...) would hold it
        BodyPart,
        {
            "section": section,
            "content_type": content_type,
            "params": _params(ext[0]) if ext else {},
            "id": None,
            "description": None,
            "encoding": "7bit",
            "size": None,
            "lines": None,
            "md5": None,
            "disposition": disposition,
            "disposition_params": disposition_params,
            "language": language,
            "location": location,
            "children": tuple(children),
            "envelope": None,
        },
    )


def _single(value: list[object], *, section: str, depth: int) -> BodyPart:
    if len(value) < 7:
        raise ProtocolError(f"body part with {len(value)} of 7 fields: {_show(value)}")
    key = (value[0], value[1])
    try:
        maintype, content_type = _TYPES[key]
    except (KeyError, TypeError):  # TypeError: a list where a string is due (refused below)
        maintype = _lower(value[0], "media type") or "application"
        content_type = f"{maintype}/{_lower(value[1], 'media subtype') or 'octet-stream'}"
        if type(key[0]) is bytes and type(key[1]) is bytes and len(_TYPES) < 512:
            _TYPES[key] = maintype, content_type
    lines: int | None = None
    envelope: Envelope | None = None
    children: tuple[BodyPart, ...] = ()
    rest = value[7:]
    if content_type in _MESSAGE and len(rest) >= 2 and _is_envelope(rest[0]) and _is_body(rest[1]):
        # body-type-msg: envelope, body, lines. Some servers send NIL for the envelope and
        # body of a message they could not parse; others send message/rfc822 as a basic
        # part (then extension data follows the size directly).
        if rest[0] is not None:
            envelope = _envelope(rest[0])
        if rest[1] is not None:
            children = (_body(rest[1], section=section, depth=depth + 1),)
        rest = rest[2:]
        if rest and _is_lines(rest[0]):
            lines, rest = _optional_number(rest[0], "body-fld-lines"), rest[1:]
    elif maintype == "text" and rest and (type(rest[0]) is int or _is_lines(rest[0])):
        # body-fld-lines. Servers that leave it out go straight on to the md5 or disposition.
        lines, rest = _optional_number(rest[0], "body-fld-lines"), rest[1:]
    md5 = None
    if rest and not isinstance(rest[0], list):
        if rest[0] is not None:
            md5 = _nstring(rest[0], "body-fld-md5")
        rest = rest[1:]
    disposition, disposition_params, language, location = (
        (None, {}, (), None) if rest.count(None) == len(rest) else _extension(rest)
    )
    description = None if value[4] is None else _string(value[4], "body-fld-desc")
    encoding = value[5]
    encoding = _TOKENS.get(encoding) if type(encoding) is bytes else None
    size = value[6]
    return assemble(  # every field, as BodyPart(...) would hold it
        BodyPart,
        {
            "section": section,
            "content_type": content_type,
            "params": _params(value[2]),
            "id": None if value[3] is None else _string(value[3], "body-fld-id"),
            "description": _decode_words(description) if description is not None else None,
            # RFC 2045 section 6.1: no Content-Transfer-Encoding means 7bit.
            "encoding": encoding or _lower(value[5], "body-fld-enc") or "7bit",
            "size": size if type(size) is int and size >= 0 else _number(size, "body-fld-octets"),
            "lines": lines,
            "md5": md5,
            "disposition": disposition,
            "disposition_params": disposition_params,
            "language": language,
            "location": location,
            "children": children,
            "envelope": envelope,
        },
    )


def _is_envelope(value: object) -> bool:
    return value is None or (isinstance(value, list) and len(value) == 10)


def _is_body(value: object) -> bool:
    return value is None or (isinstance(value, list) and bool(value) and not _is_disposition(value))


def _is_lines(value: object) -> bool:
    # NIL is read as "unknown" rather than as a misplaced md5.
    return value is None or _is_number(value)


def _is_number(value: object) -> bool:
    # A quoted number is a known quirk (Twisted's server).
    return isinstance(value, int) or _looks_numeric(value)


def _extension(
    rest: list[object],
) -> tuple[str | None, dict[str, str], tuple[str, ...], str | None]:
    """Read ``[body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]``."""
    if rest.count(None) == len(rest):
        return None, {}, (), None  # the common case: all NIL, or no extension data
    dsp = rest[0] if rest else None
    lang = rest[1] if len(rest) > 1 else None
    if dsp is None and _is_disposition(lang):
        # Seen from Exchange on multiparts: NIL, then the disposition one place late.
        dsp, lang = lang, None
    disposition: str | None = None
    params: dict[str, str] = {}
    if isinstance(dsp, list):
        if not dsp:
            raise ProtocolError("empty body-fld-dsp")
        disposition = _nstring(dsp[0], "disposition type")
        params = _params(dsp[1]) if len(dsp) > 1 else {}
    elif dsp is not None:
        # Exchange sends the bare disposition type as a string: ... 850 31 NIL "inline" ...
        disposition = _nstring(dsp, "body-fld-dsp")
    language: tuple[str, ...] = ()
    if isinstance(lang, list):
        language = tuple(_string(item, "body-fld-lang") for item in lang)
    elif lang is not None:
        language = (_string(lang, "body-fld-lang"),)
    location = _nstring(rest[2], "body-fld-loc") if len(rest) > 2 else None
    return (disposition.lower() if disposition else None), params, language, location


def _is_disposition(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], (bytes, str))
        and (value[1] is None or isinstance(value[1], list))
    )


def _envelope(value: object) -> Envelope:
    try:
        return parse_envelope(value)
    except (LookupError, ValueError) as error:
        # Raw decoding errors from encoded words (charset "idna") must not escape.
        raise ProtocolError(f"undecodable ENVELOPE in a message part: {error}") from None


def _lower(value: object, what: str) -> str | None:
    """A media type, subtype or encoding in lower case, from a cache of the usual ones."""
    found = _TOKENS.get(value) if type(value) is bytes else None
    if found is None:
        found = None if value is None else _string(value, what).lower()
        if type(value) is bytes and len(_TOKENS) < 512:
            _TOKENS[value] = found
    return found


def _nstring(value: object, what: str) -> str | None:
    return None if value is None else _string(value, what)


def _looks_numeric(value: object) -> bool:
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return isinstance(text, str) and _ASCII_NUMBER.fullmatch(text) is not None


def _number(value: object, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    if isinstance(text, str):
        if _ASCII_NUMBER.fullmatch(text):
            return int(text)  # quoted: Twisted's server sends "20"
        if _NEGATIVE.fullmatch(text):
            return 0
        if _FLOAT.fullmatch(text):
            try:
                return int(float(text))
            except OverflowError:
                pass
    raise ProtocolError(f"{what} is not a number: {_show(value)}")


def _optional_number(value: object, what: str) -> int | None:
    if type(value) is int:
        return value if value >= 0 else 0
    return None if value is None else _number(value, what)
