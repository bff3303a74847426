"""The public surface: exactly these names, each documented and typed, in both facades."""

from __future__ import annotations

import inspect
import logging
import ssl
import sys
from pathlib import Path
from typing import Any

import pytest

import unimail
from unimail import (
    AsyncFolder,
    AsyncImapFolder,
    AsyncImapMailbox,
    AsyncLocalFolder,
    AsyncLocalMailbox,
    AsyncMailbox,
    AsyncMxTransport,
    AsyncPop3Folder,
    AsyncPop3Mailbox,
    AsyncSmtpTransport,
    AsyncTransport,
    Folder,
    ImapFolder,
    ImapMailbox,
    InvalidArgument,
    Limits,
    LocalFolder,
    LocalMailbox,
    Mailbox,
    MxTransport,
    Pop3Folder,
    Pop3Mailbox,
    SmtpTransport,
    Transport,
    UnsupportedOperation,
)
from unimail._options import Security, make_options
from unimail._url import MailURL

# tools/ is not a package: import the generator the way the command line runs it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import unasync  # (needs the sys.path entry above)

PUBLIC = {
    "Address", "AsyncFolder", "AsyncImapFolder", "AsyncImapMailbox", "AsyncMailbox",
    "AsyncMxTransport", "AsyncPop3Downloader", "AsyncPop3Folder", "AsyncPop3Mailbox",
    "AsyncSmtpTransport", "AsyncTransport", "AuthenticationError", "BodyPart", "Capability",
    "CommandError",
    "ConnectError", "ConnectionLost", "Discovery", "DownloadReport", "DownloadedMessage", "Dsn",
    "Endpoint", "Envelope", "FetchField", "Flag", "FlagsChanged", "Folder", "FolderEvent",
    "FolderInfo", "FolderNotFound", "FolderStatus", "ImapFolder", "ImapMailbox",
    "InvalidArgument", "LimitExceeded", "Limits", "Mailbox", "MessageInfo", "MessagesRemoved",
    "MxTransport", "NewMessages", "OutgoingMessage", "Pop3Downloader", "Pop3Folder",
    "Pop3Mailbox", "ProtocolError", "Q", "Security", "SendError", "SendResult", "SmtpTransport",
    "SpecialUse", "TLSError", "Timeout", "Transport", "UnimailError", "UnsupportedOperation",
    "async_discover", "discover", "register_backend",
    "CopyProgress", "CopyResult", "CopyStage", "FolderCopyResult", "async_copy", "copy",
    "AsyncLocalFolder", "AsyncLocalMailbox", "AsyncMaildirMailbox", "AsyncMaildirTransport",
    "AsyncMboxMailbox", "AsyncMemoryMailbox", "AsyncMemoryTransport", "LocalFolder",
    "LocalMailbox", "MaildirMailbox", "MaildirTransport", "MboxMailbox", "MemoryMailbox",
    "MemoryTransport",
    "FolderChanges",
    "DeliveryUncertain",
}  # fmt: skip

ERROR_TREE = {
    "ConnectError": ("UnimailError", ConnectionError),
    "ConnectionLost": ("UnimailError", ConnectionError),
    "DeliveryUncertain": ("ConnectionLost", ConnectionError),
    "Timeout": ("UnimailError", TimeoutError),
    "TLSError": ("UnimailError", None),
    "AuthenticationError": ("UnimailError", None),
    "ProtocolError": ("UnimailError", None),
    "LimitExceeded": ("ProtocolError", None),
    "CommandError": ("UnimailError", None),
    "FolderNotFound": ("CommandError", None),
    "SendError": ("CommandError", None),
    "UnsupportedOperation": ("UnimailError", None),
    "InvalidArgument": ("UnimailError", ValueError),
}


def test_exactly_the_public_names() -> None:
    assert set(unimail.__all__) == PUBLIC
    assert len(unimail.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert hasattr(unimail, name), name


@pytest.mark.parametrize("name", sorted(ERROR_TREE))
def test_error_tree(name: str) -> None:
    parent, builtin = ERROR_TREE[name]
    cls = getattr(unimail, name)
    assert issubclass(cls, getattr(unimail, parent))
    if builtin is not None:
        assert issubclass(cls, builtin)


def _public_members(cls: type) -> dict[str, Any]:
    """The public methods and properties of ``cls`` and of its unimail bases (mixins too),
    each as the class nearest in the MRO defines it."""
    members: dict[str, Any] = {}
    for owner in reversed(cls.__mro__):
        if not owner.__module__.startswith("unimail"):
            continue
        members.update(
            (name, member)
            for name, member in vars(owner).items()
            if not name.startswith("_") and (callable(member) or isinstance(member, property))
        )
    return members


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_documented_and_typed(name: str) -> None:
    obj = getattr(unimail, name)
    assert inspect.getdoc(obj), f"{name} has no docstring"
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        for member_name, member in _public_members(obj).items():
            function = member.fget if isinstance(member, property) else member
            function = getattr(function, "__func__", function)
            assert inspect.getdoc(function), f"{name}.{member_name} has no docstring"
            if inspect.isfunction(function):
                hints = function.__annotations__
                assert "return" in hints, f"{name}.{member_name} has no return type"


@pytest.mark.parametrize(
    ("async_cls", "sync_cls"),
    [
        (AsyncMailbox, Mailbox),
        (AsyncTransport, Transport),
        (AsyncImapMailbox, ImapMailbox),
        (AsyncPop3Mailbox, Pop3Mailbox),
        (AsyncSmtpTransport, SmtpTransport),
        (AsyncMxTransport, MxTransport),
        (AsyncFolder, Folder),
        (AsyncImapFolder, ImapFolder),
        (AsyncPop3Folder, Pop3Folder),
        (AsyncLocalFolder, LocalFolder),
        (AsyncLocalMailbox, LocalMailbox),
    ],
)
def test_sync_twin_has_the_same_methods_and_docs(async_cls: type, sync_cls: type) -> None:
    async_members = _public_members(async_cls)
    sync_members = _public_members(sync_cls)
    assert {"close" if n == "aclose" else n for n in async_members} == set(sync_members)
    for name, member in sync_members.items():
        source = async_members["aclose" if name == "close" else name]
        source_doc = inspect.getdoc(source.fget if isinstance(source, property) else source)
        doc = inspect.getdoc(member.fget if isinstance(member, property) else member)
        assert doc == _generated(source_doc or ""), name


def _generated(doc: str) -> str:
    """A docstring as tools/unasync.py writes it into the sync twin."""
    return unasync.convert(f'"""{doc}"""\n', unasync.RULES)[3:-4]


def test_scheme_picks_the_backend_and_security() -> None:
    options = make_options("imap://bob@example.org", default_security=AsyncImapMailbox.schemes)
    assert options.security is Security.STARTTLS
    options = make_options("imaps://bob@example.org", default_security=ImapMailbox.schemes)
    assert options.security is Security.TLS
    assert options.tls_context().verify_mode is ssl.CERT_REQUIRED
    assert options.tls_context().check_hostname
    assert options.logger is logging.getLogger("unimail.protocol")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("imaps://bob:secret@example.org", "password in the URL"),
        ("example.org", "no scheme"),
        ("imaps://", "no host"),
        ("imaps://bob@example.org:99999", "port"),
        ("imaps://bob@exa\r\nmple.org", "CR"),
        ("gopher://example.org", "no backend"),
    ],
)
def test_bad_urls(url: str, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        Mailbox.open(url, password="pw")


def test_password_never_in_repr() -> None:
    options = make_options(
        "imaps://bob%40example.org@example.org",
        default_security=ImapMailbox.schemes,
        password="hunter2",
    )
    assert options.url.username == "bob@example.org"
    assert "hunter2" not in repr(options)
    assert "hunter2" not in repr(ImapMailbox(options))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"password": "a\nb"},
        {"security": "maybe"},
        {"timeout": -1},
        {"connect_timeout": 0},
        {"limits": "big"},
    ],
)
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        make_options("imaps://bob@example.org", default_security=ImapMailbox.schemes, **kwargs)


def test_limits_are_validated() -> None:
    with pytest.raises(InvalidArgument, match="max_depth"):
        Limits(max_depth=0)


def test_url_round_trip() -> None:
    url = MailURL.parse("imaps://bob%40example.org@[::1]:993/Sent")
    assert (url.host, url.port, url.path) == ("::1", 993, "Sent")
    assert MailURL.parse(str(url)) == url
    assert MailURL.parse("maildir:/var/mail/bob") == MailURL(scheme="maildir", path="/var/mail/bob")


def test_register_backend_serves_both_facades() -> None:
    class AsyncDemo(AsyncMailbox):
        """A backend that connects to nothing."""

        schemes = {"demo": Security.PLAINTEXT}  # noqa: RUF012 - matches the base declaration

        async def _connect(self) -> None:
            pass

    class Demo(Mailbox):
        """Its sync twin."""

        schemes = {"demo": Security.PLAINTEXT}  # noqa: RUF012 - matches the base declaration

        def _connect(self) -> None:
            pass

    unimail.register_backend("demo", AsyncDemo)
    unimail.register_backend("demo", Demo)
    with Mailbox.open("demo://example.org") as box:
        assert isinstance(box, Demo)
        with pytest.raises(UnsupportedOperation) as info:
            box.folders()
        assert info.value.capability == "FOLDERS"
    with pytest.raises(InvalidArgument):
        ImapMailbox.open("demo://example.org")
    with pytest.raises(InvalidArgument):
        unimail.register_backend("demo", int)  # type: ignore[arg-type]


def test_a_scheme_without_backend_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgument, match="no backend for 'gopher'"):
        Transport.open("gopher://example.org", password="pw")


def test_imap_is_registered_through_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    found = {e.name: e.load() for e in entry_points(group="unimail.backends")}
    assert found["imap"] is AsyncImapMailbox and found["imaps"] is AsyncImapMailbox
    assert found["pop3"] is AsyncPop3Mailbox and found["pop3s"] is AsyncPop3Mailbox
    assert found["smtp"] is AsyncSmtpTransport and found["smtps"] is AsyncSmtpTransport
