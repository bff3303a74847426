"""Realistic test data made on the spot: messages to seed, and a FETCH response stream to parse.

Everything is generated from a seeded :class:`random.Random`, so two runs parse and fetch the
same bytes. The messages mix what real mailboxes hold: RFC 2047 encoded names and subjects,
quoted display names with escapes, multipart/alternative bodies, some attachments, replies.
"""

from __future__ import annotations

import base64
import datetime
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
#
# What a real mailbox answers to one big UID FETCH, and so what decides a parser's speed:
# correspondents repeat (a few hundred, some far more often than others; most mail is to the
# owner), but subjects, dates, message ids, MIME boundaries, sizes and file names are mostly
# different in every message. Values that repeat here repeat in real mailboxes too; nothing
# is repeated that a real one would not repeat.

_FIRST = [
    "Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Hiro", "Ingrid", "José",
    "Zoë", "Jürgen", "Łukasz", "Søren", "Amélie", "Мария", "太郎", "Priya", "Olu", "Chloé",
]  # fmt: skip
_LAST = [
    "Martin", "O'Neil", "Groß", "Łukasiewicz", "山田", "Smith", "Nguyen", "Dubois", "Kowalski",
    "Иванова", "García", "Müller", "Okafor", "Sato", "Brown", "Lefèvre", "Jensen", "Rossi",
]  # fmt: skip
_DOMAINS = [
    "example.org", "mail.example.net", "lists.example.com", "corp.example", "example.co.uk",
    "gmail.example", "news.example.net", "bank.example", "shop.example.com", "univ.example.edu",
]  # fmt: skip
_TOPICS = [
    "Quarterly report", "lunch on Friday?", "Invoice {n} for {month}", "Meeting notes: {w} {w}",
    "[list] Weekly digest, issue {n}", "Your order #{n} has shipped", "{w} {w} {w}",
    '"quoted" words and a \\ backslash', "Build #{n} failed on {w}", "Re-scheduling the {w} call",
    "Résumé des tâches du {n} {month}", "Ünïcödé subject with emoji 🎉 {n}", "会議の議事録 {n}",
    "Password reset for account {n}", "Photos from {month}", "Draft: {w} {w} proposal v{n}",
]  # fmt: skip
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_ZONES = ["+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0900"]
_FILES = [
    ("application", "pdf", "report {n}.pdf"), ("image", "jpeg", "IMG_{n}.jpg"),
    ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document",
     "Lebenslauf Jürgen {n}.docx"),
    ("image", "png", "screenshot-{n}.png"), ("text", "calendar", "invite.ics"),
    ("application", "zip", "logs_{n}.zip"),
]  # fmt: skip


def _correspondents(rng: random.Random, count: int) -> list[tuple[bytes, bytes, bytes]]:
    """(addr-name, addr-mailbox, addr-host) as a server sends them, one per correspondent."""
    people: list[tuple[bytes, bytes, bytes]] = []
    for number in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = f"{first[0]}{last}{number}".encode("ascii", "ignore").lower() or b"u%d" % number
        kind = rng.random()
        full = f"{first} {last}"
        name: str | None = full
        if kind < 0.15:
            name = None
        elif kind < 0.2:
            name = f'{first} "{last}" (\\ team)'  # escapes in the quoted string
        elif not full.isascii() and kind < 0.97:
            name = _word(rng, full)  # encoded by the sender's mail client
        # else: plain ASCII, or raw 8-bit UTF-8 (a protocol violation some mailers commit:
        # rare, sent as a literal)
        people.append((_nstring(name), _quoted(local.decode()), _quoted(rng.choice(_DOMAINS))))
    return people


def _word(rng: random.Random, text: str) -> str:
    """``text`` as RFC 2047 encoded words, B or Q, as different mail clients write them."""
    if rng.random() < 0.6:
        return _encoded(text, "utf-8")
    quoted = "".join(
        ch if ch.isascii() and ch.isalnum() else "_" if ch == " " else
        "".join(f"={byte:02X}" for byte in ch.encode("utf-8"))
        for ch in text
    )  # fmt: skip
    return f"=?UTF-8?Q?{quoted}?="


def _address_list(people: list[tuple[bytes, bytes, bytes]]) -> bytes:
    return b"(" + b"".join(b"(%s NIL %s %s)" % person for person in people) + b")"


def _date(seconds: int, zone: str, *, weekday: bool = True) -> str:
    """An RFC 5322 date (``Tue, 1 Oct 2024 09:07:31 +0200``) of a UTC time in ``zone``."""
    offset = (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60)
    when = _EPOCH + datetime.timedelta(seconds=seconds + offset)
    text = f"{when.day} {_MONTHS[when.month - 1]} {when.year} {when:%H:%M:%S} {zone}"
    return f"{_DAYS[when.weekday()]}, {text}" if weekday else text


_EPOCH = datetime.datetime(2023, 1, 1)


def _subject(rng: random.Random, number: int) -> str:
    template = rng.choice(_TOPICS)
    while "{w}" in template:
        template = template.replace("{w}", rng.choice(_WORDS), 1)
    month = rng.choice(["October", "novembre", "März", "May"])
    return template.format(n=rng.randint(1, 99_999) if number % 5 else number, month=month)


def _text_part(rng: random.Random, subtype: bytes) -> bytes:
    charset = rng.choice([b"utf-8", b"UTF-8", b"us-ascii", b"iso-8859-1", b"windows-1252"])
    params = b'("charset" "%s")' % charset
    if subtype == b"plain" and rng.random() < 0.3:
        params = b'("charset" "%s" "format" "flowed")' % charset
    encoding = rng.choice([b'"7bit"', b'"quoted-printable"', b'"8bit"', b'"base64"'])
    size = rng.randint(40, 60_000)
    return b'("text" "%s" %s NIL NIL %s %d %d NIL NIL NIL NIL)' % (
        subtype, params, encoding, size, size // 60 + 1,
    )  # fmt: skip


def _attachment(rng: random.Random) -> bytes:
    maintype, subtype, pattern = rng.choice(_FILES)
    filename = pattern.format(n=rng.randint(1, 9999))
    name = _quoted(filename if filename.isascii() else _word(rng, filename))
    disposition = b'("attachment" ("filename" %s))' % name
    if maintype == "image" and rng.random() < 0.5:
        disposition = b'("inline" ("filename" %s))' % name
    return b'("%s" "%s" ("name" %s) %s NIL "base64" %d NIL %s NIL NIL)' % (
        maintype.encode(), subtype.encode(), name,
        b'"<%x@example.org>"' % rng.getrandbits(40) if rng.random() < 0.2 else b"NIL",
        rng.randint(2_000, 3_000_000), disposition,
    )  # fmt: skip


def _boundary(rng: random.Random) -> bytes:
    # What common mailers generate: unique for every message (and every multipart in it).
    style = rng.random()
    if style < 0.4:
        return b"000000000000%012x" % rng.getrandbits(48)
    if style < 0.7:
        return b"----=_Part_%d_%d.%d" % (rng.getrandbits(20), rng.getrandbits(30), 1.7e12)
    return b"Apple-Mail=_%08X-%04X-%04X" % (
        rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16),
    )  # fmt: skip


def _multipart(parts: bytes, subtype: bytes, rng: random.Random) -> bytes:
    return b'(%s "%s" ("boundary" "%s") NIL NIL NIL)' % (parts, subtype, _boundary(rng))


def _structure(rng: random.Random, people: list[tuple[bytes, bytes, bytes]]) -> bytes:
    shape = rng.random()
    alternative = _multipart(
        _text_part(rng, b"plain") + _text_part(rng, b"html"), b"alternative", rng
    )
    if shape < 0.25:
        return _text_part(rng, b"plain")
    if shape < 0.7:
        return alternative
    if shape < 0.9:
        return _multipart(alternative + _attachment(rng), b"mixed", rng)
    if shape < 0.97:
        attachments = b"".join(_attachment(rng) for _ in range(rng.randint(2, 4)))
        return _multipart(alternative + attachments, b"mixed", rng)
    # A forwarded message: message/rfc822 with its own envelope and body.
    inner = _envelope(rng, people, rng.randint(0, 10**8), rng.randint(0, 10**8))
    return _multipart(
        _text_part(rng, b"plain")
        + b'("message" "rfc822" NIL NIL NIL "7bit" %d %s %s %d NIL NIL NIL NIL)'
        % (rng.randint(2_000, 90_000), inner, _text_part(rng, b"plain"), rng.randint(40, 900)),
        b"mixed",
        rng,
    )


def _pick(
    rng: random.Random, people: list[tuple[bytes, bytes, bytes]]
) -> tuple[bytes, bytes, bytes]:
    # Some correspondents write far more often than others.
    return people[int(len(people) * rng.random() ** 3)]


def _envelope(
    rng: random.Random, people: list[tuple[bytes, bytes, bytes]], number: int, seconds: int
) -> bytes:
    subject = _subject(rng, number)
    if rng.random() < 0.3:
        subject = rng.choice(["Re: ", "RE: ", "Fwd: ", "AW: "]) + subject
    if not subject.isascii() and rng.random() < 0.95:
        subject = _word(rng, subject)
    sender = _pick(rng, people)
    to = [people[0]] if rng.random() < 0.7 else [_pick(rng, people)]
    cc = [_pick(rng, people) for _ in range(rng.choice([0, 0, 0, 1, 2, 3]))]
    reply_to = _pick(rng, people) if rng.random() < 0.05 else sender
    domain = sender[2][1:-1]
    return b"(%s %s %s %s %s %s %s NIL %s %s)" % (
        _quoted(_date(seconds - rng.randint(2, 900), rng.choice(_ZONES),
                      weekday=rng.random() < 0.9)),
        _quoted(subject),
        _address_list([sender]),
        _address_list([sender]),
        _address_list([reply_to]),
        _address_list(to),
        _address_list(cc) if cc else b"NIL",
        b'"<%x.%d@%s>"' % (rng.getrandbits(48), number, domain) if rng.random() < 0.35 else b"NIL",
        b'"<%x.%d@%s>"' % (rng.getrandbits(64), number, domain),
    )  # fmt: skip


def _quoted(text: str) -> bytes:
    """An IMAP quoted string, or a literal when the text is 8-bit (as Dovecot sends it)."""
    raw = text.encode("utf-8")
    if not raw.isascii():
        return b"{%d}\r\n%s" % (len(raw), raw)
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _nstring(text: str | None) -> bytes:
    return b"NIL" if text is None else _quoted(text)


def fetch_stream(count: int, *, seed: int = 11) -> bytes:
    """Untagged FETCH responses for ``count`` messages, then ``A1 OK``: what a server sends
    for ``UID FETCH 1:* (UID RFC822.SIZE FLAGS INTERNALDATE ENVELOPE BODYSTRUCTURE)``.

    About a year and a half of mail (one message every half hour on average, in arrival
    order) from a few hundred correspondents: see the comment above for what repeats."""
    rng = random.Random(seed)
    people = _correspondents(rng, 400)
    flags = [b"()", b"(\\Seen)", b"(\\Seen \\Answered $Label1)", b"(\\Flagged NonJunk)"]
    out: list[bytes] = []
    seconds = 0
    for n in range(1, count + 1):
        seconds += int(rng.expovariate(1 / 1800)) + 1
        received = _date(seconds, "+0100", weekday=False)  # the server's zone
        out.append(
            b'* %d FETCH (UID %d RFC822.SIZE %d FLAGS %s INTERNALDATE "%s" ENVELOPE %s '
            b"BODYSTRUCTURE %s)\r\n"
            % (
                n,
                n + 1000,
                rng.randint(900, 120_000),
                rng.choice(flags),
                _internal(received).encode("ascii"),
                _envelope(rng, people, n, seconds),
                _structure(rng, people),
            )
        )
    out.append(b"A1 OK Fetch completed.\r\n")
    return b"".join(out)


def _internal(rfc5322: str) -> str:
    """``1 Oct 2024 09:07:31 +0100`` as an INTERNALDATE: `` 1-Oct-2024 09:07:31 +0100``."""
    day, month, year, time, zone = rfc5322.split()
    return f"{int(day):2d}-{month}-{year} {time} {zone}"
