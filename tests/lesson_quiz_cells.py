"""The proposed source of each lesson's closing quiz cell: one combined quiz per lesson.

The lessons (``notebooks/0*.ipynb``) used to stack one ``Quiz`` per bank. These are the cells that
replace them, kept here because a lesson's code cell only changes with a full re-run of the lesson
(its outputs are stamped with a hash of its code). ``tests/test_widgets_static.py`` builds each
quiz headless from this text, and compares it with the notebook's cell once the notebook carries
a ``Quiz.combined`` cell. Edit a cell here and in its notebook together.
"""
from __future__ import annotations

LESSON_QUIZ_CELLS: dict[str, str] = {
    "01_lora_from_scratch": '''\
from grader.widgets import Quiz

Quiz.combined(
    "lesson01",
    title="Lesson 1 self-check · LoRA from scratch",
    description="Questions from the course's quiz banks that this lesson answers.",
    parts=[
        ("day48-lora-qlora", ["q1"]),
        ("ibm-peft-graded-quiz", ["q2", "q3", "q5"]),
        ("coursera-peft-graded-quiz", ["q4", "q5"]),
        ("lora-qlora-challenges", ["c4"]),
    ],
)''',
    "02_lora_rank": '''\
from grader.widgets import Quiz

Quiz.combined(
    "lesson02",
    title="Lesson 2 self-check · The LoRA rank r",
    description="Questions from the course's quiz banks that this lesson answers.",
    parts=[
        ("day48-lora-qlora", ["q2", "q7", "q9"]),
    ],
)''',
    "03_lora_alpha": '''\
from grader.widgets import Quiz

Quiz.combined(
    "lesson03",
    title="Lesson 3 self-check · The LoRA scale α",
    description="A question from the course's quiz banks that this lesson answers.",
    parts=[
        ("day48-lora-qlora", ["q3"]),
    ],
)''',
    "04_quantization_and_qlora": '''\
from grader.widgets import Quiz

Quiz.combined(
    "lesson04",
    title="Lesson 4 self-check · 4-bit quantization and QLoRA",
    description="Questions from the course's quiz banks that this lesson answers.",
    parts=[
        ("day48-lora-qlora", ["q4", "q5", "q6", "q10"]),
        ("ibm-peft-graded-quiz", ["q1"]),
        ("lora-qlora-challenges", ["c5"]),
    ],
)''',
    "05_adapters_in_production": '''\
from grader.widgets import Quiz

Quiz.combined(
    "lesson05",
    title="Lesson 5 self-check · Adapters in production",
    description="Questions from the course's quiz banks that this lesson answers.",
    parts=[
        ("day48-lora-qlora", ["q8"]),
        ("ibm-peft-graded-quiz", ["q4"]),
    ],
)''',
}
"""Lesson notebook stem → the exact source of its closing quiz cell (the quiz is the cell's value)."""

QUESTION_COUNTS: dict[str, int] = {"01_lora_from_scratch": 7, "02_lora_rank": 3, "03_lora_alpha": 1,
                                   "04_quantization_and_qlora": 6, "05_adapters_in_production": 2}
"""How many questions each lesson's quiz holds: the old cells' subsets, added up."""
