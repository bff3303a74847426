"""Log in to Gmail or Microsoft 365 with OAuth2: a token provider that refreshes access tokens.

    UNIMAIL_OAUTH_REFRESH_TOKEN=... UNIMAIL_OAUTH_CLIENT_SECRET=... \\
        python3 examples/oauth2_token_provider.py --provider google \\
        --user alice@gmail.com --client-id 1234.apps.googleusercontent.com

    UNIMAIL_OAUTH_REFRESH_TOKEN=... python3 examples/oauth2_token_provider.py \\
        --provider microsoft --tenant contoso.onmicrosoft.com \\
        --user alice@contoso.com --client-id 00000000-0000-0000-0000-000000000000

unimail takes the provider as ``auth=``: a callable that returns an access token. It is called
at every login, and once more when an IMAP or POP3 server refuses a token (it may have expired
since). The provider below keeps the access token until shortly before it expires and then
trades the refresh token for a new one at the provider's token endpoint (RFC 6749 section 6).
Getting the first refresh token (the user's consent in a browser) is the job of your
application or of the provider's own library; it is not shown here. The refresh token and
client secret come from the environment, never from the command line. ``--token-url``,
``--imap``, ``--smtp`` and ``--cafile`` point it at test servers.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

import unimail


# --8<-- [start:providers]
@dataclass(frozen=True)
class Preset:
    """Where a provider's token endpoint and mail servers are, and the scopes mail needs."""

    endpoint: str  # the token endpoint
    scopes: tuple[str, ...]
    imap: str
    smtp: str


PROVIDERS = {
    "google": Preset(
        endpoint="https://oauth2.googleapis.com/token",
        scopes=("https://mail.google.com/",),  # IMAP, POP3 and SMTP alike
        imap="imaps://{user}@imap.gmail.com",
        smtp="smtps://{user}@smtp.gmail.com",
    ),
    "microsoft": Preset(
        endpoint="https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        scopes=(
            "https://outlook.office.com/IMAP.AccessAsUser.All",
            "https://outlook.office.com/SMTP.Send",
            "offline_access",  # without it no refresh token is issued
        ),
        imap="imaps://{user}@outlook.office365.com",
        smtp="smtp://{user}@smtp.office365.com:587",
    ),
}
# --8<-- [end:providers]


# --8<-- [start:provider]
class RefreshingTokenProvider:
    """An OAuth2 access-token provider for ``auth=``: refreshes the token when it is about to
    expire with the ``refresh_token`` grant (RFC 6749 section 6).

    Thread-safe: one refresh at a time, shared by every connection that uses the provider.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        refresh_token: str,
        scopes: Sequence[str],
        *,
        client_secret: str | None = None,
        tls: ssl.SSLContext | None = None,
        margin: float = 60.0,
    ) -> None:
        """Remember the client's credentials; no request is made until the first call."""
        parts = urllib.parse.urlsplit(token_url)
        loopback = parts.hostname == "localhost" or _is_loopback(parts.hostname or "")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("the token endpoint must be an https:// URL")
        self._token_url = token_url
        self._client_id = client_id
        self._refresh_token = refresh_token
        self._client_secret = client_secret
        self._scopes = " ".join(scopes)
        self._tls = tls
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.refreshes = 0

    def __call__(self) -> str:
        """Return an access token valid for at least ``margin`` more seconds."""
        with self._lock:
            if self._token is None or time.monotonic() > self._expires - self._margin:
                self._refresh()
            assert self._token is not None
            return self._token

    def _refresh(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self._client_id,
            "scope": self._scopes,
        }
        if self._client_secret:
            form["client_secret"] = self._client_secret
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked in __init__)
            self._token_url,
            data=urllib.parse.urlencode(form).encode("ascii"),
            headers={"Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30, context=self._tls) as response:  # noqa: S310
            answer = json.load(response)
        self._token = str(answer["access_token"])
        self._expires = time.monotonic() + float(answer.get("expires_in", 3600))
        # RFC 6749 section 6: the server may issue a new refresh token; keep using the newest
        # (Microsoft's identity platform does this).
        self._refresh_token = str(answer.get("refresh_token", self._refresh_token))
        self.refreshes += 1
        print(f"token: refreshed, valid for {answer.get('expires_in', '?')} s")


# --8<-- [end:provider]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --8<-- [start:login]
def check_logins(
    provider: RefreshingTokenProvider,
    imap_url: str,
    smtp_url: str | None,
    tls: ssl.SSLContext | None,
) -> None:
    """Log in to IMAP (and SMTP) with the same provider: one token serves both logins."""
    with unimail.Mailbox.open(imap_url, auth=provider, ssl_context=tls) as box:
        status = box.folder("INBOX").status()
        print(f"imap: logged in, INBOX has {status.messages} messages ({status.unseen} unseen)")
    if smtp_url is not None:
        with unimail.Transport.open(smtp_url, auth=provider, ssl_context=tls):
            print("smtp: logged in")


# --8<-- [end:login]


def main() -> None:
    """Parse the command line, build the provider and log in with it."""
    parser = argparse.ArgumentParser(description="Log in with OAuth2 (XOAUTH2 / OAUTHBEARER).")
    parser.add_argument("--provider", choices=sorted(PROVIDERS), required=True)
    parser.add_argument("--user", required=True, help="the mail address to log in as")
    parser.add_argument("--client-id", required=True, help="your application's client id")
    parser.add_argument("--tenant", default="common", help="Microsoft: the directory (tenant)")
    parser.add_argument("--token-url", help="override the provider's token endpoint")
    parser.add_argument("--imap", help="override the IMAP URL")
    parser.add_argument("--smtp", help="override the SMTP URL")
    parser.add_argument("--no-smtp", action="store_true", help="log in to IMAP only")
    parser.add_argument("--cafile", help="trust this CA (PEM file) instead of the system's")
    args = parser.parse_args()
    preset = PROVIDERS[args.provider]
    refresh_token = os.environ.get("UNIMAIL_OAUTH_REFRESH_TOKEN")
    if not refresh_token:
        raise SystemExit("set UNIMAIL_OAUTH_REFRESH_TOKEN to the user's refresh token")
    user = urllib.parse.quote(args.user, safe="")  # the user name is percent-encoded in URLs
    tls = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    provider = RefreshingTokenProvider(
        args.token_url or preset.endpoint.format(tenant=args.tenant),
        args.client_id,
        refresh_token,
        preset.scopes,
        client_secret=os.environ.get("UNIMAIL_OAUTH_CLIENT_SECRET"),
        tls=tls,
    )
    imap_url = args.imap or preset.imap.format(user=user)
    smtp_url = None if args.no_smtp else (args.smtp or preset.smtp.format(user=user))
    check_logins(provider, imap_url, smtp_url, tls)
    print(f"done: {provider.refreshes} token refresh(es) for all logins")


if __name__ == "__main__":
    main()
