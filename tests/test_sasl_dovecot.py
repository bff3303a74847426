"""Every SASL mechanism that Dovecot offers, driven by hand over IMAPS AUTHENTICATE, for every
test user (names and passwords with non-ASCII, quotes and backslashes), with and without
SASL-IR.
"""

from __future__ import annotations

import base64
import socket

import pytest

from mailservers import MailServers
from unimail._proto.sasl import (
    Mechanism,
    choose_mechanism,
    create_mechanism,
)

# --- against the real Dovecot ------------------------------------------------------------------


DOVECOT_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256")
USERS = ("alice", "bob", "carol", "dave")


def imap_authenticate(
    servers: MailServers, mech: Mechanism, *, sasl_ir: bool
) -> tuple[bytes, list[bytes]]:
    """Run ``A1 AUTHENTICATE`` over IMAPS by hand; return the tagged reply and the challenges.

    Calls ``finish(None)`` on the tagged OK (IMAP carries no data with success).
    """
    host, port = servers.host, servers.imaps_port
    challenges: list[bytes] = []
    with (
        socket.create_connection((host, port), timeout=15) as raw,
        servers.ssl_context().wrap_socket(raw, server_hostname=host) as tls,
        tls.makefile("rb") as reader,
    ):
        greeting = reader.readline()
        assert greeting.startswith(b"* OK"), greeting
        assert b"SASL-IR" in greeting, greeting
        assert f"AUTH={mech.name}".encode() in greeting, greeting
        command = b"A1 AUTHENTICATE " + mech.name.encode()
        initial = mech.initial_response() if sasl_ir else None
        if initial is not None:
            command += b" " + (base64.b64encode(initial) or b"=")
        tls.sendall(command + b"\r\n")
        while True:
            line = reader.readline()
            assert line.endswith(b"\r\n"), line
            line = line[:-2]
            if line.startswith(b"+"):
                challenge = base64.b64decode(line[1:].strip(), validate=True)
                challenges.append(challenge)
                tls.sendall(base64.b64encode(mech.respond(challenge)) + b"\r\n")
            elif line.startswith(b"A1 "):
                break
        if line.startswith(b"A1 OK"):
            mech.finish(None)
        tls.sendall(b"A2 LOGOUT\r\n")
        return line, challenges


@pytest.mark.servers
@pytest.mark.parametrize("sasl_ir", [True, False], ids=["sasl-ir", "no-sasl-ir"])
@pytest.mark.parametrize("user", USERS)
@pytest.mark.parametrize("name", DOVECOT_MECHANISMS)
def test_dovecot_imap_authenticate(
    mail_servers: MailServers, name: str, user: str, sasl_ir: bool
) -> None:
    assert choose_mechanism(DOVECOT_MECHANISMS, password=True) == "SCRAM-SHA-256"
    mech = create_mechanism(name, username=user, password=mail_servers.users[user])
    reply, challenges = imap_authenticate(mail_servers, mech, sasl_ir=sasl_ir)
    assert reply.startswith(b"A1 OK"), reply
    assert mech.complete
    if name.startswith("SCRAM"):
        # Dovecot sends server-final as a last "+ " challenge; respond() verified it.
        assert challenges[-1].startswith(b"v="), challenges
        assert len(challenges) == (2 if sasl_ir else 3)


@pytest.mark.servers
@pytest.mark.parametrize("name", DOVECOT_MECHANISMS)
def test_dovecot_refuses_a_wrong_password(mail_servers: MailServers, name: str) -> None:
    mech = create_mechanism(name, username="bob", password="not the password")
    reply, challenges = imap_authenticate(mail_servers, mech, sasl_ir=True)
    assert reply.startswith(b"A1 NO"), reply
    if name.startswith("SCRAM"):
        # Dovecot refuses the proof with a tagged NO, never with a forged server-final.
        assert not any(challenge.startswith(b"v=") for challenge in challenges)
        assert not mech.complete
