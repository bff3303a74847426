"""The OAuth2 example (examples/oauth2_token_provider.py) run as a user runs it.

It cannot reach Google or Microsoft here: it runs against a local token endpoint and scripted
IMAP / SMTP servers that check the XOAUTH2 exchange byte for byte.
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from tests.scripted_server import ReadLine, ReadUntilEOF, ScriptedServer, Send, StartTLS, Step
from tests.test_examples import ok, run_example

# -- OAuth2 token provider -------------------------------------------------------------------


class TokenEndpoint:
    """A local OAuth2 token endpoint: answers each POST with the next of ``answers``."""

    def __init__(self, answers: list[dict[str, object]]) -> None:
        self.requests: list[dict[str, str]] = []
        answers_left = list(answers)
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server dispatches to
                length = int(self.headers["Content-Length"])
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                requests.append({key: values[0] for key, values in form.items()})
                body = json.dumps(answers_left.pop(0)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def local_ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return ca, pem


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server-side context with a certificate for 127.0.0.1 issued by ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def xoauth2(user: str, token: str) -> bytes:
    """The XOAUTH2 initial response as Google and Microsoft document it, base64-encoded."""
    return base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode())


IMAP_GREETING = b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] ready\r\n"


def imap_status_script(tag: int) -> list[Step]:
    """What follows a successful login: STATUS INBOX, then LOGOUT."""
    return [
        ReadLine(f'U{tag} STATUS "INBOX" (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)\r\n'.encode()),
        Send(
            b'* STATUS "INBOX" (MESSAGES 3 UNSEEN 1 UIDNEXT 4 UIDVALIDITY 1)\r\n'
            + f"U{tag} OK done\r\n".encode()
        ),
        ReadLine(f"U{tag + 1} LOGOUT\r\n".encode()),
        Send(f"* BYE bye\r\nU{tag + 1} OK done\r\n".encode()),
        ReadUntilEOF(),
    ]


def test_oauth2_one_refresh_serves_imap_and_smtp(local_ca: tuple[trustme.CA, Path]) -> None:
    ca, pem = local_ca
    user = "alice@contoso.com"
    imap_script = [
        StartTLS(),
        Send(IMAP_GREETING),
        ReadLine(b"U1 AUTHENTICATE XOAUTH2 " + xoauth2(user, "access-1") + b"\r\n"),
        Send(b"U1 OK [CAPABILITY IMAP4rev1] welcome\r\n"),
        *imap_status_script(2),
    ]
    smtp_script = [
        StartTLS(),
        Send(b"220 smtp.test ESMTP\r\n"),
        ReadLine(),  # EHLO
        Send(b"250-smtp.test\r\n250 AUTH XOAUTH2\r\n"),
        ReadLine(b"AUTH XOAUTH2 " + xoauth2(user, "access-1") + b"\r\n"),
        Send(b"235 2.7.0 Authentication successful\r\n"),
        ReadLine(),  # EHLO again: what a server offers may change after AUTH
        Send(b"250-smtp.test\r\n250 8BITMIME\r\n"),
        ReadLine(b"QUIT\r\n"),
        Send(b"221 2.0.0 Bye\r\n"),
        ReadUntilEOF(),
    ]
    answer = {"access_token": "access-1", "expires_in": 3600, "refresh_token": "refresh-2"}
    tls = server_context(ca)
    with (
        TokenEndpoint([answer]) as endpoint,
        ScriptedServer(imap_script, ssl_context=tls) as imap,
        ScriptedServer(smtp_script, ssl_context=tls) as smtp,
    ):
        quoted = urllib.parse.quote(user, safe="")
        result = run_example(
            "oauth2_token_provider.py",
            "--provider", "microsoft", "--user", user, "--client-id", "app-1",
            "--token-url", endpoint.url,
            "--imap", f"imaps://{quoted}@127.0.0.1:{imap.port}",
            "--smtp", f"smtps://{quoted}@127.0.0.1:{smtp.port}",
            "--cafile", str(pem),
            extra_env={"UNIMAIL_OAUTH_REFRESH_TOKEN": "refresh-1"},
        )  # fmt: skip
    assert (imap.errors, smtp.errors) == ([], []), result.stderr[-300:]
    lines = ok(result)
    assert lines == [
        "token: refreshed, valid for 3600 s",
        "imap: logged in, INBOX has 3 messages (1 unseen)",
        "smtp: logged in",
        "done: 1 token refresh(es) for all logins",
    ]
    # One refresh_token grant (RFC 6749 section 6) with Microsoft's mail scopes.
    assert endpoint.requests == [
        {
            "grant_type": "refresh_token",
            "refresh_token": "refresh-1",
            "client_id": "app-1",
            "scope": "https://outlook.office.com/IMAP.AccessAsUser.All "
            "https://outlook.office.com/SMTP.Send offline_access",
        }
    ]


def test_oauth2_rejected_token_is_refreshed(local_ca: tuple[trustme.CA, Path]) -> None:
    ca, pem = local_ca
    user = "alice@gmail.com"
    imap_script = [
        StartTLS(),
        Send(IMAP_GREETING),
        ReadLine(b"U1 AUTHENTICATE XOAUTH2 " + xoauth2(user, "stale") + b"\r\n"),
        # XOAUTH2's failure: a JSON challenge, answered with an empty line, then NO.
        Send(b"+ " + base64.b64encode(b'{"status":"401","schemes":"Bearer"}') + b"\r\n"),
        ReadLine(b"\r\n"),
        Send(b"U1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"),
        ReadLine(b"U2 AUTHENTICATE XOAUTH2 " + xoauth2(user, "fresh") + b"\r\n"),
        Send(b"U2 OK [CAPABILITY IMAP4rev1] welcome\r\n"),
        *imap_status_script(3),
    ]
    # The first token expires within the provider's 60 s margin, so the second login (after
    # the server refused it) trades the refresh token again.
    answers: list[dict[str, object]] = [
        {"access_token": "stale", "expires_in": 30},
        {"access_token": "fresh", "expires_in": 3600},
    ]
    with (
        TokenEndpoint(answers) as endpoint,
        ScriptedServer(imap_script, ssl_context=server_context(ca)) as imap,
    ):
        result = run_example(
            "oauth2_token_provider.py",
            "--provider", "google", "--user", user, "--client-id", "app-2",
            "--token-url", endpoint.url, "--no-smtp",
            "--imap", f"imaps://{urllib.parse.quote(user, safe='')}@127.0.0.1:{imap.port}",
            "--cafile", str(pem),
            extra_env={
                "UNIMAIL_OAUTH_REFRESH_TOKEN": "refresh-1",
                "UNIMAIL_OAUTH_CLIENT_SECRET": "secret-2",
            },
        )  # fmt: skip
    assert imap.errors == [], result.stderr
    lines = ok(result)
    assert lines[-1] == "done: 2 token refresh(es) for all logins"
    assert [r["scope"] for r in endpoint.requests] == ["https://mail.google.com/"] * 2
    assert {r["client_secret"] for r in endpoint.requests} == {"secret-2"}


def test_oauth2_token_endpoint_must_be_https() -> None:
    result = run_example(
        "oauth2_token_provider.py",
        "--provider", "google", "--user", "a@example.org", "--client-id", "x",
        "--token-url", "http://tokens.example.org/token",
        extra_env={"UNIMAIL_OAUTH_REFRESH_TOKEN": "r"},
    )  # fmt: skip
    assert result.returncode != 0
    assert "the token endpoint must be an https:// URL" in result.stderr


# -- direct MX delivery ----------------------------------------------------------------------
