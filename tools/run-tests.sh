#!/usr/bin/env bash
# The README's second command (and the test step of .ci/run): install everything, then run the
# whole test suite. The suite starts its own Dovecot and Postfix on 127.0.0.1; under CI=true a
# test that needs them fails instead of skipping when they cannot be started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tools/install.sh
exec "$(bash tools/python.sh)" -m pytest "$@"
