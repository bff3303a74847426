#!/usr/bin/env bash
# Print the Python interpreter the project was installed into by tools/install.sh: .venv's
# when the system Python is externally managed (Debian), else python3.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -x .venv/bin/python ]; then
    echo "$PWD/.venv/bin/python"
else
    command -v python3
fi
