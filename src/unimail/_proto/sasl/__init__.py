"""The SASL client core shared by IMAP AUTHENTICATE, POP3 AUTH and SMTP AUTH (sans-I/O).

Mechanisms take raw server challenges and return raw responses; base64 and the per-protocol
framing (IMAP ``+ ``, POP3 ``+ ``, SMTP ``334 ``) are the caller's job. A caller:

1. picks a name with :func:`choose_mechanism` and builds it with :func:`create_mechanism`;
2. sends the command, with ``initial_response()`` when the protocol allows SASL-IR (an empty
   initial response is sent as ``=``);
3. answers every continuation with ``respond(challenge)``; on an exception from it, cancels
   the exchange (``*``) and raises that exception;
4. on the success reply calls ``finish(data)`` (``data`` only where the protocol carries
   additional data with success, else None): for SCRAM this is where a server that never proved
   its identity is caught; on a failure reply it raises AuthenticationError (for OAuth, after
   looking at ``mechanism.error``).
"""

from __future__ import annotations

from ._base import Mechanism
from ._choose import STRENGTH, TOKEN_MECHANISMS, choose_mechanism, create_mechanism
from ._oauth import OAuthBearerMechanism, XOAuth2Mechanism
from ._redact import REDACTED, Redactor
from ._saslprep import saslprep
from ._scram import MAX_ITERATIONS, NONCE_BYTES, ScramMechanism
from ._simple import CramMd5Mechanism, LoginMechanism, PlainMechanism

__all__ = [
    "MAX_ITERATIONS",
    "NONCE_BYTES",
    "REDACTED",
    "STRENGTH",
    "TOKEN_MECHANISMS",
    "CramMd5Mechanism",
    "LoginMechanism",
    "Mechanism",
    "OAuthBearerMechanism",
    "PlainMechanism",
    "Redactor",
    "ScramMechanism",
    "XOAuth2Mechanism",
    "choose_mechanism",
    "create_mechanism",
    "saslprep",
]
