"""Where the course's committed files are: in this checkout, or inside the installed package.

Why this module: a lesson runs from a clone of the repository (locally, in CI) or from
``pip install peft-course`` (Colab's set-up cell), and in the second case there is no ``data/`` folder
beside ``course/``. pyproject.toml maps the committed folders into the installed package
``peft_course_data`` without moving them (``data/sentiment`` → ``peft_course_data.sentiment``,
``quizzes`` → ``peft_course_data.quizzes``), and this module finds whichever copy belongs to the
``course`` package that is running: the checkout's when ``course`` was imported from a checkout (so a
developer's edits are what runs), the installed package's otherwise.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

__all__ = ["DATA_PACKAGE", "FOLDERS", "checkout_root", "resource_dir"]

#: The installed package that holds the committed data folders (see ``[tool.setuptools]`` in pyproject.toml).
DATA_PACKAGE = "peft_course_data"
#: Each resource: its subpackage of ``DATA_PACKAGE`` → its folder in a checkout.
FOLDERS: dict[str, str] = {"sentiment": "data/sentiment", "quizzes": "quizzes"}
#: The distribution name a checkout's pyproject.toml must declare to count as this course's checkout.
DISTRIBUTION = "peft-course"


def checkout_root(package_dir: str | Path | None = None) -> Path | None:
    """The repository root when ``course`` runs from a checkout, else None.

    A checkout is recognised by the pyproject.toml beside ``course/`` that names this distribution, not
    by the folder's name: in site-packages the parent of ``course/`` is shared with every other package,
    and a stray ``data/`` there must not be mistaken for the course's.
    """
    package_dir = Path(package_dir) if package_dir else Path(__file__).resolve().parent
    root = package_dir.parent
    pyproject = root / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    declares_us = re.search(rf"""^name\s*=\s*["']{re.escape(DISTRIBUTION)}["']""", text, re.MULTILINE)
    return root if declares_us else None


def _installed_dir(name: str) -> Path | None:
    """The folder of ``peft_course_data.<name>`` in the installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(f"{DATA_PACKAGE}.{name}")
    except (ImportError, ValueError):  # no peft_course_data at all, or an odd module of that name
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    return None


def resource_dir(name: str, *, package_dir: str | Path | None = None) -> Path:
    """The folder holding the resource ``name`` (``"sentiment"`` or ``"quizzes"``).

    The checkout's folder when ``course`` runs from a checkout, else the installed package's. When
    neither exists the checkout-style path is returned, so the caller's "file is missing" error names
    where the file was expected; ``package_dir`` (default: this package's folder) is for tests.
    """
    if name not in FOLDERS:
        raise ValueError(f"unknown course resource {name!r}; choose one of {sorted(FOLDERS)}")
    root = checkout_root(package_dir)
    if root is not None:
        return root / FOLDERS[name]
    installed = _installed_dir(name)
    if installed is not None:
        return installed
    base = Path(package_dir) if package_dir else Path(__file__).resolve().parent
    return base.parent / FOLDERS[name]
