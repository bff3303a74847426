"""Delivery status notification requests (RFC 3461): what ``send(..., dsn=...)`` takes.

::

    notify-esmtp-value  = "NEVER" / 1#notify-list-element
    notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"
    ret-value           = "FULL" / "HDRS"
    envid-parameter     = "ENVID=" xtext      ; at most 100 characters
    orcpt-parameter     = "ORCPT=" addr-type ";" xtext
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ..._errors import InvalidArgument
from ..._validate import check_wire_text
from ._commands import xtext

__all__ = ["Dsn"]

_NOTIFY = frozenset({"SUCCESS", "FAILURE", "DELAY", "NEVER"})


def _notify(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    items = tuple(dict.fromkeys(str(v).upper() for v in value))
    if not set(items) <= _NOTIFY or ("NEVER" in items and len(items) > 1):
        raise InvalidArgument(
            f"DSN notify must be NEVER or some of SUCCESS, FAILURE, DELAY; got {items!r}"
        )
    return items


def _ret(instance: object, attribute: object, value: str | None) -> None:
    if value is not None and value not in ("FULL", "HDRS"):
        raise InvalidArgument(f"DSN ret must be 'FULL' or 'HDRS', got {value!r}")


def _envid(instance: object, attribute: object, value: str | None) -> None:
    if value is not None:
        check_wire_text(value, "DSN envid")
        if not value.isascii() or len(value) > 100:
            raise InvalidArgument("DSN envid must be ASCII and at most 100 characters")


@attrs.frozen(kw_only=True)
class Dsn:
    """A request for delivery status notifications (RFC 3461), for ``Transport.send(dsn=...)``.

    Attributes:
        notify: when to notify: ``("NEVER",)`` or some of ``"SUCCESS"``, ``"FAILURE"``,
            ``"DELAY"``; empty leaves it to the server.
        ret: ``"FULL"`` (return the whole message) or ``"HDRS"`` (headers only) in a failure
            notice; None leaves it to the server.
        envid: an envelope id (ASCII, at most 100 characters) quoted back in notices.
        orcpt: send each recipient's original address (ORCPT) too.

    Raises:
        InvalidArgument: an unknown notify or ret value, or an envid that cannot be sent.
    """

    notify: tuple[str, ...] = attrs.field(default=(), converter=_notify)
    ret: str | None = attrs.field(default=None, validator=_ret)
    envid: str | None = attrs.field(default=None, validator=_envid)
    orcpt: bool = True

    def mail_params(self) -> list[str]:
        """The MAIL FROM parameters (RET, ENVID)."""
        params = [f"RET={self.ret}"] if self.ret else []
        if self.envid is not None:
            params.append(f"ENVID={xtext(self.envid)}")
        return params

    def rcpt_params(self, original: str) -> list[str]:
        """The RCPT TO parameters (NOTIFY, ORCPT) for the recipient ``original``."""
        params = [f"NOTIFY={','.join(self.notify)}"] if self.notify else []
        if self.orcpt:
            kind = "rfc822" if original.isascii() else "utf-8"
            params.append(f"ORCPT={kind};{xtext(original)}")
        return params
