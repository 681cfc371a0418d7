"""Self-checking quiz widgets for JupyterLab (ipywidgets 8) and Colab (ipywidgets 7.7.1).

    from grader.widgets import Quiz
    Quiz("quizzes/day48-lora-qlora.yaml")
    Quiz.combined("lesson01", title="Lesson 1 self-check", parts=[("day48-lora-qlora", ["q1"]), ...])

Scoring stays in ``grader.scoring``; :class:`QuizSession` holds a student's state and
:class:`Quiz` draws it with ipywidgets core widgets. :func:`combine_banks` builds one quiz from
questions of several banks (a lesson's closing self-check). Where widgets cannot run (GitHub's
notebook view, nbviewer, exported HTML) a quiz shows its static version: the quiz notebooks'
last cell (:func:`markdown_fallback`) and every displayed ``Quiz``'s own fallback MIME types
(:mod:`grader.widgets.static`). Neither holds a key.
"""
from .fallback import markdown_fallback
from .lesson import combine_banks
from .quiz import Quiz
from .session import QuizSession
from .static import static_bundle

__all__ = ["Quiz", "QuizSession", "combine_banks", "markdown_fallback", "static_bundle"]
