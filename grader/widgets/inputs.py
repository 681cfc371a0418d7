"""One answer input per question type, built from ipywidgets core widgets only.

Each input exposes ``widget`` (what to display), ``value`` (the answer in the answer-file format,
readable and settable, so tests drive it like a click would) and ``disable()``. The widgets used
exist with the same meaning in ipywidgets 7.7.1 (Colab) and 8.x (JupyterLab 4): RadioButtons,
Checkbox, Text, Textarea, HTML, HTMLMath, Box layouts. Native inputs keep the quiz keyboard
usable: Tab moves between them, arrows pick a radio option, Space ticks a box.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..kinds import InputSpec
from ..models import Option
from ..markup import inline_html, is_rich, plain_text

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

    Plain options are the radio labels themselves. When an option holds code or math (radio labels
    are plain text), the options are shown rendered above and the radios carry their ids.
    """

    def __init__(self, options: list[Option], on_change: OnChange) -> None:
        rich = any(is_rich(o.text) for o in options)
        labels = [(o.id if rich else f"{o.id}. {plain_text(o.text)}", o.id) for o in options]
        self.radio = w.RadioButtons(options=labels, value=None, layout=w.Layout(width="auto", max_width="100%"))
        self.radio.add_class("gq-options")
        parts: list[w.Widget] = []
        if rich:
            rows = "".join(f'<div class="gq-option"><b>{o.id}.</b> {inline_html(o.text)}</div>' for o in options)
            parts.append(w.HTMLMath(value=f'<div class="gq-option-list">{rows}</div>'))
        parts.append(self.radio)
        self.widget = w.VBox(parts)
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
    """Multi-select: one check box per option, each beside its rendered text."""

    def __init__(self, options: list[Option], on_change: OnChange) -> None:
        self.boxes: dict[str, w.Checkbox] = {}
        rows = []
        for option in options:
            box = w.Checkbox(value=False, description="", indent=False, layout=w.Layout(width="2.2em"))
            box.observe(lambda _change: on_change(self.value), names="value")
            self.boxes[option.id] = box
            text = w.HTMLMath(value=f"<b>{option.id}.</b> {inline_html(option.text)}")
            rows.append(w.HBox([box, text], layout=w.Layout(align_items="center")))
        self.widget = w.VBox(rows)
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
                        layout=w.Layout(width="min(40em, 100%)"))
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


def build_input(spec: InputSpec, options: list[Option], on_change: OnChange) -> AnswerInput | None:
    """The input a kind asks for (its :class:`~grader.kinds.InputSpec`), options in the student's order;
    None for kinds answered elsewhere (a flashcard's card, a code cell)."""
    if spec.style == "radio":
        return RadioInput(options, on_change)
    if spec.style == "checkbox":
        return CheckboxInput(options, on_change)
    if spec.style in ("line", "area"):
        box = TextInput(on_change, placeholder=spec.placeholder, multiline=spec.style == "area")
        if spec.style == "area":
            box.text.layout.height = "7em"
        return box
    return None
