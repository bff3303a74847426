#!/usr/bin/env bash
# Install what unimail's test suite needs on a Debian machine (run as root):
#   - Dovecot (IMAP, POP3, LMTP) and Postfix, which tools/mailservers.py starts privately on
#     127.0.0.1 for the integration tests, never as system services;
#   - the project itself in editable mode with its "dev" extra.
# Idempotent: a re-run on an installed machine touches no package index and takes seconds.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGES=(dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix ca-certificates python3 python3-venv)
POLICY=/usr/sbin/policy-rc.d
POLICY_BACKUP=""

say() { printf '[install] %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "[install] error: must run as root (try: sudo bash tools/install.sh)" >&2
    exit 1
fi

restore_policy() {
    # Put back whatever policy-rc.d the machine had (Docker images ship one) or remove ours.
    if [ -n "$POLICY_BACKUP" ]; then
        mv -f "$POLICY_BACKUP" "$POLICY"
    else
        rm -f "$POLICY"
    fi
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    # Without this preseed, postfix's postinst asks (or guesses) a mail setup and writes a
    # main.cf that listens on port 25; the tests use their own config directory anyway.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string mail.example.test" | debconf-set-selections
    # A policy-rc.d exiting 101 tells invoke-rc.d not to start daemons from package scripts,
    # so nothing grabs the standard ports (143, 110, 25) during the install.
    if [ -e "$POLICY" ]; then
        POLICY_BACKUP="$(mktemp /usr/sbin/policy-rc.d.unimail.XXXXXX)"
        cp -p "$POLICY" "$POLICY_BACKUP"
    fi
    trap restore_policy EXIT
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"

    say "apt-get update"
    apt-get update -qq
    say "apt-get install"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    restore_policy
    trap - EXIT
else
    say "Debian packages already installed: ${PACKAGES[*]}"
fi

# If a package script (or an earlier boot) started the system daemons anyway, stop them: the
# test servers pick their own ports, but a system Postfix/Dovecot is not wanted on a test box.
# (Not "postfix status": without /etc/postfix/main.cf it fails, after a 1 s sleep.)
running() { [ -s "$1" ] && kill -0 "$(tr -dc '0-9' <"$1")" 2>/dev/null; }
if running /run/dovecot/master.pid; then
    say "stopping the system Dovecot"
    doveadm stop >/dev/null 2>&1 || kill "$(tr -dc '0-9' </run/dovecot/master.pid)" || true
fi
if running /var/spool/postfix/pid/master.pid; then
    say "stopping the system Postfix"
    postfix stop >/dev/null 2>&1 || kill "$(tr -dc '0-9' </var/spool/postfix/pid/master.pid)" || true
fi

cd "$REPO_ROOT"
# Debian's own Python refuses "pip install" into it (PEP 668, EXTERNALLY-MANAGED): there the
# project gets a virtual environment in .venv, which tools/python.sh then names for every
# other script. A Python that takes pip installs (pyenv, a venv, a container's) is used as is.
PYTHON=python3
if [ -x .venv/bin/python ]; then
    # A .venv is what tools/python.sh names for every script: install into that one.
    PYTHON="$REPO_ROOT/.venv/bin/python"
elif python3 - <<'PY'
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
sys.exit(0 if managed and sys.prefix == sys.base_prefix else 1)
PY
then
    if [ ! -x .venv/bin/python ]; then
        say "the system Python is externally managed: creating .venv"
        python3 -m venv .venv
    fi
    PYTHON="$REPO_ROOT/.venv/bin/python"
fi
# "pip install -e" rebuilds the editable wheel every time (about 10 s even when nothing changed),
# so skip it when the last install was from this checkout, pyproject.toml is unchanged since,
# and every requirement (base and dev) is still satisfied.
STAMP_DIR=/var/cache/unimail-install
STAMP="$STAMP_DIR/$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-16).stamp"
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
up_to_date() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] || return 1
    "$PYTHON" - "$REPO_ROOT" 2>/dev/null <<'PY'
import importlib.metadata as md
import json
import sys
import tomllib
from pathlib import Path

from pip._vendor.packaging.requirements import Requirement

root = sys.argv[1]
direct = json.loads(md.distribution("unimail").read_text("direct_url.json") or "{}")
if direct.get("url") != Path(root).as_uri() or not direct.get("dir_info", {}).get("editable"):
    sys.exit(1)
project = tomllib.loads(Path(root, "pyproject.toml").read_text())["project"]
wanted = project.get("dependencies", []) + project.get("optional-dependencies", {}).get("dev", [])
for text in wanted:
    req = Requirement(text)
    if req.marker is not None and not req.marker.evaluate({"extra": "dev"}):
        continue
    if not req.specifier.contains(md.version(req.name), prereleases=True):
        sys.exit(1)
PY
}
if up_to_date; then
    say "unimail already installed (editable, with its dev extra) from $REPO_ROOT"
else
    say "pip install -e '.[dev]'"
    "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[dev]'
    mkdir -p "$STAMP_DIR"
    printf '%s\n' "$WANT" >"$STAMP"
fi
# The example backend plugin (examples/eml_backend): its entry point registers the "eml"
# scheme, which tests/test_conformance_eml.py runs the conformance suite against. No
# dependencies to fetch (--no-deps: unimail is installed above); skipped when this checkout's
# copy is already installed in editable mode.
if "$PYTHON" - "$REPO_ROOT/examples/eml_backend" 2>/dev/null <<'PY'
import importlib.metadata as md
import json
import sys
from pathlib import Path

direct = json.loads(md.distribution("unimail-eml").read_text("direct_url.json") or "{}")
ok = direct.get("url") == Path(sys.argv[1]).as_uri() and direct.get("dir_info", {}).get("editable")
sys.exit(0 if ok else 1)
PY
then
    say "unimail-eml example backend already installed (editable) from examples/eml_backend"
else
    say "pip install -e examples/eml_backend"
    "$PYTHON" -m pip install -q --disable-pip-version-check --root-user-action=ignore \
        --no-deps -e examples/eml_backend
fi
say "done"
