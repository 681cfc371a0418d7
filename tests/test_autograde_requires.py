"""The ``requires`` rule (grader.sandbox.evaluate.with_requirements), the same for students and references."""
from __future__ import annotations

import pytest

from grader.errors import UserError
from grader.kinds import CodeQuestion
from grader.sandbox.evaluate import chunk_question, reference_chunks, student_chunks


def code_question(qid: str, reference: str, requires: tuple[str, ...] = ()) -> CodeQuestion:
    return CodeQuestion(id=qid, type="code", prompt="Write it.", reference=reference, requires=list(requires),
                        checks=[{"id": "p", "name": "p", "expr": "1"}])


BASE = code_question("base", "x = 1")
HELPER = code_question("helper", "h = 2")
USER = code_question("user", "y = x + h", requires=("base", "helper"))
BY_ID = {q.id: q for q in (BASE, HELPER, USER)}


def test_required_code_runs_first_in_the_order_listed_each_chunk_named_for_its_question():
    assert reference_chunks(USER, BY_ID) == [("<reference of base>", "the reference of base", "x = 1"),
                                             ("<reference of helper>", "the reference of helper", "h = 2"),
                                             ("<reference>", "the reference", "y = x + h")]
    answers = {"base": "x = 10", "helper": "h = 20", "user": "y = x * h"}
    assert student_chunks(USER, answers) == [("<your answer to base>", "your answer to base", "x = 10"),
                                             ("<your answer to helper>", "your answer to helper", "h = 20"),
                                             ("<your answer>", "your cell", "y = x * h")]


def test_a_missing_required_answer_is_left_out_and_an_unanswered_question_has_no_chunks():
    assert [c[0] for c in student_chunks(USER, {"helper": "h = 20", "user": "y = h"})] == ["<your answer to helper>",
                                                                                         "<your answer>"]
    assert student_chunks(USER, {"base": "x = 10", "user": "  \n"}) is None


def test_an_unknown_requirement_is_a_bank_error():
    with pytest.raises(UserError, match="'user' requires unknown code question\\(s\\): helper"):
        reference_chunks(USER, {"base": BASE, "user": USER})


@pytest.mark.parametrize(("filename", "question"), [("<reference of base>", "base"), ("<your answer to helper>", "helper"),
                                                    ("<reference>", "user"), ("<your answer>", "user")])
def test_an_error_is_traced_to_the_question_whose_code_raised(filename, question):
    assert chunk_question(filename, "user") == question
