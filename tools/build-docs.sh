#!/usr/bin/env bash
# Build the documentation site (mkdocs.yml) into build/site/ with warnings as errors: a broken link,
# a missing page, an example the pages include that moved, or a docstring mkdocstrings cannot
# render fails the build. Uses the Python tools/install.sh installed the project into (its
# "dev" extra carries mkdocs-material and mkdocstrings). Extra arguments go to mkdocs build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="$(bash tools/python.sh)"
export NO_MKDOCS_2_WARNING=1  # mkdocs-material's banner about its successor is not a build problem
exec "$PYTHON" -m mkdocs build --strict --clean "$@"
