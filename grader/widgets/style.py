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
.gq-quiz .gq-strip span { display: inline-block; min-width: 1.9em; text-align: center; margin: 0 .15em .15em 0;
  border-radius: 3px; border: 1px solid rgba(127,127,127,.45); padding: 0 .2em; font-size: .9em; }
.gq-quiz .gq-strip span.gq-current { outline: 2px solid #0969da; font-weight: 600; }
.gq-quiz .gq-card { border: 1px solid rgba(127,127,127,.45); border-radius: 8px; padding: 1em 1.2em;
  min-height: 4em; margin: .4em 0; }
.gq-quiz .gq-badge { font-size: 1.1em; font-weight: 600; }
.gq-quiz .widget-radio-box label, .gq-quiz .widget-radio-box { white-space: normal; }
</style>
"""
