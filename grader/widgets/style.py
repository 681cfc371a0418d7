"""The quiz's CSS: readable in JupyterLab's light and dark themes and in Colab.

Text colour is inherited from the notebook theme; status colours are borders and translucent
backgrounds that work on white and on near-black. JupyterLab's CSS variables are used where they
exist, with fallbacks for Colab (which has none).
"""
from __future__ import annotations

STATUS_COLOURS = {
    "correct": "#1a7f37", "partial": "#9a6700", "incorrect": "#cf222e", "invalid": "#9a6700",
    "unanswered": "#6e7781", "ungraded": "#0969da", "pending": "#6e7781", "info": "#0969da",
}

CSS = """
<style>
.gq-quiz { font-family: var(--jp-ui-font-family, inherit); color: inherit; max-width: 52em; }
.gq-quiz .gq-title { font-size: 1.25em; font-weight: 600; margin: .2em 0 .4em 0; }
.gq-quiz .gq-muted { opacity: .75; }
.gq-quiz .gq-prompt { font-size: 1.05em; line-height: 1.5; }
.gq-quiz .gq-prompt p { margin: .3em 0; }
.gq-quiz .gq-option { margin: .25em 0; }
.gq-quiz .gq-box { border-left: 4px solid var(--gq-colour, #0969da); padding: .35em .8em; margin: .4em 0;
  background: color-mix(in srgb, var(--gq-colour, #0969da) 10%, transparent); border-radius: 4px; }
.gq-quiz .gq-box p { margin: .25em 0; }
.gq-quiz .gq-head { font-weight: 600; }
.gq-quiz table.gq-summary { border-collapse: collapse; margin: .5em 0; }
.gq-quiz table.gq-summary th, .gq-quiz table.gq-summary td { border: 1px solid rgba(127,127,127,.4);
  padding: .25em .6em; text-align: left; vertical-align: top; }
.gq-quiz .gq-strip button { min-width: 2.4em; padding: 0 .45em; margin: 0 .25em .25em 0; font-size: .9em; }
.gq-quiz .gq-strip button.gq-current { outline: 2px solid #0969da; outline-offset: -2px; font-weight: 600; }
.gq-quiz .gq-card { border: 1px solid rgba(127,127,127,.45); border-radius: 8px; padding: 1em 1.2em;
  min-height: 4em; margin: .4em 0; }
.gq-quiz .gq-badge { font-size: 1.1em; font-weight: 600; }
/* Narrow screens (a phone, a split screen). The widgets' own CSS gives labels and radio options
   one fixed-height, unwrapped line and radio groups a fixed width: long text then runs over the
   next option or is cut off. Here every text wraps and every box takes the width it is given. The
   old and the new class names are both listed: ipywidgets 7 (Colab) has only the old ones. */
.gq-quiz, .gq-quiz .widget-box, .gq-quiz .jupyter-widget-box { min-width: 0; max-width: 100%; box-sizing: border-box; }
.gq-quiz .widget-radio, .gq-quiz .jupyter-widget-radio { width: auto; max-width: 100%; min-width: 0; }
.gq-quiz .widget-radio-box, .gq-quiz .jupyter-widget-radio-box { min-width: 0; white-space: normal; }
.gq-quiz .widget-radio-box label, .gq-quiz .jupyter-widget-radio-box label {
  display: flex; align-items: flex-start; height: auto; min-height: 1.8em; line-height: 1.4;
  padding: .2em 0; white-space: normal; overflow-wrap: anywhere; cursor: pointer; }
.gq-quiz .widget-radio-box input, .gq-quiz .jupyter-widget-radio-box input {
  float: none; order: -1; flex: 0 0 auto; height: 1.4em; line-height: 1.4; margin: 0 .6em 0 1px; }
.gq-quiz .widget-label, .gq-quiz .jupyter-widget-label { height: auto; min-height: 1.8em; line-height: 1.4;
  white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere; padding: .2em 0; }
.gq-quiz .widget-html-content, .gq-quiz .jupyter-widget-html-content { line-height: 1.45; min-width: 0;
  overflow-wrap: anywhere; }
.gq-quiz .gq-option-row { width: 100%; min-width: 0; padding: .15em 0; }
.gq-quiz .gq-option-row .widget-checkbox, .gq-quiz .gq-option-row .jupyter-widget-checkbox { flex: 0 0 auto; }
.gq-quiz .gq-option-row .widget-htmlmath, .gq-quiz .gq-option-row .jupyter-widget-htmlmath { flex: 1 1 0; min-width: 0; }
.gq-quiz .widget-button, .gq-quiz .jupyter-widget-button { max-width: 100%; white-space: normal; height: auto;
  min-height: var(--jp-widgets-inline-height, 28px); }
.gq-quiz .gq-bar > *, .gq-quiz .gq-nav > * { margin-right: .6em; }
.gq-quiz pre, .gq-quiz .gq-code { max-width: 100%; overflow-x: auto; }
.gq-quiz table.gq-summary { display: block; max-width: 100%; overflow-x: auto; }
.gq-quiz .gq-confirm { align-items: center; }
</style>
"""
