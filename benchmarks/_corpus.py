"""Realistic test data made on the spot: messages to seed, and a FETCH response stream to parse.

Everything is generated from a seeded :class:`random.Random`, so two runs parse and fetch the
same bytes. The messages mix what real mailboxes hold: RFC 2047 encoded names and subjects,
quoted display names with escapes, multipart/alternative bodies, some attachments, replies.
"""

from __future__ import annotations

import base64
import random

__all__ = ["fetch_stream", "make_message", "make_messages", "sized_message"]

_NAMES = [
    ("Alice Martin", None),
    ('Bob "the builder" O\'Neil', None),
    ("Zoë Łukasiewicz", "utf-8"),
    ("Jürgen Groß", "iso-8859-1"),
    ("山田 太郎", "utf-8"),
    ("Carol \\ Backslash", None),
    (None, None),
]
_SUBJECTS = [
    "Quarterly report",
    "Re: lunch on Friday?",
    'Fwd: "quoted" words and a \\ backslash',
    "Résumé des tâches",
    "Ünïcödé subject with emoji 🎉",
    "[list] Weekly digest, issue 42",
]
_WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
]


def _encoded(text: str, charset: str | None) -> str:
    """An RFC 2047 encoded-word when the text is not ASCII (what mail clients send)."""
    if charset is None and text.isascii():
        return text
    data = text.encode(charset or "utf-8")
    return f"=?{charset or 'utf-8'}?B?{base64.b64encode(data).decode('ascii')}?="


def _address(rng: random.Random, number: int) -> tuple[str, str, str]:
    """(display name as a header shows it, local part, domain)."""
    name, charset = rng.choice(_NAMES)
    local = f"user{number % 997}"
    domain = rng.choice(["example.org", "mail.example.net", "lists.example.com"])
    if name is None:
        return "", local, domain
    if charset is not None or not name.isascii():
        return _encoded(name, charset), local, domain
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}"', local, domain


def _text(rng: random.Random, size: int) -> str:
    lines: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 12)))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines)


def make_message(number: int, rng: random.Random, body_size: int) -> bytes:
    """One multipart/alternative message of about ``body_size`` body bytes (CRLF endings)."""
    from_name, from_local, from_domain = _address(rng, number)
    to_name, to_local, to_domain = _address(rng, number + 1)
    subject = rng.choice(_SUBJECTS)
    headers = [
        f"From: {from_name} <{from_local}@{from_domain}>".replace(":  <", ": <"),
        f"To: {to_name} <{to_local}@{to_domain}>".replace(":  <", ": <"),
        "Cc: team@example.org, =?utf-8?Q?S=C3=B8ren?= <soren@example.org>",
        f"Subject: {_encoded(subject, None if subject.isascii() else 'utf-8')}",
        f"Date: Tue, {1 + number % 28:02d} Oct 2024 {number % 24:02d}:{number % 60:02d}:07 +0200",
        f"Message-ID: <{number}.{rng.getrandbits(32):08x}@example.org>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/alternative; boundary="b1"',
    ]
    if number % 3:
        headers.insert(6, f"In-Reply-To: <{number - 1}.thread@example.org>")
    plain = _text(rng, body_size // 2)
    html = "<p>" + _text(rng, body_size // 2).replace("\r\n", "</p>\r\n<p>") + "</p>"
    body = (
        f"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{plain}\r\n"
        f"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--b1--\r\n"
    )
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


def make_messages(count: int, *, body_size: int = 3000, seed: int = 7) -> list[bytes]:
    """``count`` messages, bodies between a third and twice ``body_size`` bytes."""
    rng = random.Random(seed)
    return [make_message(n, rng, rng.randint(body_size // 3, body_size * 2)) for n in range(count)]


def sized_message(size: int, *, sender: str, recipient: str) -> bytes:
    """A plain message of exactly ``size`` bytes with 76-character base64-like lines."""
    head = (
        f"From: <{sender}>\r\nTo: <{recipient}>\r\nSubject: benchmark {size} bytes\r\n"
        f"Message-ID: <{size}.bench@example.test>\r\nMIME-Version: 1.0\r\n\r\n"
    ).encode("ascii")
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
    count, rest = divmod(size - len(head), len(line))
    return head + line * count + b"x" * max(rest - 2, 0) + b"\r\n"[: max(rest, 0)]


# -- the FETCH response stream ---------------------------------------------------------------


def _quoted(text: str) -> bytes:
    """An IMAP quoted string, or a literal when the text is 8-bit (as Dovecot sends it)."""
    raw = text.encode("utf-8")
    if not raw.isascii():
        return b"{%d}\r\n%s" % (len(raw), raw)
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _nstring(text: str | None) -> bytes:
    return b"NIL" if text is None else _quoted(text)


def _env_address(rng: random.Random, number: int) -> bytes:
    name, local, domain = _address(rng, number)
    display = name[1:-1].replace('\\"', '"').replace("\\\\", "\\") if name[:1] == '"' else name
    return b"((%s NIL %s %s))" % (
        _nstring(display or None),
        _quoted(local),
        _quoted(domain),
    )


def _bodystructure(number: int) -> bytes:
    plain = b'("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" %d %d NIL NIL NIL NIL)'
    html = b'("text" "html" ("charset" "utf-8") NIL NIL "7bit" %d %d NIL NIL NIL NIL)'
    parts = plain % (1200 + number % 500, 30) + html % (2400 + number % 900, 41)
    alternative = b'(%s "alternative" ("boundary" "b1") NIL NIL NIL)' % parts
    if number % 4:
        return alternative
    attachment = (
        b'("application" "pdf" ("name" "report %d.pdf") NIL NIL "base64" 84211 NIL '
        b'("attachment" ("filename" "report %d.pdf")) NIL NIL)' % (number, number)
    )
    return b'(%s%s "mixed" ("boundary" "b0") NIL NIL NIL)' % (alternative, attachment)


def fetch_stream(count: int, *, seed: int = 11) -> bytes:
    """Untagged FETCH responses for ``count`` messages, then ``A1 OK``: what a server sends
    for ``UID FETCH 1:* (UID RFC822.SIZE FLAGS INTERNALDATE ENVELOPE BODYSTRUCTURE)``."""
    rng = random.Random(seed)
    flags = [b"()", b"(\\Seen)", b"(\\Seen \\Answered $Label1)", b"(\\Flagged NonJunk)"]
    out: list[bytes] = []
    for n in range(1, count + 1):
        subject = rng.choice(_SUBJECTS)
        encoded = subject if rng.random() < 0.5 else _encoded(subject, None)
        envelope = b"(%s %s %s %s %s %s %s NIL %s %s)" % (
            _quoted(f"Tue, {1 + n % 28:02d} Oct 2024 {n % 24:02d}:{n % 60:02d}:07 +0200"),
            _quoted(encoded),
            (from_ := _env_address(rng, n)),
            from_,
            from_,
            _env_address(rng, n + 1),
            b'((NIL NIL "team" "example.org")("=?utf-8?Q?S=C3=B8ren?=" NIL "soren" "example.org"))'
            if n % 2
            else b"NIL",
            _quoted(f"<{n - 1}.thread@example.org>") if n % 3 else b"NIL",
            _quoted(f"<{n}.{rng.getrandbits(32):08x}@example.org>"),
        )
        out.append(
            b'* %d FETCH (UID %d RFC822.SIZE %d FLAGS %s INTERNALDATE "%2d-Oct-2024 '
            b'%02d:%02d:07 +0200" ENVELOPE %s BODYSTRUCTURE %s)\r\n'
            % (
                n,
                n + 1000,
                rng.randint(900, 120_000),
                rng.choice(flags),
                1 + n % 28,
                n % 24,
                n % 60,
                envelope,
                _bodystructure(n),
            )
        )
    out.append(b"A1 OK Fetch completed.\r\n")
    return b"".join(out)
