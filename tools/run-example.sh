#!/usr/bin/env bash
# The README's first command: install everything, start Dovecot and Postfix on 127.0.0.1, send
# a message with unimail through Postfix and read it back over IMAP and POP3
# (examples/send_and_read.py). When the servers cannot be installed or started,
# tools/mailservers.py says exactly why and what to do, and the same example then runs on
# unimail's local backends instead (a Maildir in a temporary directory: no server, no
# network), saying so, so that the command still shows the library at work.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '[run-example] %s\n' "$*" >&2; }

installed=1
if ! bash tools/install.sh; then
    installed=0
    say "the installation failed (see above): the mail servers cannot be started"
fi
PYTHON="$(bash tools/python.sh)"

if [ "$installed" -eq 1 ]; then
    # mailservers.py exits with 2 exactly when it could not start the servers (and says why);
    # any other status is the example's own.
    "$PYTHON" tools/mailservers.py run -- "$PYTHON" examples/send_and_read.py
    status=$?
    if [ "$status" -ne 2 ]; then
        exit "$status"
    fi
fi

say "FALLBACK: no mail server could be started, so the example runs on unimail's local"
say "backends instead: a Maildir in a temporary directory (maildir: to send, maildir: to"
say "read back). This checks the library, not Dovecot or Postfix; fix the reason above and run"
say "this command again for the real servers."
# src/ first: the fallback works even when the installation above did not get that far.
PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" exec "$PYTHON" examples/send_and_read.py --local
