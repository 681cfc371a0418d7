"""Where things are, for every test module: the repository root and the tests' fixtures.

Test modules import it as ``from paths import ROOT``: pytest puts this folder on ``sys.path`` (its
default ``prepend`` import mode, as for ``notebook_exec``); conftest.py adds ``FIXTURES`` and its
``submissions`` folder, where the ``hostile`` and ``synthetic`` helpers live.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
