"""Untrusted text made safe to store and show: valid Unicode, no control characters.

Students control much of the text the grader writes: their name (a file's name, or the one a file
claims), answers, invented question ids, exception messages and class names from the sandbox. JSON,
YAML and Python literals all accept ``"\\ud800"``, a *lone surrogate*: a ``str`` that cannot be
encoded as UTF-8, so writing it to grades.csv, the gradebook or a feedback file raises; a file name
that is not UTF-8 becomes such a string too (``os.fsdecode``'s surrogate escapes). Control
characters (terminal escape sequences, NUL, carriage returns, bidi overrides) garble the terminals
and spreadsheets the reports are read in.

:func:`valid_unicode` and :func:`printable` are applied where such text enters the trusted side
(the result decoder, the submission parsers) and again where reports are written, so no string can
make a write fail whichever path it took.
"""
from __future__ import annotations

import os
import re

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls (tab and newline excepted), DEL, and the bidi marks that reorder displayed text."""
_LINE_BREAKS = re.compile("\r\n|[\r\n\t\u2028\u2029\x85]")


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (a str that cannot be written as UTF-8)."""
    return _SURROGATE.search(text) is not None


def valid_unicode(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a str that always encodes as UTF-8)."""
    return _SURROGATE.sub(REPLACEMENT, text) if has_lone_surrogate(text) else text


def printable(text: str, *, one_line: bool = False) -> str:
    """Valid Unicode without control characters (each becomes U+FFFD; CR LF becomes a newline).

    ``one_line`` also turns line breaks and tabs into spaces and trims the ends (names, ids).
    """
    text = valid_unicode(text)
    if one_line:
        text = _LINE_BREAKS.sub(" ", text).strip()
    else:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(REPLACEMENT, text)


def path_text(path: os.PathLike | str) -> str:
    """A path as printable text: bytes that are not UTF-8 are shown as ``\\xff`` escapes."""
    raw = os.fsencode(path)
    return printable(raw.decode("utf-8", errors="backslashreplace"), one_line=True)
