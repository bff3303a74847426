"""The POP3 backend: ``pop3s://`` (implicit TLS) and ``pop3://`` (STLS required).

POP3 (RFC 1939) has one folder, INBOX, and no flags. Uids are the server's UIDL values
(strings that persist across sessions); a server without UIDL gets a weaker mailbox whose uids
are this session's message numbers (ints), and which cannot delete or watch (see
:attr:`AsyncPop3Mailbox.capabilities`).

A POP3 session sees the maildrop as it was at login: messages that arrive later appear after
:meth:`AsyncPop3Mailbox.refresh` (or in :meth:`AsyncPop3Folder.watch`, which refreshes).
:meth:`AsyncPop3Folder.delete` marks messages with DELE; the server removes them only when
the session ends with a QUIT that it answers (``aclose()``, ``refresh()``). A connection that
drops, times out or is aborted deletes nothing (RFC 1939 section 6).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from .._errors import ConnectionLost, UnsupportedOperation
from .._models import Capability, FolderInfo
from .._options import Security
from .._proto.pop3._commands import Command
from .._proto.pop3._listing import Listing
from ._mailbox import AsyncMailbox
from ._pop3_auth import login
from ._pop3_client import AsyncPop3Client
from ._pop3_folder import AsyncPop3Folder, read_listing

__all__ = ["AsyncPop3Folder", "AsyncPop3Mailbox"]


class AsyncPop3Mailbox(AsyncMailbox):
    """A maildrop on a POP3 server (RFC 1939, with RFC 2449 extensions).

    Open it with ``AsyncMailbox.open("pop3s://user@host", password=...)``; use it as a context
    manager, so that the session ends with QUIT (which is when deletions take effect).
    """

    schemes: ClassVar[dict[str, Security]] = {"pop3": Security.STARTTLS, "pop3s": Security.TLS}

    _client: AsyncPop3Client | None = None
    _listing: Listing | None = None
    _method: str = ""

    async def _connect(self) -> None:
        client = await AsyncPop3Client.connect(self._options)
        self._client = client
        self._method = await login(client)
        self._listing = None
        caps = client.capabilities
        if not caps.known:
            # An RFC 1939 server without CAPA: whether it has UIDL shows when it is asked.
            await self._get_listing()
        self._capabilities = frozenset({Capability.DELETE} if self.has_uidl else ())

    @property
    def client(self) -> AsyncPop3Client:
        """The underlying POP3 connection (for commands the Mailbox API does not cover).

        Raises:
            ConnectionLost: the mailbox is closed.
        """
        if self._client is None:
            raise ConnectionLost("the mailbox is closed")
        return self._client

    @property
    def has_uidl(self) -> bool:
        """True when uids are the server's UIDL values (stable across sessions)."""
        client = self.client
        if self._listing is not None:  # what the server did, rather than what it announced
            return self._listing.has_uidl
        return not client.capabilities.known or "UIDL" in client.capabilities

    @property
    def auth_method(self) -> str:
        """How this session logged in: ``"USER"``, ``"APOP"`` or a SASL mechanism name."""
        return self._method

    @property
    def server_capabilities(self) -> frozenset[str]:
        """The CAPA tags the server announced after login, upper case (``"PIPELINING"``,
        ``"TOP"``, ``"UIDL"``, ``"RESP-CODES"``, ...); empty for a server without CAPA."""
        return self.client.capabilities.names

    @property
    def pipelining(self) -> bool:
        """True when commands are sent in batches without waiting (RFC 2449 PIPELINING)."""
        return self.client.capabilities.pipelining

    @property
    def expire(self) -> int | Literal["NEVER"] | None:
        """The server's EXPIRE policy (RFC 2449 section 6.7): how many days it keeps a
        message after it was retrieved (``0``: it deletes retrieved messages at the end of the
        session, whatever the client does), ``"NEVER"``, or ``None`` when not announced."""
        caps = self.client.capabilities
        return "NEVER" if caps.expire_never else caps.expire

    @property
    def login_delay(self) -> int | None:
        """The LOGIN-DELAY the server announced (RFC 2449 section 6.5): the minimum number of
        seconds between two logins, or ``None``. Logging in sooner fails with a temporary
        ``CommandError`` whose ``enhanced_code`` is ``"LOGIN-DELAY"``."""
        return self.client.capabilities.login_delay

    @property
    def greeting(self) -> str:
        """The text of the server's greeting (sanitised)."""
        return self.client.greeting.text

    async def folders(self) -> list[FolderInfo]:
        """Return the one folder of a POP3 maildrop: INBOX."""
        return [FolderInfo(name="INBOX")]

    def folder(self, name: str = "INBOX") -> AsyncPop3Folder:
        """Return the INBOX folder (no I/O).

        Raises:
            UnsupportedOperation: ``name`` is not INBOX (capability ``FOLDERS``): POP3 has one.
        """
        if not isinstance(name, str) or name.upper() != "INBOX":
            raise self._unsupported(f"open folder {name!r} (POP3 has only INBOX)", "FOLDERS")
        return AsyncPop3Folder(self, "INBOX")

    async def _get_listing(self) -> Listing:
        if self._listing is None:
            self._listing = await read_listing(self.client)
            # A server may announce UIDL and then refuse it: believe what it did.
            self._capabilities = frozenset({Capability.DELETE} if self.has_uidl else ())
        return self._listing

    async def reset(self) -> None:
        """Unmark every message marked for deletion in this session (RSET, RFC 1939 5).

        Raises:
            CommandError: the server refused.
        """
        await self.client.simple(Command.make("RSET"))
        if self._listing is not None:
            self._listing.deleted.clear()

    async def noop(self) -> None:
        """Keep the session alive (NOOP): servers close idle sessions after 10 minutes."""
        await self.client.simple(Command.make("NOOP"))

    async def refresh(self) -> None:
        """End this session with QUIT (committing the deletions made so far) and log in again,
        so that messages that arrived since the last login become visible.

        Raises:
            CommandError: QUIT was answered ``-ERR`` (some deletions failed), or logging in
                again was refused for a reason other than the credentials (such as
                ``[LOGIN-DELAY]``, temporary).
            ConnectionLost, Timeout: QUIT got no answer; whether the deletions were
                committed is unknown, and the mailbox stays closed.
        """
        client, self._client, self._listing = self.client, None, None
        await client.quit()
        await self._connect()

    async def _reconnect(self) -> Listing:
        """Log in again after the connection broke in the middle of a batch (``_pop3_batch``),
        with the same options and credentials, and return the new session's listing.

        The dead session never sent QUIT, so it deleted nothing (RFC 1939 section 6): what it
        had marked with DELE is marked again here, by UIDL (message numbers may differ in the
        new session), so that the caller's ``delete()`` calls still take effect at QUIT.

        Raises:
            CommandError: logging in again was refused (such as ``[LOGIN-DELAY]``), or a DELE
                marking a message again was (the others are marked).
            UnsupportedOperation: the new session has no UIDL to name the messages by.
            ConnectionLost, Timeout, AuthenticationError: the new login failed (the mailbox
                stays closed).
        """
        old = self._listing
        marked = [old.uid_of[n] for n in sorted(old.deleted)] if old is not None else []
        client, self._client, self._listing = self._client, None, None
        if client is not None:
            await client.abort()  # never QUIT: it would commit the dead session's DELEs
        try:
            await self._connect()
        except BaseException:
            await self.abort()
            raise
        listing = await self._get_listing()
        if not listing.has_uidl:
            raise UnsupportedOperation(
                "the server gave no UIDL after logging in again", capability="UIDL"
            )
        if marked:
            await self.folder().delete(marked)
        return listing

    async def aclose(self) -> None:
        """End the session with QUIT, which commits deletions, and close the connection.

        Safe to call more than once; never raises. When the connection is already broken,
        nothing marked for deletion is deleted.
        """
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def abort(self) -> None:
        """Close the connection without QUIT: the messages marked for deletion in this
        session stay on the server (RFC 1939 section 6)."""
        client, self._client = self._client, None
        if client is not None:
            await client.abort()
