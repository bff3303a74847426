"""Start real mail servers (Dovecot and Postfix) on 127.0.0.1 for unimail's tests and demos.

The servers run from a private directory, without systemd and without touching the system's own
configuration: Dovecot from one generated ``dovecot.conf``, Postfix from a generated config
directory with its own queue. Ports are picked dynamically, so several runs can coexist.

What runs, once :func:`start` returns:

- Dovecot: IMAP (STARTTLS), IMAPS, POP3 (STLS), POP3S and LMTP; users log in with their bare
  name ("alice") and any of PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1 and SCRAM-SHA-256.
- Postfix: a submission port (STARTTLS, AUTH only after TLS) and an implicit-TLS port (like
  465). Mail for ``@example.test`` is delivered to Dovecot over LMTP; mail that authenticated
  users relay elsewhere is accepted and then discarded, so nothing ever leaves the machine.
- A test CA (trustme) that signed the servers' certificate for 127.0.0.1 and localhost.

Needs root (Dovecot switches to the ``mail`` user, Postfix to ``postfix``) and the Debian
packages that ``tools/install.sh`` installs.

Command line::

    python3 tools/mailservers.py run [--dir DIR] -- CMD ARGS...   # servers up while CMD runs
    python3 tools/mailservers.py serve [--dir DIR]                # until Ctrl-C, prints the env
"""

from __future__ import annotations

import sys

# The code lives in tools/_mailservers/ (one module per concern); this module is the entry point
# and re-exports the public names, so "import mailservers" keeps working wherever tools/ is on
# sys.path (as it is for a script run as "python3 tools/mailservers.py").
from _mailservers._cli import main
from _mailservers._common import (
    DEFAULT_USERS,
    DOMAIN,
    ENV_NAMES,
    HOST,
    INSTALL_HINT,
    START_TIMEOUT,
    STOP_TIMEOUT,
    ServersUnavailable,
)
from _mailservers._files import make_workdir
from _mailservers._servers import MailServers
from _mailservers._start import start

__all__ = [
    "DEFAULT_USERS",
    "DOMAIN",
    "ENV_NAMES",
    "HOST",
    "INSTALL_HINT",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "MailServers",
    "ServersUnavailable",
    "main",
    "make_workdir",
    "start",
]

if __name__ == "__main__":
    sys.exit(main())
