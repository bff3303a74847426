"""Opening a client of any dialect on a :class:`tests.hostile.HostileServer`.

This file is the source of tests/_sync/hostile_client.py (tools/unasync.py).
"""

from __future__ import annotations

import logging
import ssl

from tests.hostile import CERTS, PASSWORD, USER
from tests.hostile_dialects import Dialect
from tests.scripted_server import ScriptedServer
from unimail import AsyncMailbox, AsyncTransport, Limits

__all__ = ["open_client", "url"]


def url(dialect: Dialect, server: ScriptedServer, *, tls: bool = False, user: str = USER) -> str:
    """The URL of ``server``: the implicit-TLS scheme with ``tls``, else the STARTTLS one."""
    scheme = dialect.tls_scheme if tls else dialect.starttls_scheme
    return f"{scheme}://{user}@{server.host}:{server.port}"


async def open_client(
    dialect: Dialect,
    server: ScriptedServer,
    *,
    tls: bool = False,
    password: str | None = PASSWORD,
    auth: str | None = None,
    security: str | None = None,
    allow_insecure_auth: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    timeout: float = 2.0,
    connect_timeout: float | None = None,
    limits: Limits | None = None,
    logger: logging.Logger | None = None,
) -> AsyncMailbox | AsyncTransport:
    """Open the mailbox (IMAP, POP3) or transport (SMTP) of ``dialect`` on ``server``.

    The client trusts the kit's CA, names itself ``client.test`` in EHLO, and has short
    timeouts (a hostile test never waits long); ``connect_timeout`` defaults to ``timeout``.
    """
    connect_timeout = timeout if connect_timeout is None else connect_timeout
    address = url(dialect, server, tls=tls)
    context = ssl_context or CERTS.client_context()
    if dialect.name == "smtp":
        return await AsyncTransport.open(
            address, password=password, auth=auth, security=security,
            allow_insecure_auth=allow_insecure_auth, ssl_context=context, timeout=timeout,
            connect_timeout=connect_timeout, limits=limits, logger=logger,
            local_hostname="client.test",
        )  # fmt: skip
    return await AsyncMailbox.open(
        address, password=password, auth=auth, security=security,
        allow_insecure_auth=allow_insecure_auth, ssl_context=context, timeout=timeout,
        connect_timeout=connect_timeout, limits=limits, logger=logger,
    )  # fmt: skip
