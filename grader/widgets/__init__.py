"""Self-checking quiz widgets for JupyterLab (ipywidgets 8) and Colab (ipywidgets 7.7.1).

    from grader.widgets import Quiz
    Quiz("quizzes/day48-lora-qlora.yaml")

Scoring stays in ``grader.scoring``; :class:`QuizSession` holds a student's state and
:class:`Quiz` draws it with ipywidgets core widgets. :func:`markdown_fallback` is the static
version of a quiz, for places where widgets cannot run (GitHub's notebook view).
"""
from .fallback import markdown_fallback
from .quiz import Quiz
from .session import QuizSession

__all__ = ["Quiz", "QuizSession", "markdown_fallback"]
