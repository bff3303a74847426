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
import reprlib
import urllib.parse

from ..._errors import LimitExceeded, ProtocolError
from ..._models import BodyPart, Envelope
from .._rfc2047 import decode_words
from ._envelope import parse_envelope

__all__ = ["MAX_DEPTH", "parse_bodystructure"]

#: Bodies nested deeper than this (multipart in multipart, message in message) are refused.
MAX_DEPTH = 64

_ASCII_NUMBER = re.compile(r"[0-9]+")
# Quirks seen in the wild for body-fld-octets: "-1" (Dovecot for a broken appledouble part)
# and "1.86931e+06" (mail.ru). Both are read rather than failing the whole FETCH.
_NEGATIVE = re.compile(r"-[0-9]+")
_FLOAT = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# RFC 2231 section 3/4: name*N for continuations, a trailing "*" for charset'lang'%XX values.
_PARAM_NAME = re.compile(r"(?P<base>.+?)(?:\*(?P<index>[0-9]{1,9}))?(?P<star>\*)?")
_MESSAGE = frozenset({"message/rfc822", "message/global"})
_WORDS = frozenset({"name", "filename"})
# Bounded caches of repeated media types and parameter lists (dicts are handed out as copies).
_TOKENS: dict[object, str | None] = {}
_PARAMS: dict[tuple[object, ...], dict[str, str]] = {}


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
    while index < len(value) and isinstance(value[index], list):
        children.append(_part(value[index], section=f"{prefix}{len(children) + 1}", depth=depth))
        index += 1
    # body-type-mpart = 1*body SP media-subtype: a server that leaves out the subtype gets
    # the RFC 2046 default, "mixed".
    subtype = _nstring(value[index], "multipart subtype") if index < len(value) else None
    ext = value[index + 1 :]
    disposition, disposition_params, language, location = _extension(ext[1:])
    return BodyPart(
        section=section,
        content_type=f"multipart/{(subtype or 'mixed').lower()}",
        params=_params(ext[0]) if ext else {},
        disposition=disposition,
        disposition_params=disposition_params,
        language=language,
        location=location,
        children=children,
    )


def _part(value: object, *, section: str, depth: int) -> BodyPart:
    """Read one part of a multipart: a nested multipart keeps the part's own number."""
    if not isinstance(value, list) or not value:
        raise ProtocolError(f"body part is not a list: {_show(value)}")
    if depth + 1 > MAX_DEPTH:
        raise LimitExceeded(f"body structure nests deeper than {MAX_DEPTH}")
    if _is_multipart(value):
        return _multipart(value, section=section, depth=depth + 1)
    return _single(value, section=section, depth=depth + 1)


def _single(value: list[object], *, section: str, depth: int) -> BodyPart:
    if len(value) < 7:
        raise ProtocolError(f"body part with {len(value)} of 7 fields: {_show(value)}")
    maintype = _lower(value[0], "media type") or "application"
    content_type = f"{maintype}/{_lower(value[1], 'media subtype') or 'octet-stream'}"
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
    elif maintype == "text" and rest and _is_lines(rest[0]):
        # body-fld-lines. Servers that leave it out go straight on to the md5 or disposition.
        lines, rest = _optional_number(rest[0], "body-fld-lines"), rest[1:]
    md5 = None
    if rest and not isinstance(rest[0], list):
        md5, rest = _nstring(rest[0], "body-fld-md5"), rest[1:]
    disposition, disposition_params, language, location = _extension(rest)
    description = None if value[4] is None else _string(value[4], "body-fld-desc")
    size = value[6]
    return BodyPart(
        section=section,
        content_type=content_type,
        params=_params(value[2]),
        id=None if value[3] is None else _string(value[3], "body-fld-id"),
        description=_decode_words(description) if description is not None else None,
        # RFC 2045 section 6.1: no Content-Transfer-Encoding means 7bit.
        encoding=_lower(value[5], "body-fld-enc") or "7bit",
        size=size if type(size) is int and size >= 0 else _number(size, "body-fld-octets"),
        lines=lines,
        md5=md5,
        disposition=disposition,
        disposition_params=disposition_params,
        language=language,
        location=location,
        children=children,
        envelope=envelope,
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


def _params(value: object) -> dict[str, str]:
    """Read a body-fld-param list into a dict, RFC 2231 and (for file names) RFC 2047 decoded."""
    if value is None:
        return {}
    key = tuple(value) if type(value) is list and len(value) <= 4 else None
    try:
        found = _PARAMS.get(key) if key is not None else None
    except TypeError:  # a list in the list (Twisted's pairs): not cached
        key = found = None
    if found is not None:
        return dict(found)
    params = _read_params(value)
    if key is not None:
        if len(_PARAMS) >= 512:
            _PARAMS.clear()
        _PARAMS[key] = dict(params)
    return params


def _read_params(value: object) -> dict[str, str]:
    if not isinstance(value, list):
        raise ProtocolError(f"body-fld-param is not a list: {_show(value)}")
    items = value
    if value and all(isinstance(pair, list) and len(pair) == 2 for pair in value):
        # Twisted's server sends ((name value) (name value)).
        items = [item for pair in value if isinstance(pair, list) for item in pair]
    if any(isinstance(item, list) for item in items):
        raise ProtocolError(f"body-fld-param holds a list: {_show(value)}")
    pairs: list[tuple[str, str]] = []
    # An odd name at the end has no value: dropped rather than failing the whole FETCH.
    for name, raw in zip(items[::2], items[1::2], strict=False):
        if raw is None:
            continue  # ("NAME" NIL): nothing to keep
        pairs.append((_string(name, "parameter name").lower(), _string(raw, "parameter value")))
    return _decode_params(pairs)


def _decode_params(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Join RFC 2231 continuations and decode charset'language'%XX values.

    RFC 2231 section 3: ``name*0``, ``name*1``... are joined in order; section 4: a name
    ending in ``*`` holds ``charset'language'`` (first section only) and %-encoded octets.
    A decoded ``name*`` value wins over a plain ``name`` the sender added for old readers.
    """
    plain: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for name, raw in pairs:
        match = _PARAM_NAME.fullmatch(name)
        if match is None or (match["index"] is None and match["star"] is None):
            plain.setdefault(name, raw)
            continue
        number = int(match["index"]) if match["index"] is not None else 0
        sections.setdefault(match["base"], []).append((number, bool(match["star"]), raw))
    out = plain
    for base, parts in sections.items():
        parts.sort(key=lambda part: part[0])
        charset = "utf-8"
        data = bytearray()
        for position, (_, encoded, raw) in enumerate(parts):
            text = raw
            if encoded and position == 0 and text.count("'") >= 2:
                declared, _language, text = text.split("'", 2)
                charset = declared or charset
            octets = _octets(text)
            data += urllib.parse.unquote_to_bytes(octets) if encoded else octets
        out[base] = _decode_bytes(bytes(data), charset)
    for name in _WORDS & out.keys():
        out[name] = _decode_words(out[name])
    return out


def _octets(text: str) -> bytes:
    # surrogateescape gives back the raw octets the parser kept in an atom.
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _decode_bytes(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, "replace")
    except (LookupError, ValueError):
        # An unknown charset, or a Python codec that is no text encoding ("rot13", "base64")
        # or refuses "replace" ("idna"): UTF-8 is the likeliest truth today.
        return data.decode("utf-8", "replace")


def _decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; many mailers put them in file names despite RFC 2047."""
    try:
        return decode_words(text)
    except (LookupError, ValueError):
        # A Python codec that is no text encoding or refuses "replace" ("idna", "punycode")
        # named as the charset: show the words as they came.
        return text


def _envelope(value: object) -> Envelope:
    try:
        return parse_envelope(value)
    except (LookupError, ValueError) as error:
        # Raw decoding errors from encoded words (charset "idna") must not escape.
        raise ProtocolError(f"undecodable ENVELOPE in a message part: {error}") from None


def _string(value: object, what: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            # Raw 8-bit in a quoted string (legacy mailers' file names): keep every octet.
            return value.decode("latin-1")
    if isinstance(value, str):
        return value  # an atom where a string is due; servers do that for "7BIT" and such
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ProtocolError(f"{what} is not a string: {_show(value)}")


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
    return None if value is None else _number(value, what)


def _show(value: object) -> str:
    # reprlib bounds depth and length: the value may be large and deeply nested.
    return reprlib.repr(value)
