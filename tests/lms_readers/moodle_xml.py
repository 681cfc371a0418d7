"""A reader for Moodle XML question files, independent of the writer (stdlib only), for the export tests.

It reads a file the way Moodle's importer does (``question/format/xml/format.php``, ``qformat_xml``):
``<quiz>`` holds ``<question type="…">`` elements; a ``category`` question names the category in
``category/text``; every other question needs ``name/text`` (the importer's "xmlimportnoname"), its
text in ``questiontext/text`` with a ``format`` attribute the importer knows (``trans_format``), and
per type the children ``import_multichoice``, ``import_numerical``, ``import_shortanswer``,
``import_essay`` and ``import_description`` read: ``single``/``shuffleanswers``/``answernumbering`` and
``answer`` elements with a ``fraction`` attribute in percent, ``tolerance``, ``usecase``,
``responseformat``/``graderinfo``/``responsetemplate``. ``defaultgrade`` defaults to 1 and ``penalty``
to 0.3333333 as in ``qformat_default::defaultquestion``. Texts are trimmed, as ``getpath`` does.

Structure the importer needs and cannot find raises ``MoodleXmlError``. :func:`import_problems`
then applies the checks that run after reading: ``importprocess`` refuses an answer grade that is not
within 0.00001 of Moodle's fixed list (``match_grade_options`` with ``matchgrades=error``), and
``qtype_multichoice::save_question_options`` flags a one-answer question whose best grade is not
100 % and a multiple-answer question whose positive grades do not add up to 100 %.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree as ET

MOODLE_GRADES = (1.0, 0.9, 0.8333333, 0.8, 0.75, 0.7, 0.6666667, 0.6, 0.5, 0.4, 0.3333333, 0.3, 0.25, 0.2,
                 0.1666667, 0.1428571, 0.125, 0.1111111, 0.1, 0.05, 0.0)
"""``question_bank::fraction_options_full`` (each also negated)."""
TEXT_FORMATS = {"html", "moodle_auto_format", "plain_text", "markdown", "wiki_like"}
QUESTION_TYPES = {"multichoice", "truefalse", "shortanswer", "numerical", "essay", "description", "match",
                  "cloze", "multianswer", "calculated", "ddwtos", "gapselect"}
ANSWER_NUMBERING = {"abc", "ABCD", "123", "iii", "IIII", "none"}
RESPONSE_FORMATS = {"editor", "editorfilepicker", "plain", "monospaced", "noinline"}


class MoodleXmlError(ValueError):
    pass


@dataclass
class XmlAnswer:
    text: str
    fraction: float
    """The ``fraction`` attribute / 100, as the importer stores it."""
    format: str | None = None
    feedback: str = ""
    tolerance: float | None = None


@dataclass
class XmlQuestion:
    qtype: str
    name: str
    text: str
    text_format: str
    general_feedback: str = ""
    default_grade: float = 1.0
    penalty: float = 0.3333333
    hidden: bool = False
    idnumber: str | None = None
    single: bool | None = None
    shuffle: bool | None = None
    answer_numbering: str | None = None
    usecase: bool | None = None
    answers: list[XmlAnswer] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    grader_info: str | None = None
    response_format: str | None = None
    response_template: str | None = None


@dataclass
class XmlQuiz:
    categories: list[str]
    category_info: list[str]
    questions: list[XmlQuestion]


def _text_of(node: ET.Element | None, what: str, required: bool = False) -> str:
    """``node/text`` trimmed ('' when absent, unless required)."""
    if node is None or node.find("text") is None:
        if required:
            raise MoodleXmlError(f"missing {what}/text")
        return ""
    return (node.findtext("text") or "").strip()


def _formatted(question: ET.Element, tag: str, required: bool = False) -> tuple[str, str | None]:
    node = question.find(tag)
    if node is None:
        if required:
            raise MoodleXmlError(f"missing <{tag}>")
        return "", None
    fmt = node.get("format")
    if fmt is not None and fmt not in TEXT_FORMATS:
        raise MoodleXmlError(f"<{tag}> has format {fmt!r}, which the importer does not know")
    return _text_of(node, tag, required), fmt


def _value(question: ET.Element, tag: str, default: str | None) -> str | None:
    found = question.findtext(tag)
    return default if found is None else found.strip()


def _flag(value: str | None) -> bool:
    """``trans_single``: 'false', '0' and '' are false, anything else true."""
    return value not in (None, "", "false", "0")


def _answers(question: ET.Element, with_format: bool) -> list[XmlAnswer]:
    answers = []
    for node in question.findall("answer"):
        if "fraction" not in node.attrib:
            raise MoodleXmlError("an <answer> without a fraction attribute")
        fmt = node.get("format")
        if with_format and fmt not in TEXT_FORMATS:
            raise MoodleXmlError(f"answer format {fmt!r}")
        feedback, _fmt = _formatted(node, "feedback")
        tolerance = node.findtext("tolerance")
        answers.append(XmlAnswer(_text_of(node, "answer", required=True), float(node.get("fraction")) / 100, fmt,
                                 feedback, float(tolerance) if tolerance is not None else None))
    return answers


def _question(node: ET.Element) -> XmlQuestion:
    qtype = node.get("type") or ""
    name = _text_of(node.find("name"), "name", required=True)
    text, fmt = _formatted(node, "questiontext", required=True)
    read = XmlQuestion(qtype, name, text, fmt or "html", general_feedback=_formatted(node, "generalfeedback")[0],
                       default_grade=float(_value(node, "defaultgrade", "1")),
                       penalty=float(_value(node, "penalty", "0.3333333")),
                       hidden=_flag(_value(node, "hidden", "0")), idnumber=_value(node, "idnumber", None))
    read.tags = [_text_of(tag, "tag", required=True) for tag in node.findall("tags/tag")]
    read.hints = [_text_of(hint, "hint") for hint in node.findall("hint")]
    if qtype == "multichoice":
        read.single = _flag(_value(node, "single", "true"))
        read.shuffle = _flag(_value(node, "shuffleanswers", "false"))
        read.answer_numbering = _value(node, "answernumbering", "abc") or "abc"
        if read.answer_numbering not in ANSWER_NUMBERING:
            raise MoodleXmlError(f"{name}: answernumbering {read.answer_numbering!r}")
        read.answers = _answers(node, with_format=True)
        if len(read.answers) < 2:
            raise MoodleXmlError(f"{name}: a multichoice question needs at least two answers")
    elif qtype == "numerical":
        read.answers = _answers(node, with_format=False)
        for answer in read.answers:
            float(answer.text)  # the importer stores it as a number; not a number fails here
        if not read.answers:
            raise MoodleXmlError(f"{name}: a numerical question without an answer")
    elif qtype == "shortanswer":
        read.usecase = _flag(_value(node, "usecase", "0"))
        read.answers = _answers(node, with_format=False)
        if not read.answers:
            raise MoodleXmlError(f"{name}: a short-answer question without an answer")
    elif qtype == "essay":
        read.response_format = _value(node, "responseformat", "editor")
        if read.response_format not in RESPONSE_FORMATS:
            raise MoodleXmlError(f"{name}: responseformat {read.response_format!r}")
        read.grader_info = _formatted(node, "graderinfo")[0]
        read.response_template = _text_of(node.find("responsetemplate"), "responsetemplate")
    elif qtype == "description":
        read.default_grade = 0.0  # import_description sets it, whatever the file says
    elif qtype not in QUESTION_TYPES:
        raise MoodleXmlError(f"{name}: unknown question type {qtype!r}")
    return read


def read_quiz(path: str | Path) -> XmlQuiz:
    root = ET.parse(path).getroot()
    if root.tag != "quiz":
        raise MoodleXmlError(f"root element <{root.tag}>, expected <quiz>")
    quiz = XmlQuiz([], [], [])
    for node in root:
        if node.tag != "question":
            raise MoodleXmlError(f"<{node.tag}> inside <quiz>")
        if node.get("type") == "category":
            quiz.categories.append(_text_of(node.find("category"), "category", required=True))
            quiz.category_info.append(_formatted(node, "info")[0])
        else:
            quiz.questions.append(_question(node))
    return quiz


def _listed(fraction: float) -> bool:
    return any(abs(fraction - sign * grade) < 0.00001 for grade in MOODLE_GRADES for sign in (1, -1))


def import_problems(question: XmlQuestion) -> list[str]:
    """What Moodle's import would refuse (an unlisted grade) or flag (multichoice grade sums)."""
    problems = [f"grade {a.fraction * 100:g} % is not on Moodle's list" for a in question.answers if not _listed(a.fraction)]
    if question.qtype == "multichoice" and question.answers:
        if question.single and max(a.fraction for a in question.answers) != 1:
            problems.append("one-answer question without a 100 % answer")
        if not question.single and round(sum(a.fraction for a in question.answers if a.fraction > 0), 2) != 1:
            problems.append("positive grades do not add up to 100 %")
    return problems
