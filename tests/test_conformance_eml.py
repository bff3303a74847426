"""The conformance suite (unimail.testing) against the example backend examples/eml_backend.

The example is async only: its sync runs go through the portal adapter, once as
``Mailbox.open("eml:...")`` finds it (entry point, then adapter) and once wrapped directly.
tools/install.sh installs it (``pip install -e examples/eml_backend``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from unimail_eml import AsyncEmlMailbox

from unimail import AsyncMailbox, Mailbox
from unimail._portal import PortalMailbox
from unimail.testing import Backend, MailboxConformance

_counter = itertools.count(1)


def _seeder(directory: Path) -> Callable[[Sequence[bytes]], None]:
    def seed(messages: Sequence[bytes]) -> None:
        # Written aside, then renamed: a polling watch never sees half a file.
        for raw in messages:
            name = f"{next(_counter):08d}.eml"
            part = directory / f".{name}.part"
            part.write_bytes(raw)
            os.replace(part, directory / name)

    return seed


class TestEmlThroughRegistry(MailboxConformance):
    """Both APIs open ``eml:`` URLs: the entry point, and for sync the portal adapter."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        url = f"eml:{tmp_path}"
        return Backend(
            open=lambda: AsyncMailbox.open(url),
            open_sync=lambda: Mailbox.open(url),
            seed=_seeder(tmp_path),
            watch_options={"interval": 0.05},
        )


class TestEmlWrapped(MailboxConformance):
    """No sync factory: the suite wraps the async one in the portal adapter itself."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Backend:
        return Backend(
            open=lambda: AsyncMailbox.open(f"eml:{tmp_path}"),
            seed=_seeder(tmp_path),
            watch_options={"interval": 0.05},
        )


def test_entry_point_is_installed() -> None:
    found = [e.value for e in entry_points(group="unimail.backends", name="eml")]
    assert found == ["unimail_eml:AsyncEmlMailbox"], "run tools/install.sh"


def test_sync_open_uses_the_portal_adapter(tmp_path: Path) -> None:
    with Mailbox.open(f"eml:{tmp_path}") as box:
        assert isinstance(box, PortalMailbox)
        assert type(box).async_class is AsyncEmlMailbox
        assert isinstance(box.async_mailbox, AsyncEmlMailbox)
        assert box.folder("INBOX").status().messages == 0
