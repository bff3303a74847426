"""SCRAM (RFC 5802, RFC 7677) and SASLprep (RFC 4013) in the SASL client core: the RFC
test vectors, every failure path of the exchange, and the preparation of names and secrets.
"""

from __future__ import annotations

import base64

import pytest

from unimail._errors import (
    AuthenticationError,
    InvalidArgument,
    LimitExceeded,
    ProtocolError,
)
from unimail._proto.sasl import (
    MAX_ITERATIONS,
    NONCE_BYTES,
    ScramMechanism,
    create_mechanism,
    saslprep,
)

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
