"""The HTML feedback page stays the Markdown file rendered, now that its parts are rendered one by one
and remembered across students (issue 14: writing feedback was most of the grader's own CPU).

A section's parts must render alone exactly as they render together, whatever a student or a bank
writes into them, and a remembered part must never carry one page's anchor or status into another.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from grader import parse_bank, score_answers
from grader.feedback import (
    MAX_CODE_LINES,
    feedback_html,
    feedback_markdown,
    feedback_pages,
    feedback_sections,
)
from grader.markup import code_html
from grader.submissions import Submission

BANK = """
id: pages
title: Pages quiz
source: original
questions:
  - id: q1
    type: single_choice
    prompt: Pick B.
    options:
      - {text: a}
      - {text: b, correct: true}
  - id: q2
    type: numeric
    prompt: How many?
    answer: 800
  - id: Q2
    type: numeric
    prompt: How many, again?
    answer: 8
"""

HOSTILE_FEEDBACK = [
    # a link whose definition comes later in the same feedback, a list left open at the end, and a fence never closed
    "See [the notes][notes] and [x].\n\n[notes]: https://example.org/notes\n\n- one\n- two\n\n  more of two",
    "```python\nnever closed\n\n- not a list",
    "    indented code\n\n[x]: https://example.org/x 'defines [x] for any part that links it'",
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\nlazy line\n\n1. first\n\n2. second",
]
HOSTILE_CODE = [
    "x = '[x]'\n[x]: https://example.org/not-a-definition\n```\n````\n- item\n    indented",
    "\n".join(f"line_{i} = {i}  # ` `` ```" for i in range(MAX_CODE_LINES + 20)),  # cut short: a note after the fence
    "# answer: q1\n<script>alert(1)</script>\n\t\ttabbed = True\n\n\n\nafter_blank_lines = 1",
]


@pytest.fixture(scope="module")
def bank():
    return parse_bank(BANK)


def whole(markdown: str) -> str:
    """A section's Markdown rendered in one piece, as the page was rendered before parts were remembered."""
    parser = MarkdownIt("commonmark", {"html": False, "highlight": lambda code, lang, _attrs: code_html(code, lang)})
    return parser.enable("table").render(markdown)


def question_sections(page: str) -> list[str]:
    return re.findall(r'<section class="question [a-z]+">\n(.*?)</section>', page, re.DOTALL)


@pytest.mark.parametrize("feedback", HOSTILE_FEEDBACK)
@pytest.mark.parametrize("code", HOSTILE_CODE + [None])
def test_each_question_on_the_page_is_its_markdown_rendered_whole(bank, feedback, code):
    result = score_answers(bank, {"q1": "A", "q2": 800, "Q2": 8})
    result = replace(result, questions=[replace(q, feedback=feedback + f"\n\n{q.feedback}") for q in result.questions])
    submission = Submission(Path("ann.ipynb"), "[x] ann")
    codes = {"q1": code} if code is not None else {}
    sections = feedback_sections(bank, submission, result, "", code=codes)
    page = feedback_html(bank, submission, result, "", code=codes)
    shown = question_sections(page)
    expected = [s for s in sections if s.status is not None]
    assert len(shown) == len(expected) == 3
    for got, section in zip(shown, expected):
        assert got == whole(section.markdown).replace("<h2>", f'<h2 id="{section.anchor}">', 1)
    assert (feedback_markdown(bank, submission, result, "", code=codes), page) == \
        feedback_pages(bank, submission, result, "", code=codes)


def test_a_remembered_part_keeps_neither_anchor_nor_status_of_another_page(bank):
    # "## Q2" with the same points is the same Markdown on both pages, but its anchor differs: "q2-1"
    # beside a question q2, "q2" alone; the same code and feedback at another question keeps that one's status
    alone = parse_bank(BANK.replace("  - id: q2\n    type: numeric\n    prompt: How many?\n    answer: 800\n", ""))
    both = score_answers(bank, {"q1": "B", "q2": 1, "Q2": 8})
    one = score_answers(alone, {"q1": "A", "Q2": 8})
    for first, second in ((bank, alone), (alone, bank)):
        pages = {}
        for b in (first, second):
            result = both if b is bank else one
            pages[b.id if b is bank else "alone"] = feedback_html(b, Submission(Path("bo.json"), "bo"), result, "",
                                                                  code={"q1": "y = 2"})
        assert '<h2 id="q2-1">Q2</h2>' in pages["pages"] and '<h2 id="q2">Q2</h2>' in pages["alone"]
        assert '<section class="question correct">\n<h2 id="q1">' in pages["pages"]
        assert '<section class="question incorrect">\n<h2 id="q1">' in pages["alone"]
        assert all(code_html("y = 2") in page for page in pages.values())


def test_a_page_is_the_same_whatever_was_written_before_it(bank):
    result = score_answers(bank, {"q1": "A", "q2": 7})
    ann = Submission(Path("ann.json"), "ann")
    first = feedback_pages(bank, ann, result, "", code={"q1": HOSTILE_CODE[0]})
    for code in HOSTILE_CODE:  # other students, other code, the same questions
        feedback_pages(bank, Submission(Path("bob.json"), "bob"), score_answers(bank, {"q1": "B"}), "", code={"q1": code})
    assert feedback_pages(bank, ann, result, "", code={"q1": HOSTILE_CODE[0]}) == first
