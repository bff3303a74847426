#!/usr/bin/env bash
# The README's first command: install everything, start Dovecot and Postfix on 127.0.0.1, send
# a message with unimail through Postfix and read it back over IMAP and POP3
# (examples/send_and_read.py). When the servers cannot be started, tools/mailservers.py says
# exactly why and what to do.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
PYTHON="$(bash tools/python.sh)"
exec "$PYTHON" tools/mailservers.py run -- "$PYTHON" examples/send_and_read.py
