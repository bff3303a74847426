"""The SASL client core (unimail._proto.sasl): CRAM-MD5, PLAIN, LOGIN, XOAUTH2 and
OAUTHBEARER bytes and failure paths, mechanism choice, credential checks, and fuzzing.
SCRAM and SASLprep: tests/test_sasl_scram.py; against Dovecot: tests/test_sasl_dovecot.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_sasl_scram import SHA1_NONCE, scram_sha1
from unimail._errors import (
    AuthenticationError,
    InvalidArgument,
    ProtocolError,
    UnimailError,
    UnsupportedOperation,
)
from unimail._proto.sasl import (
    MAX_ITERATIONS,
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
)

PASSWORD = "s3cret-Pässword"
TOKEN = "ya29.a0AfH6SMBx-secret_token~value/+=="


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
