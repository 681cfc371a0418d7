"""How typed answers are normalised before comparison (documented in quizzes/README.md)."""
from __future__ import annotations

import math
import re
import unicodedata

_SPACES = re.compile(r"\s+")
_QUOTES = "\"'`“”‘’"


def normalize_text(text: str, *, case_sensitive: bool = False) -> str:
    """NFKC, trim, collapse whitespace, drop surrounding quotes and a trailing period, fold case."""
    text = unicodedata.normalize("NFKC", str(text))
    text = _SPACES.sub(" ", text).strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    text = text.removesuffix(".").rstrip()
    return text if case_sensitive else text.casefold()


def normalize_output(text: str) -> str:
    """Printed output: trailing whitespace of each line and blank lines at both ends removed."""
    lines = [line.rstrip() for line in str(text).replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def parse_number(value: object) -> float | None:
    """A finite float from an int, float or numeric string ('1,010', '2.5e2', ' 252 '); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        cleaned = value.strip().replace(",", "").replace("_", "").replace(" ", "")
        try:
            number = float(cleaned)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def contains_phrase(haystack: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``haystack`` as whole words, ignoring case and spacing."""
    words = [re.escape(w) for w in normalize_text(phrase).split(" ") if w]
    if not words:
        return False
    pattern = r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"
    return re.search(pattern, normalize_text(haystack)) is not None
