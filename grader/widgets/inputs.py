"""One answer input per question type, built from ipywidgets core widgets only.

Each input exposes ``widget`` (what to display), ``value`` (the answer in the answer-file format,
readable and settable, so tests drive it like a click would) and ``disable()``. The widgets used
exist with the same meaning in ipywidgets 7.7.1 (Colab) and 8.x (JupyterLab 4): RadioButtons,
Checkbox, Text, Textarea, HTML, HTMLMath, Box layouts. Native inputs keep the quiz keyboard
usable: Tab moves between them, arrows pick a radio option, Space ticks a box.

Options carry the letter of their position (:class:`~grader.widgets.order.OptionLabels`: A, B, C…
top to bottom) while ``value`` holds the bank's option ids. Every row may wrap: the layouts here
and the CSS in ``style.py`` keep options readable and clickable from 320 px up.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..kinds import InputSpec
from ..markup import inline_html, is_rich, plain_text
from ..models import Option
from .order import OptionLabels

OnChange = Callable[[Any], None]


class AnswerInput:
    """Base: a widget and the answer it holds."""

    widget: w.Widget

    @property
    def value(self) -> Any:
        raise NotImplementedError

    @value.setter
    def value(self, answer: Any) -> None:
        raise NotImplementedError

    def disable(self, disabled: bool = True) -> None:
        raise NotImplementedError


class RadioInput(AnswerInput):
    """Single choice: radio buttons, nothing pre-selected (``value=None``).

    Plain options are the radio labels themselves (they wrap, see ``style.py``). When an option
    holds code or math (radio labels are plain text), the options are shown rendered above and the
    radios carry their letters.
    """

    def __init__(self, options: list[Option], on_change: OnChange, labels: OptionLabels | None = None) -> None:
        letters = labels or OptionLabels.for_order([o.id for o in options])
        rich = any(is_rich(o.text) for o in options)
        choices = [(letters.letter(o.id) if rich else f"{letters.letter(o.id)}. {plain_text(o.text)}", o.id)
                   for o in options]
        self.radio = w.RadioButtons(options=choices, value=None, layout=w.Layout(width="auto", max_width="100%"))
        self.radio.add_class("gq-options")
        parts: list[w.Widget] = []
        if rich:
            rows = "".join(f'<div class="gq-option"><b>{letters.letter(o.id)}.</b> {inline_html(o.text)}</div>'
                           for o in options)
            parts.append(w.HTMLMath(value=f'<div class="gq-option-list">{rows}</div>', layout=w.Layout(width="100%")))
        parts.append(self.radio)
        self.widget = w.VBox(parts, layout=w.Layout(width="100%"))
        self.radio.observe(lambda change: on_change(change["new"]), names="value")

    @property
    def value(self) -> str | None:
        return self.radio.value

    @value.setter
    def value(self, answer: Any) -> None:
        self.radio.value = answer

    def disable(self, disabled: bool = True) -> None:
        self.radio.disabled = disabled


class CheckboxInput(AnswerInput):
    """Multi-select: one row per option, a check box beside its rendered text (which wraps)."""

    def __init__(self, options: list[Option], on_change: OnChange, labels: OptionLabels | None = None) -> None:
        letters = labels or OptionLabels.for_order([o.id for o in options])
        self.boxes: dict[str, w.Checkbox] = {}
        rows = []
        for option in options:
            box = w.Checkbox(value=False, description="", indent=False,
                             layout=w.Layout(width="2.2em", min_width="2.2em", flex="0 0 auto"))
            box.observe(lambda _change: on_change(self.value), names="value")
            self.boxes[option.id] = box
            text = w.HTMLMath(value=f"<b>{letters.letter(option.id)}.</b> {inline_html(option.text)}",
                              layout=w.Layout(flex="1 1 0", min_width="0", width="auto"))
            row = w.HBox([box, text], layout=w.Layout(align_items="flex-start", width="100%"))
            row.add_class("gq-option-row")
            rows.append(row)
        self.widget = w.VBox(rows, layout=w.Layout(width="100%"))
        self.widget.add_class("gq-options")

    @property
    def value(self) -> list[str]:
        return [oid for oid, box in self.boxes.items() if box.value]

    @value.setter
    def value(self, answer: Any) -> None:
        wanted = {str(a).casefold() for a in (answer or [])}
        for oid, box in self.boxes.items():
            box.value = oid.casefold() in wanted

    def disable(self, disabled: bool = True) -> None:
        for box in self.boxes.values():
            box.disabled = disabled


class TextInput(AnswerInput):
    """Numbers, short texts and printed output (one line, or a text area for multi-line output)."""

    def __init__(self, on_change: OnChange, *, placeholder: str, multiline: bool = False) -> None:
        cls = w.Textarea if multiline else w.Text
        self.text = cls(value="", placeholder=placeholder, continuous_update=True,
                        layout=w.Layout(width="40em", max_width="100%"))
        self.text.observe(lambda change: on_change(change["new"]), names="value")
        self.widget = self.text

    @property
    def value(self) -> str:
        return self.text.value

    @value.setter
    def value(self, answer: Any) -> None:
        self.text.value = "" if answer is None else str(answer)

    def disable(self, disabled: bool = True) -> None:
        self.text.disabled = disabled


def build_input(spec: InputSpec, options: list[Option], on_change: OnChange,
                labels: OptionLabels | None = None) -> AnswerInput | None:
    """The input a kind asks for (its :class:`~grader.kinds.InputSpec`), options in the student's order
    and lettered by ``labels`` (by position when None); None for kinds answered elsewhere (a
    flashcard's card, a code cell)."""
    if spec.style == "radio":
        return RadioInput(options, on_change, labels)
    if spec.style == "checkbox":
        return CheckboxInput(options, on_change, labels)
    if spec.style in ("line", "area"):
        box = TextInput(on_change, placeholder=spec.placeholder, multiline=spec.style == "area")
        if spec.style == "area":
            box.text.layout.height = "7em"
        return box
    return None
