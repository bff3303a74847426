"""The backend registry: unknown schemes, plugins found by entry point, broken plugins."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from unimail import AsyncMailbox, InvalidArgument, Mailbox, UnsupportedOperation
from unimail._async import _registry as async_registry
from unimail._async.imap import AsyncImapMailbox
from unimail._sync import _registry as sync_registry

PLUGINS = [
    EntryPoint(name="broken", value="unimail_no_such_module:Mailbox", group="unimail.backends"),
    EntryPoint(
        name="working", value="unimail._async.imap:AsyncImapMailbox", group="unimail.backends"
    ),
]


@pytest.fixture(autouse=True)
def fake_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    def entry_points(*, group: str, name: str | None = None) -> list[EntryPoint]:
        return [e for e in PLUGINS if e.group == group and name in (None, e.name)]

    monkeypatch.setattr(async_registry, "entry_points", entry_points)
    monkeypatch.setattr(sync_registry, "entry_points", entry_points)


def test_unknown_scheme_lists_every_registered_scheme() -> None:
    with pytest.raises(InvalidArgument) as error:
        async_registry.mailbox_class("gopher")
    message = str(error.value)
    assert "'gopher'" in message
    for scheme in ("imaps", "pop3", "maildir", "memory", "smtp", "broken", "working"):
        assert scheme in message


@pytest.mark.parametrize("registry", [async_registry, sync_registry])
def test_broken_plugin_is_named_and_does_not_break_the_others(registry: object) -> None:
    with pytest.raises(UnsupportedOperation) as error:
        registry.mailbox_class("broken")  # type: ignore[attr-defined]
    message = str(error.value)
    assert "unimail.backends" in message and "broken = unimail_no_such_module:Mailbox" in message
    assert "ModuleNotFoundError" in message and error.value.capability == "broken"
    # The other backends, built in or plugged in, still load.
    assert async_registry.mailbox_class("working") is AsyncImapMailbox
    assert async_registry.mailbox_class("imaps") is AsyncImapMailbox


def test_open_with_a_broken_plugin_fails_before_any_io() -> None:
    with pytest.raises(UnsupportedOperation, match="failed to import"):
        AsyncMailbox.open("broken://alice@localhost")
    with pytest.raises(UnsupportedOperation, match="failed to import"):
        Mailbox.open("broken://alice@localhost")
