"""Content-Type and Content-Disposition parameters of a BODYSTRUCTURE (RFC 9051 7.5.2).

    body-fld-param  = "(" string SP string *(SP string SP string) ")" / nil

Names come in lower case; values are decoded: RFC 2231 continuations and charsets
(``name*0*=utf-8''...``) and, in file names, RFC 2047 encoded words (many mailers put them
there despite RFC 2047 section 5). Split from ``_bodystructure``, which reads the rest.
"""

from __future__ import annotations

import re
import reprlib
import urllib.parse

from ..._errors import ProtocolError
from .._rfc2047 import decode_words

__all__ = ["decode_words_leniently", "params", "show", "string"]

# RFC 2231 section 3/4: name*N for continuations, a trailing "*" for charset'lang'%XX values.
_PARAM_NAME = re.compile(r"(?P<base>.+?)(?:\*(?P<index>[0-9]{1,9}))?(?P<star>\*)?")
_WORDS = frozenset({"name", "filename"})


def params(value: object) -> dict[str, str]:
    """Read a body-fld-param list into a dict, RFC 2231 and (for file names) RFC 2047 decoded.

    Args:
        value: the tokenised list (names and values alternate), or None for NIL.

    Returns:
        Names in lower case -> decoded values (``{}`` for NIL).

    Raises:
        ProtocolError: the value is no parameter list.
    """
    if value is None:
        return {}
    if type(value) is list and len(value) == 2:
        # One parameter, the most usual list: ("charset" "utf-8"), ("boundary" "...").
        name, raw = value
        key = _PLAIN_NAMES.get(name) if type(name) is bytes else None
        if key is not None and type(raw) is bytes:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            return {key: decode_words_leniently(text) if key in _WORDS and "=?" in text else text}
    if type(value) is list and not len(value) % 2:
        # The usual case: quoted names without RFC 2231 marks ("*"), quoted values. Values
        # differ from message to message (boundaries, file names), names hardly ever.
        keys: list[str] | None
        try:
            keys = list(map(_PLAIN_NAMES.__getitem__, value[::2]))
        except (KeyError, TypeError):
            keys = _plain_names(value[::2])
        if keys is not None:
            out: dict[str, str] = {}
            for key, raw in zip(keys, value[1::2], strict=True):
                if type(raw) is not bytes:
                    break  # NIL, an atom or a list: the general reader below
                if key in out:
                    continue  # the first of two equal names wins, as below
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("latin-1")
                out[key] = decode_words_leniently(text) if key in _WORDS and "=?" in text else text
            else:
                return out
    return _read_params(value)


# Parameter names without RFC 2231 marks, as sent -> as keyed (lower case). Bounded.
_PLAIN_NAMES: dict[object, str] = {}


def _plain_names(names: list[object]) -> list[str] | None:
    """The keys of ``names`` when all are quoted names without "*", else None."""
    keys: list[str] = []
    for name in names:
        if type(name) is not bytes or b"*" in name:
            return None
        key = string(name, "parameter name").lower()
        if len(_PLAIN_NAMES) < 256:
            _PLAIN_NAMES[name] = key
        keys.append(key)
    return keys


def _read_params(value: object) -> dict[str, str]:
    if not isinstance(value, list):
        raise ProtocolError(f"body-fld-param is not a list: {show(value)}")
    items = value
    if value and all(isinstance(pair, list) and len(pair) == 2 for pair in value):
        # Twisted's server sends ((name value) (name value)).
        items = [item for pair in value if isinstance(pair, list) for item in pair]
    if any(isinstance(item, list) for item in items):
        raise ProtocolError(f"body-fld-param holds a list: {show(value)}")
    pairs: list[tuple[str, str]] = []
    # An odd name at the end has no value: dropped rather than failing the whole FETCH.
    for name, raw in zip(items[::2], items[1::2], strict=False):
        if raw is None:
            continue  # ("NAME" NIL): nothing to keep
        pairs.append((string(name, "parameter name").lower(), string(raw, "parameter value")))
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
        out[name] = decode_words_leniently(out[name])
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


def decode_words_leniently(text: str) -> str:
    """Decode RFC 2047 encoded words; many mailers put them in file names despite RFC 2047.

    Args:
        text: a parameter value or Content-Description.

    Returns:
        The decoded text, or ``text`` as it came when its charset cannot decode text.
    """
    try:
        return decode_words(text)
    except (LookupError, ValueError):
        # A Python codec that is no text encoding or refuses "replace" ("idna", "punycode")
        # named as the charset: show the words as they came.
        return text


def string(value: object, what: str) -> str:
    """Read a string field (an atom or a number where a string is due is taken as text).

    Args:
        value: the tokenised value.
        what: the field's name, for the error.

    Returns:
        The text: UTF-8, else every octet kept (Latin-1).

    Raises:
        ProtocolError: the value is NIL or a list.
    """
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
    raise ProtocolError(f"{what} is not a string: {show(value)}")


def show(value: object) -> str:
    """A bounded repr for error messages (the value may be large and deeply nested).

    Args:
        value: any tokenised value.

    Returns:
        ``reprlib.repr(value)``: depth and length bounded.
    """
    return reprlib.repr(value)
