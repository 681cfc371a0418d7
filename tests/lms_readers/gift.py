"""A reader for GIFT files, independent of the writer (stdlib only), for the export tests.

Why not ``pygiftparser`` (the GIFT parser on PyPI, 1.1): it cannot be installed beside the exports,
and it misreads our files. It depends on ``MarkdownSuperscript``, which pins ``Markdown<3.1``, while
text2qti (the Canvas export) needs ``markdown>=3.10.2``. Tried in a separate environment on the
export of ``tests/fixtures/banks/every_kind.yaml``: its answer pattern stops at the escaped ``\\}`` in
the option ``r = 8 ~ {small}``, so the one-answer question ``single`` came back as a *short answer*
with the single answer ``r \\= 8 \\~ \\{small`` and both wrong options gone; the short answer
``NormalFloat {4}`` came back as ``NormalFloat \\{4``; escapes stay in its texts (``\\=``, ``\\:``, a
doubled backslash), and ``$CATEGORY`` stops at the first space (``$course$/top/Every``).

So this module reads a file the way Moodle's own importer does (``question/format/gift/format.php``,
``qformat_gift::readquestion``, and ``qformat_default::readquestions`` for the blocks), written from
its description, not its code: lines are trimmed, blank lines end a question, ``//`` lines are
comments; ``\\\\`` and the escapes ``\\: \\# \\= \\{ \\} \\~ \\n`` are set aside before parsing and put back
after; ``$CATEGORY:`` names a category (there only ``\\\\`` is undone); ``::name::``; the answer section
runs from the first ``{`` to the first ``}`` and ``####`` (the last one) starts the general feedback;
no braces is a description, empty braces an essay, ``#`` numerical, any ``~`` multichoice (one-answer
when it holds an ``=``), ``=`` with ``->`` matching, ``T``/``F`` true-false, anything else a short
answer; a weight is ``%n%`` right after the marker (``/^%-*([0-9]{1,2})\\.?([0-9]*)%/``), a ``#``
starts an answer's feedback, and a ``[html]`` in front of a text names its format (answers and
feedback inherit the question's). Every question is worth 1 (a description 0): GIFT has no points.
What the importer reports as an error raises ``GiftFormatError``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ESCAPES = {"\\:": ":", "\\#": "#", "\\=": "=", "\\{": "{", "\\}": "}", "\\~": "~", "\\n": "\n"}
_HOLD = {escaped: chr(0xE100 + index) for index, escaped in enumerate(ESCAPES)}
_BACKSLASH = chr(0xE1FF)
WEIGHT = re.compile(r"^%-*([0-9]{1,2})\.?([0-9]*)%")
FORMATS = {"html", "moodle", "plain", "markdown"}


class GiftFormatError(ValueError):
    pass


@dataclass
class GiftAnswer:
    text: str
    fraction: float
    feedback: str = ""
    tolerance: float | None = None


@dataclass
class GiftQuestion:
    name: str | None
    qtype: str
    text: str
    text_format: str
    general_feedback: str = ""
    single: bool | None = None
    answers: list[GiftAnswer] = field(default_factory=list)
    default_mark: float = 1.0


@dataclass
class GiftFile:
    categories: list[str]
    questions: list[GiftQuestion]


def _set_aside(text: str) -> str:
    """``escapedchar_pre``: ``\\\\`` first, then each escape, to characters no parser step looks at."""
    text = text.replace("\\\\", _BACKSLASH)
    for escaped, hold in _HOLD.items():
        text = text.replace(escaped, hold)
    return text.replace(_BACKSLASH, "\\")


def _put_back(text: str) -> str:
    for escaped, hold in _HOLD.items():
        text = text.replace(hold, ESCAPES[escaped])
    return text


def _with_format(text: str, default: str) -> tuple[str, str]:
    """``parse_text_with_format``: a leading ``[name]`` of a known format sets it; the text trimmed."""
    fmt = default
    if text.startswith("["):
        end = text.find("]")
        if end > 0 and text[1:end] in FORMATS:
            fmt, text = text[1:end], text[end + 1:]
    return _put_back(text).strip(), fmt


def _weight(answer: str) -> tuple[float | None, str]:
    match = WEIGHT.match(answer)
    if not match:
        return None, answer
    end = answer.index("%", 1)
    return float(answer[1:end]) / 100, answer[end + 1:]


def _comment(answer: str, fmt: str) -> tuple[str, str]:
    text, _, feedback = answer.partition("#")
    return _with_format(text.strip(), fmt)[0], _with_format(feedback.strip(), fmt)[0]


def _split(answers: str, marker: str) -> list[str]:
    parts = answers.split(marker)
    if parts and not parts[0].strip():
        parts = parts[1:]
    return [part.strip() for part in parts]


def _read_block(lines: list[str]) -> GiftQuestion | str | None:
    lines = [" " if line.startswith("//") else line for line in lines]
    text = _set_aside("\n".join(lines).strip())
    if not text:
        return None
    if text.startswith("$CATEGORY:"):
        category = text[len("$CATEGORY:"):].strip()
        if any(hold in category for hold in _HOLD.values()):
            raise GiftFormatError(f"escaped control character in a category (kept as a placeholder by Moodle): {text!r}")
        return category
    name = None
    if text.startswith("::"):
        end = text.find("::", 2)
        if end >= 0:
            name, text = _put_back(text[2:end]).strip(), text[end + 2:].strip()
    start, finish = text.find("{"), text.find("}")
    if (start < 0) != (finish < 0):
        raise GiftFormatError(f"unbalanced braces in {name!r}")
    if start < 0:
        body, fmt = _with_format(text, "moodle")
        return GiftQuestion(name, "description", body, fmt, default_mark=0.0)
    answers = text[start + 1:finish].strip()
    question_text = text[:start] + ("" if text.endswith("}") else "_____") + text[finish + 1:]
    general = ""
    if "####" in answers:
        cut = answers.rfind("####")
        general, answers = answers[cut + 4:], answers[:cut].strip()
    body, fmt = _with_format(question_text, "moodle")
    question = GiftQuestion(name, "", body, fmt, general_feedback=_with_format(general, fmt)[0])
    if answers == "":
        question.qtype = "essay"
    elif answers.startswith("#"):
        question.qtype = "numerical"
        question.answers = _numerical(answers[1:], fmt, name)
    elif "~" in answers:
        question.qtype, question.single = "multichoice", "=" in answers
        question.answers = _choices(answers, fmt, name)
    elif "=" in answers and "->" in answers:
        raise GiftFormatError(f"{name!r} reads as a matching question")
    elif answers.partition("#")[0].strip() in ("T", "TRUE", "F", "FALSE"):
        raise GiftFormatError(f"{name!r} reads as a true/false question")
    else:
        question.qtype = "shortanswer"
        question.answers = []
        for part in _split(answers, "="):
            weight, rest = _weight(part)
            text_, feedback = _comment(rest, fmt)
            question.answers.append(GiftAnswer(text_, 1.0 if weight is None else weight, feedback))
        if not question.answers:
            raise GiftFormatError(f"{name!r}: a short answer needs an answer")
    return question


def _choices(answers: str, fmt: str, name: str | None) -> list[GiftAnswer]:
    parts = _split(answers.replace("=", "~="), "~")
    if len(parts) < 2:
        raise GiftFormatError(f"{name!r}: a multichoice question needs two answers")
    read = []
    for part in parts:
        if part.startswith("="):
            weight, rest = 1.0, part[1:]
        else:
            found, rest = _weight(part)
            weight = 0.0 if found is None else found
        text, feedback = _comment(rest, fmt)
        read.append(GiftAnswer(text, weight, feedback))
    return read


def _numerical(answers: str, fmt: str, name: str | None) -> list[GiftAnswer]:
    if "~" in answers:
        raise GiftFormatError(f"{name!r}: wrong-answer feedback is not read by these tests")
    read = []
    for part in _split(answers, "="):
        weight, rest = _weight(part)
        value, _feedback = _comment(rest, fmt)
        try:
            if value.find("..") > 0:
                low, high = (float(x) for x in value.split("..", 1))
                number, tolerance = (low + high) / 2, (high - low) / 2
            elif value.find(":") > 0:
                number, tolerance = (float(x) for x in value.split(":", 1))
            else:
                number, tolerance = float(value), 0.0
        except ValueError as exc:
            raise GiftFormatError(f"{name!r}: not numbers: {value!r}") from exc
        read.append(GiftAnswer(repr(number), 1.0 if weight is None else weight, tolerance=tolerance))
    if not read:
        raise GiftFormatError(f"{name!r}: a numerical question without an answer")
    return read


def read_gift(path: str | Path) -> GiftFile:
    """The file's categories and questions, in order."""
    blocks: list[list[str]] = [[]]
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    read = GiftFile([], [])
    for block in blocks:
        found = _read_block(block) if block else None
        if isinstance(found, str):
            read.categories.append(found)
        elif found is not None:
            read.questions.append(found)
    return read
