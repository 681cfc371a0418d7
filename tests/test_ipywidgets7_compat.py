"""The widget tests again on ipywidgets 7.7.1, the version Colab pins.

The main venv has ipywidgets 8 (JupyterLab 4); ``tests/widgets_compat.sh`` builds a second venv with
7.7.1 when it is missing and runs ``tests/test_widgets_*.py`` there. Running it from here keeps
the README's single test command the whole story.
"""
from __future__ import annotations

import os
import subprocess

import pytest

from paths import ROOT


@pytest.mark.slow
def test_widget_suite_passes_on_ipywidgets_7_7_1():
    if os.environ.get("SKIP_IPYW7") == "1":
        pytest.skip("SKIP_IPYW7=1")
    proc = subprocess.run(["bash", str(ROOT / "tests" / "widgets_compat.sh")], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    assert "ipywidgets 7.7.1" in proc.stdout and " passed" in proc.stdout, tail
