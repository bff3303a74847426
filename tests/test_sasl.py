"""The SASL client core (unimail._proto.sasl): RFC test vectors, every mechanism's bytes and
failure paths, SASLprep, mechanism choice, credential checks, fuzzing, and every mechanism that
Dovecot offers driven by hand over IMAPS AUTHENTICATE.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailservers import MailServers
from unimail._errors import (
    AuthenticationError,
    InvalidArgument,
    LimitExceeded,
    ProtocolError,
    UnimailError,
    UnsupportedOperation,
)
from unimail._proto.sasl import (
    MAX_ITERATIONS,
    NONCE_BYTES,
    STRENGTH,
    CramMd5Mechanism,
    LoginMechanism,
    Mechanism,
    OAuthBearerMechanism,
    PlainMechanism,
    ScramMechanism,
    XOAuth2Mechanism,
    choose_mechanism,
    create_mechanism,
    saslprep,
)

PASSWORD = "s3cret-Pässword"
TOKEN = "ya29.a0AfH6SMBx-secret_token~value/+=="

# RFC 5802 section 5 (SCRAM-SHA-1) and RFC 7677 section 3 (SCRAM-SHA-256).
SHA1_NONCE = "fyko+d2lbbFgONRv9qkxdawL"
SHA1_SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
SHA1_CLIENT_FINAL = (
    b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
)
SHA1_SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
SHA256_NONCE = "rOprNGfwEbeRWgbNEkqO"
SHA256_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
SHA256_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
SHA256_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def scram_sha1() -> ScramMechanism:
    return ScramMechanism("SCRAM-SHA-1", username="user", password="pencil", nonce=SHA1_NONCE)


def scram_sha256() -> ScramMechanism:
    return ScramMechanism("SCRAM-SHA-256", username="user", password="pencil", nonce=SHA256_NONCE)


def scram_at_final() -> ScramMechanism:
    """A SCRAM-SHA-1 exchange (RFC 5802 vector) waiting for the server-final message."""
    mech = scram_sha1()
    mech.initial_response()
    assert mech.respond(SHA1_SERVER_FIRST) == SHA1_CLIENT_FINAL
    assert not mech.complete
    return mech


# --- SCRAM: the RFC test vectors ---------------------------------------------------------------


def test_scram_sha1_rfc5802_vector() -> None:
    mech = scram_sha1()
    assert mech.name == "SCRAM-SHA-1"
    assert mech.initial_response() == b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
    assert mech.respond(SHA1_SERVER_FIRST) == SHA1_CLIENT_FINAL
    # Dovecot's way: the server-final arrives as a last challenge, answered empty.
    assert mech.respond(SHA1_SERVER_FINAL) == b""
    assert mech.complete
    mech.finish(None)
    assert mech.complete


def test_scram_sha256_rfc7677_vector() -> None:
    mech = scram_sha256()
    assert mech.name == "SCRAM-SHA-256"
    assert mech.initial_response() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert mech.respond(SHA256_SERVER_FIRST) == SHA256_CLIENT_FINAL
    # The other way: the server-final arrives with the success reply.
    mech.finish(SHA256_SERVER_FINAL)
    assert mech.complete


def test_scram_without_sasl_ir_answers_the_empty_prompt_with_client_first() -> None:
    mech = scram_sha256()
    assert mech.respond(b"") == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    assert mech.respond(SHA256_SERVER_FIRST) == SHA256_CLIENT_FINAL
    assert mech.respond(SHA256_SERVER_FINAL) == b""
    mech.finish(SHA256_SERVER_FINAL)  # the same server-final again is still fine
    assert mech.complete


def test_scram_server_first_extensions_are_ignored_and_authzid_is_escaped() -> None:
    mech = ScramMechanism(
        "scram-sha-1", username="us=er,1", password="pencil", authzid="ad,m=n", nonce="abc"
    )
    assert mech.name == "SCRAM-SHA-1"
    first = mech.initial_response()
    assert first == b"n,a=ad=2Cm=3Dn,n=us=3Der=2C1,r=abc"
    final = mech.respond(b"r=abcdef,s=QSXCR+Q6sek8bf92,i=1,x=ext")
    # c= is base64 of the gs2 header, authzid included.
    assert final.startswith(b"c=" + base64.b64encode(b"n,a=ad=2Cm=3Dn,") + b",r=abcdef,p=")


def test_scram_username_goes_through_saslprep() -> None:
    mech = ScramMechanism("SCRAM-SHA-256", username="I\u00adX", password="pencil", nonce="abc")
    assert mech.initial_response() == b"n,,n=IX,r=abc"


def test_scram_default_nonce_is_random_base64_without_commas() -> None:
    nonces = set()
    for _ in range(5):
        first = ScramMechanism("SCRAM-SHA-256", username="u", password="p").initial_response()
        nonce = first.split(b",r=", 1)[1]
        assert b"," not in nonce
        assert len(base64.b64decode(nonce, validate=True)) >= NONCE_BYTES >= 24
        nonces.add(nonce)
    assert len(nonces) == 5


# --- SCRAM: failures ---------------------------------------------------------------------------


def test_scram_bad_server_signature_in_last_challenge() -> None:
    mech = scram_at_final()
    with pytest.raises(AuthenticationError, match="signature does not verify"):
        mech.respond(b"v=" + base64.b64encode(b"\0" * 20))
    assert not mech.complete
    # The exchange stays failed: a later success cannot rescue it.
    with pytest.raises(ProtocolError, match="already failed"):
        mech.finish(None)


def test_scram_bad_server_signature_in_success_data() -> None:
    mech = scram_at_final()
    with pytest.raises(AuthenticationError, match="signature does not verify"):
        mech.finish(SHA256_SERVER_FINAL)
    assert not mech.complete


def test_scram_success_without_server_signature_is_refused() -> None:
    mech = scram_at_final()
    with pytest.raises(AuthenticationError, match="did not prove"):
        mech.finish(None)


@pytest.mark.parametrize("steps", [0, 1])
def test_scram_success_before_the_proof_is_refused(steps: int) -> None:
    mech = scram_sha1()
    if steps:
        mech.initial_response()
    with pytest.raises(AuthenticationError, match="before the exchange was done"):
        mech.finish(b"")


def test_scram_server_error_is_an_authentication_error() -> None:
    mech = scram_at_final()
    with pytest.raises(AuthenticationError, match="invalid-proof"):
        mech.respond(b"e=invalid-proof")


def test_scram_challenge_after_verification_is_a_protocol_error() -> None:
    mech = scram_at_final()
    mech.respond(SHA1_SERVER_FINAL)
    with pytest.raises(ProtocolError, match="after SCRAM-SHA-1 completed"):
        mech.respond(b"")


@pytest.mark.parametrize(
    "server_first",
    [
        # Does not start with the client nonce, or adds nothing to it.
        b"r=XXXX+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        b"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",
        b"r=3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    ],
)
def test_scram_server_nonce_must_extend_the_client_nonce(server_first: bytes) -> None:
    # Documented choice: ProtocolError (the server broke RFC 5802 section 5.1's rule); only a
    # failed signature check is an AuthenticationError.
    mech = scram_sha1()
    mech.initial_response()
    with pytest.raises(ProtocolError, match="does not extend the client nonce"):
        mech.respond(server_first)


@pytest.mark.parametrize(
    "count",
    [b"0", b"000", str(10**9).encode(), str(MAX_ITERATIONS + 1).encode(), b"9" * 5000],
)
def test_scram_iteration_count_out_of_bounds(count: bytes) -> None:
    mech = scram_sha1()
    mech.initial_response()
    with pytest.raises(LimitExceeded, match="iteration count"):
        mech.respond(SHA1_SERVER_FIRST.replace(b"i=4096", b"i=" + count))


def test_scram_iteration_count_at_the_bound_is_accepted() -> None:
    mech = scram_sha1()
    mech.initial_response()
    assert mech.respond(SHA1_SERVER_FIRST.replace(b"i=4096", b"i=1")).startswith(b"c=biws,")


@pytest.mark.parametrize(
    ("server_first", "match"),
    [
        (b"", "malformed"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92", "malformed"),
        (b"s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096", "malformed"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096,s=QSXCR+Q6sek8bf92", "malformed"),
        (b"m=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=1", "extension"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=not base64!,i=4096", "salt is not valid base64"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf9,i=4096", "salt is not valid base64"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSX\xc3\xa9,i=4096", "salt is not valid base64"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=-1", "not a number"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=\xd9\xa1", "not a number"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL3r c,s=QSXCR+Q6sek8bf92,i=1", "nonce holds"),
        (b"r=fyko+d2lbbFgONRv9qkxdawL\xff,s=QSXCR+Q6sek8bf92,i=1", "not valid UTF-8"),
    ],
)
def test_scram_malformed_server_first(server_first: bytes, match: str) -> None:
    mech = scram_sha1()
    mech.initial_response()
    with pytest.raises(ProtocolError, match=match):
        mech.respond(server_first)
    with pytest.raises(ProtocolError, match="already failed"):
        mech.respond(SHA1_SERVER_FIRST)


@pytest.mark.parametrize(
    ("server_final", "match"),
    [
        (b"", "malformed"),
        (b"x=1", "malformed"),
        (b"v=not base64!", "not valid base64"),
        (b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=\xff", "not valid UTF-8"),
    ],
)
def test_scram_malformed_server_final(server_final: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        scram_at_final().respond(server_final)
    if server_final:
        with pytest.raises(ProtocolError, match=match):
            scram_at_final().finish(server_final)


def test_scram_server_final_extensions_are_ignored() -> None:
    mech = scram_at_final()
    mech.finish(SHA1_SERVER_FINAL + b",x=extension")
    assert mech.complete


# --- SASLprep (RFC 4013 section 3) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "prepared"),
    [
        ("I\u00adX", "IX"),  # SOFT HYPHEN mapped to nothing
        ("user", "user"),
        ("USER", "USER"),  # case is preserved
        ("\u00aa", "a"),  # NFKC
        ("\u2168", "IX"),  # NFKC: ROMAN NUMERAL NINE
        ("a\u00a0b", "a b"),  # non-ASCII space mapped to SPACE
        ("\u0627\u0628", "\u0627\u0628"),  # right-to-left only: fine
        ('d "quoted" \\back slash', 'd "quoted" \\back slash'),  # ASCII space kept
        ("emoji \U0001f600", "emoji \U0001f600"),  # unassigned in Unicode 3.2: allowed (query)
    ],
)
def test_saslprep(given: str, prepared: str) -> None:
    assert saslprep(given, "user name") == prepared


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ("\u0007", "prohibits"),  # control character
        ("a\u2028b", "prohibits"),  # LINE SEPARATOR: non-ASCII control
        ("a\ue000", "prohibits"),  # private use
        ("a\ud800", "prohibits"),  # surrogate
        ("\u0627\u0031", "right-to-left"),  # RandALCat must also end the string
        ("\u0627a\u0628", "right-to-left"),  # RandALCat mixed with LCat
    ],
)
def test_saslprep_refuses(given: str, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        saslprep(given, "user name")


def test_saslprep_of_a_secret_does_not_show_the_character() -> None:
    with pytest.raises(InvalidArgument) as caught:
        saslprep("pass\u0007word", "password", secret=True)
    assert "U+0007" not in str(caught.value)
    with pytest.raises(InvalidArgument, match="U\\+0007"):
        saslprep("user\u0007", "user name")


def test_scram_refuses_credentials_saslprep_rejects() -> None:
    with pytest.raises(InvalidArgument, match="password contains a character") as caught:
        create_mechanism("SCRAM-SHA-256", username="u", password="hunter\u0007two")
    assert "hunter" not in str(caught.value)
    with pytest.raises(InvalidArgument, match="user name"):
        create_mechanism("SCRAM-SHA-1", username="\u0627\u0031", password="p")
    with pytest.raises(InvalidArgument, match="empty after SASLprep"):
        create_mechanism("SCRAM-SHA-1", username="\u00ad", password="p")
    with pytest.raises(InvalidArgument, match="nonce"):
        ScramMechanism("SCRAM-SHA-1", username="u", password="p", nonce="a,b")
    with pytest.raises(InvalidArgument, match="unknown SCRAM variant"):
        ScramMechanism("SCRAM-MD5", username="u", password="p")


# --- CRAM-MD5, PLAIN, LOGIN --------------------------------------------------------------------


def test_cram_md5_rfc2195_example() -> None:
    mech = create_mechanism("cram-md5", username="tim", password="tanstaaftanstaaf")
    assert isinstance(mech, CramMd5Mechanism)
    assert mech.initial_response() is None
    challenge = base64.b64decode("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
    assert challenge == b"<1896.697170952@postoffice.reston.mci.net>"
    response = mech.respond(challenge)
    assert base64.b64encode(response) == b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
    assert response == b"tim b913a602c7eda7a495b4e6e7334d3890"
    assert mech.complete
    mech.finish(None)
    with pytest.raises(ProtocolError, match="second CRAM-MD5 challenge"):
        mech.respond(challenge)


def test_cram_md5_refuses_an_empty_challenge() -> None:
    with pytest.raises(ProtocolError, match="empty CRAM-MD5 challenge"):
        create_mechanism("CRAM-MD5", username="tim", password="x").respond(b"")


def test_plain_with_authzid_and_utf8() -> None:
    mech = create_mechanism("Plain", username="j\u00f6rg", password="p\u00e4ss", authzid="admin")
    assert isinstance(mech, PlainMechanism)
    assert mech.name == "PLAIN"
    assert mech.initial_response() == b"admin\0j\xc3\xb6rg\0p\xc3\xa4ss"
    assert mech.complete
    with pytest.raises(ProtocolError, match="after PLAIN's only message"):
        mech.respond(b"")


def test_plain_without_sasl_ir_answers_the_empty_prompt() -> None:
    mech = create_mechanism("PLAIN", username="tim", password="tanstaaf", authzid="")
    assert not mech.complete
    assert mech.respond(b"") == b"\0tim\0tanstaaf"
    assert mech.complete
    mech.finish(b"ignored additional data")
    assert mech.complete


def test_plain_password_may_hold_cr_lf_but_no_nul() -> None:
    mech = create_mechanism("PLAIN", username="u", password="a\r\nb")
    assert mech.initial_response() == b"\0u\0a\r\nb"
    with pytest.raises(InvalidArgument, match="password contains NUL") as caught:
        create_mechanism("PLAIN", username="u", password="hunter\0two")
    assert "hunter" not in str(caught.value)


@pytest.mark.parametrize(
    "prompts",
    [
        (b"Username:", b"Password:"),
        (b"Benutzername:", b"Passwort:"),  # localised
        (b"", b""),  # no prompt text at all
        (b"Password:", b"Username:"),  # misleading text: position wins
    ],
)
def test_login_answers_by_position(prompts: tuple[bytes, bytes]) -> None:
    mech = create_mechanism("LOGIN", username="tim", password="p\u00e4ss")
    assert isinstance(mech, LoginMechanism)
    assert mech.initial_response() is None
    assert mech.respond(prompts[0]) == b"tim"
    assert not mech.complete
    assert mech.respond(prompts[1]) == b"p\xc3\xa4ss"
    assert mech.complete
    with pytest.raises(ProtocolError, match="third LOGIN challenge"):
        mech.respond(b"More:")


# --- XOAUTH2 and OAUTHBEARER -------------------------------------------------------------------


GOOGLE_ERROR = b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'


def test_xoauth2_bytes_and_error_flow() -> None:
    mech = create_mechanism("xoauth2", username="someuser@example.com", token="ya29.vF9dft4q")
    assert isinstance(mech, XOAuth2Mechanism)
    assert mech.initial_response() == (
        b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4q\x01\x01"
    )
    assert mech.complete
    assert mech.error is None
    assert mech.error_status is None
    assert mech.respond(GOOGLE_ERROR) == b""
    assert mech.error == GOOGLE_ERROR.decode()
    assert mech.error_status == "401"
    with pytest.raises(ProtocolError, match="second XOAUTH2 challenge"):
        mech.respond(GOOGLE_ERROR)


def test_xoauth2_without_sasl_ir() -> None:
    mech = create_mechanism("XOAUTH2", username="u@example.com", token="tok")
    assert isinstance(mech, XOAuth2Mechanism)
    assert mech.respond(b"") == b"user=u@example.com\x01auth=Bearer tok\x01\x01"
    mech.finish(None)
    assert mech.complete
    assert mech.error is None


def test_oauthbearer_bytes_rfc7628_example_and_error_flow() -> None:
    # RFC 7628 section 4.1's example.
    mech = create_mechanism(
        "OAUTHBEARER",
        username="user@example.com",
        token="vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
        host="server.example.com",
        port=143,
    )
    assert isinstance(mech, OAuthBearerMechanism)
    assert mech.initial_response() == (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )
    error = json.dumps({"status": "invalid_token", "scope": "example_scope"}).encode()
    assert mech.respond(error) == b"\x01"  # RFC 7628 section 3.2.3
    assert mech.error_status == "invalid_token"


def test_oauthbearer_authzid_escaping_and_optional_host_port() -> None:
    mech = create_mechanism("oauthbearer", username="u", token="t", authzid="a=b,c")
    assert mech.initial_response() == b"n,a=a=3Db=2Cc,\x01auth=Bearer t\x01\x01"


@pytest.mark.parametrize("error", [b"not json", b"[1, 2]", b'{"status": 401}', b"[" * 100_000])
def test_oauth_error_without_a_status(error: bytes) -> None:
    mech = create_mechanism("OAUTHBEARER", username="u", token="t")
    assert isinstance(mech, OAuthBearerMechanism)
    mech.initial_response()
    assert mech.respond(error) == b"\x01"
    assert mech.error is not None
    assert mech.error_status is None


# --- creating and choosing ---------------------------------------------------------------------


def test_strength_order() -> None:
    assert STRENGTH == (
        "OAUTHBEARER",
        "XOAUTH2",
        "SCRAM-SHA-256",
        "SCRAM-SHA-1",
        "CRAM-MD5",
        "PLAIN",
        "LOGIN",
    )


@pytest.mark.parametrize(
    ("server", "password", "token", "expected"),
    [
        (
            ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"],
            True,
            False,
            "SCRAM-SHA-256",
        ),
        (["plain", "scram-sha-1", "login"], True, False, "SCRAM-SHA-1"),
        (["PLAIN", "LOGIN", "CRAM-MD5"], True, False, "CRAM-MD5"),
        (["LOGIN", "PLAIN"], True, False, "PLAIN"),
        (["LOGIN"], True, False, "LOGIN"),
        (["SCRAM-SHA-256-PLUS", "PLAIN"], True, False, "PLAIN"),
        (["XOAUTH2", "OAUTHBEARER", "PLAIN"], False, True, "OAUTHBEARER"),
        (["XOAUTH2", "PLAIN"], False, True, "XOAUTH2"),
        (["PLAIN", "XOAUTH2"], True, True, "XOAUTH2"),
        (["PLAIN", "OAUTHBEARER"], True, False, "PLAIN"),
    ],
)
def test_choose_the_strongest(
    server: list[str], password: bool, token: bool, expected: str
) -> None:
    assert choose_mechanism(server, password=password, token=token) == expected


def test_choose_requested() -> None:
    assert choose_mechanism(["PLAIN", "LOGIN"], requested="login", password=True) == "LOGIN"
    with pytest.raises(UnsupportedOperation, match="does not offer SASL mechanism CRAM-MD5") as e:
        choose_mechanism(["PLAIN", "LOGIN"], requested="cram-md5", password=True)
    assert e.value.capability == "AUTH=CRAM-MD5"
    assert "PLAIN, LOGIN" in str(e.value)
    with pytest.raises(InvalidArgument, match="unknown SASL mechanism 'GSSAPI'"):
        choose_mechanism(["GSSAPI"], requested="GSSAPI", password=True)


@pytest.mark.parametrize(
    ("server", "password", "token", "match"),
    [
        (["GSSAPI", "NTLM"], True, False, "server offers GSSAPI, NTLM"),
        (["PLAIN", "LOGIN"], False, True, "with a token; the server offers PLAIN, LOGIN"),
        (["XOAUTH2"], True, False, "with a password; the server offers XOAUTH2"),
        ([], True, True, "the server offers none"),
        (["PLAIN"], False, False, "no password or token"),
        (["BAD\r\nNAME"], True, False, "offers BAD\\?\\?NAME"),  # server text is sanitised
    ],
)
def test_choose_finds_nothing(server: list[str], password: bool, token: bool, match: str) -> None:
    with pytest.raises(AuthenticationError, match=f"no acceptable SASL mechanism.*{match}"):
        choose_mechanism(server, password=password, token=token)


@pytest.mark.parametrize("name", STRENGTH)
def test_create_every_mechanism(name: str) -> None:
    mech = create_mechanism(name.lower(), username="alice", password=PASSWORD, token=TOKEN)
    assert isinstance(mech, Mechanism)
    assert mech.name == name
    assert mech.client_first == (mech.initial_response() is not None)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "GSSAPI", "username": "u", "password": "p"}, "unknown SASL mechanism"),
        ({"name": "PLAIN", "username": "u"}, "PLAIN needs a password"),
        ({"name": "SCRAM-SHA-1", "username": "u", "token": "t"}, "needs a password"),
        ({"name": "XOAUTH2", "username": "u", "password": "p"}, "XOAUTH2 needs an OAuth token"),
        ({"name": "PLAIN", "username": "", "password": "p"}, "user name must not be empty"),
        ({"name": "LOGIN", "username": "u", "password": "p", "authzid": "a"}, "authzid"),
        ({"name": "CRAM-MD5", "username": "u", "password": "p", "authzid": "a"}, "authzid"),
        ({"name": "XOAUTH2", "username": "u", "token": "t", "authzid": "a"}, "authzid"),
        ({"name": "LOGIN", "username": "u", "password": "p\0"}, "password contains NUL"),
        ({"name": "XOAUTH2", "username": "u\x01", "token": "t"}, "user name contains %x01"),
        ({"name": "OAUTHBEARER", "username": "u", "token": ""}, "token must not be empty"),
        ({"name": "OAUTHBEARER", "username": "u", "token": "t", "host": "h\x01"}, "host"),
        ({"name": "OAUTHBEARER", "username": "u", "token": "t", "host": "h\n"}, "host"),
        ({"name": "OAUTHBEARER", "username": "u", "token": "t", "port": 70000}, "port"),
    ],
)
def test_create_refuses(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        create_mechanism(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", STRENGTH)
@pytest.mark.parametrize("bad", ["\r", "\n", "\0"])
@pytest.mark.parametrize("field", ["username", "authzid"])
def test_cr_lf_nul_in_identities_refused(name: str, bad: str, field: str) -> None:
    identities = {"username": "alice", "authzid": None}
    identities[field] = f"al{bad}ice"
    with pytest.raises(InvalidArgument, match=r"user name|authorization identity"):
        create_mechanism(
            name,
            username=identities["username"] or "",
            authzid=identities["authzid"],
            password=PASSWORD,
            token=TOKEN,
        )


@pytest.mark.parametrize("token", ["zq xv", "zq\r\nxv", "zq\x01xv", "zq\u00f6xv"])
@pytest.mark.parametrize("name", ["XOAUTH2", "OAUTHBEARER"])
def test_token_must_be_visible_ascii(name: str, token: str) -> None:
    with pytest.raises(InvalidArgument, match="visible ASCII") as caught:
        create_mechanism(name, username="u", token=token)
    assert "zq" not in str(caught.value)


def drive(mech: Mechanism) -> None:
    """Run ``mech`` through a plausible exchange (its values do not matter)."""
    mech.initial_response()
    if mech.name.startswith("SCRAM"):
        return
    for challenge in (b"<1.2@host>", b"Password:"):
        if not mech.complete:
            mech.respond(challenge)


@pytest.mark.parametrize("name", STRENGTH)
def test_no_secret_in_repr(name: str) -> None:
    mech = create_mechanism(name, username="alice", password=PASSWORD, token=TOKEN)
    for text in (repr(mech), str(mech)):
        assert "alice" in text and name in text
        assert PASSWORD not in text and TOKEN not in text
    drive(mech)
    text = repr(mech) + str(vars(mech).get("username"))
    assert PASSWORD not in text and TOKEN not in text


# --- fuzzing: only unimail errors may escape ---------------------------------------------------


def fresh(name: str) -> Callable[[], Mechanism]:
    def make() -> Mechanism:
        if name.startswith("SCRAM"):
            return ScramMechanism(name, username="user", password="pencil", nonce=SHA1_NONCE)
        return create_mechanism(name, username="user", password="pencil", token="tok")

    return make


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(STRENGTH),
    use_initial=st.booleans(),
    challenges=st.lists(st.binary(max_size=300), max_size=4),
    final=st.one_of(st.none(), st.binary(max_size=100)),
)
def test_random_challenges_raise_only_unimail_errors(
    name: str, use_initial: bool, challenges: list[bytes], final: bytes | None
) -> None:
    mech = fresh(name)()
    try:
        if use_initial:
            mech.initial_response()
        for challenge in challenges:
            assert isinstance(mech.respond(challenge), bytes)
        mech.finish(final)
    except UnimailError:
        pass


_b64_text = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nonce_tail=st.one_of(st.text(max_size=20), st.just("3rfc")),
    salt=st.one_of(_b64_text, st.text(max_size=30)),
    count=st.one_of(
        st.integers(-5, 2000).map(str),
        st.integers(MAX_ITERATIONS + 1, 10**40).map(str),
        st.text(max_size=10),
    ),
    tail=st.one_of(st.just(""), st.text(max_size=20)),
    server_final=st.binary(max_size=80),
)
def test_random_scram_messages_raise_only_unimail_errors(
    nonce_tail: str, salt: str, count: str, tail: str, server_final: bytes
) -> None:
    mech = scram_sha1()
    mech.initial_response()
    server_first = f"r={SHA1_NONCE}{nonce_tail},s={salt},i={count}{tail}"
    try:
        mech.respond(server_first.encode("utf-8", "surrogatepass"))
        mech.respond(server_final)
    except UnimailError:
        return
    # Random bytes never forge a valid server signature.
    raise AssertionError("the random server-final verified")


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
