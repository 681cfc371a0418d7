#!/usr/bin/env bash
# Run the quiz-widget tests against ipywidgets 7.7.1, the version Colab pins.
#
# The main venv (.venv) carries ipywidgets 8 (JupyterLab 4); this script builds a second venv at
# .venv-ipyw7 from scratch when it is missing (no torch: the widgets never import it), then runs
# tests/test_widgets_*.py with it. CI calls it as-is:  bash tests/widgets_compat.sh [pytest args]
# Set IPYW7_VENV to build the venv elsewhere, IPYW7_REBUILD=1 to rebuild it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${IPYW7_VENV:-$ROOT/.venv-ipyw7}"
PY="${PYTHON:-python3}"

if [[ "${IPYW7_REBUILD:-0}" == "1" ]]; then
    rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c "import ipywidgets, regex, sys; sys.exit(ipywidgets.__version__ != '7.7.1')" 2>/dev/null; then
    echo "building $VENV (ipywidgets 7.7.1)" >&2
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    # the engine's own dependencies (pyproject.toml), the widget's renderers, and the test tools
    "$VENV/bin/python" -m pip install --quiet "ipywidgets==7.7.1" "pydantic>=2.7,<3" "ruamel.yaml>=0.18" \
        "PyYAML>=6" "tqdm>=4.66" "regex>=2023.10" "markdown-it-py>=3" "Pygments>=2.15" "nbformat>=5.9" "pytest>=8"
fi

"$VENV/bin/python" -c "import ipywidgets; print('ipywidgets', ipywidgets.__version__)"
cd "$ROOT"
# -p no:cacheprovider: do not share .pytest_cache with the main venv's runs
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    -W "ignore:The \`ipykernel.comm.Comm\` class has been deprecated:DeprecationWarning" \
    tests/test_widgets_*.py "$@"
