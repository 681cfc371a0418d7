#!/usr/bin/env bash
# Install what the browser test needs, without downloading any browser build from the web:
# Debian's chromium (apt) and the Python playwright package (PyPI) into the course venv.
# CI runs:  bash tests/browser/setup.sh  then  .venv/bin/python -m pytest -q tests/browser
# Set VENV to use another virtualenv (default: .venv at the repository root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi

if ! command -v chromium >/dev/null 2>&1; then
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji
fi
# playwright's own browser download is never used: the test launches /usr/bin/chromium
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$VENV/bin/python" -m pip install --quiet "playwright>=1.45"
chromium --version
"$VENV/bin/python" -c "import playwright, jupyterlab; print('playwright ok, jupyterlab', jupyterlab.__version__)"
