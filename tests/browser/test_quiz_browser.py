"""The quiz in a real browser: JupyterLab 4 and Notebook 7, headless Debian chromium, Playwright.

Opens a copy of ``notebooks/quizzes/day48-lora-qlora.ipynb`` in each front end, runs it, and at a
phone width (390 px) answers the first question wrongly and then rightly by clicking; then, at 390,
768 and 1280 px, measures the layout: option texts must not overlap each other, every button, radio
button and check box must lie inside the viewport and be the element a click at its centre reaches,
and no header or label text may be clipped. Screenshots go to the test's temporary folder (or to
``$QUIZ_SCREENSHOTS`` when set); the tracked ``docs/img/quiz-*.png`` are rewritten only when
``UPDATE_DOCS_IMAGES=1``. Needs ``bash tests/browser/setup.sh`` first; skips otherwise.

The server listens on 127.0.0.1 only, on a free port, with a random token; every wait is bounded
and the server (with its kernels) is always killed.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from paths import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS_IMG = ROOT / "docs" / "img"
WIDTHS = (390, 768, 1280)
"""A phone, a tablet (or a laptop with the file browser open), a desktop."""
PHONE_MAX = 600
"""Below this width JupyterLab's file browser is closed, as a phone user would (open, it leaves the
notebook about 40 px); from it up the file browser stays open, the split screen of the issue."""
FRONT_ENDS = {"jupyterlab": "/lab/tree/", "notebook7": "/notebooks/"}
"""Where each front end opens a notebook (the server serves both)."""
TEST_LIMIT_S = 420
"""Hard limit on one front end's browser session (every step has its own, shorter, timeout too)."""
KERNEL_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!(kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
}"""
LAYOUT_PROBLEMS = """(quiz) => {
  const problems = [];
  const vw = document.documentElement.clientWidth;
  const visible = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const name = (el) => (el.innerText || el.value || el.tagName).trim().replace(/\\s+/g, ' ').slice(0, 40);
  // where an option's text really is: a Range covers text that overflows its label's box too
  const textBox = (el) => { const range = document.createRange(); range.selectNodeContents(el);
                            return range.getBoundingClientRect(); };
  const options = [...quiz.querySelectorAll('.widget-radio-box label, .gq-option-row')].filter(visible);
  for (let i = 0; i < options.length; i++) {
    for (let j = i + 1; j < options.length; j++) {
      const a = textBox(options[i]), b = textBox(options[j]);
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) problems.push(`options overlap: "${name(options[i])}" and "${name(options[j])}"`);
    }
  }
  const controls = [...quiz.querySelectorAll('button, input[type=radio], input[type=checkbox]')].filter(visible);
  for (const el of controls) {
    el.scrollIntoView({block: 'center', inline: 'nearest'});
    const r = el.getBoundingClientRect();
    if (r.left < -0.5 || r.right > vw + 0.5) {
      problems.push(`${el.tagName.toLowerCase()} "${name(el)}" outside the viewport: ${r.left.toFixed(0)}..${r.right.toFixed(0)} of ${vw}`);
      continue;
    }
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    const label = el.closest('label');
    if (!hit || !(hit === el || el.contains(hit) || (label && label.contains(hit)))) {
      problems.push(`${el.tagName.toLowerCase()} "${name(el)}" is covered by ${hit ? hit.tagName + '.' + hit.className : 'nothing'}`);
    }
  }
  const texts = [...quiz.querySelectorAll('.widget-label, .widget-html-content, .gq-title, button')].filter(visible);
  for (const el of texts) {
    if (el.scrollWidth > el.clientWidth + 1) problems.push(`text clipped (${el.scrollWidth} > ${el.clientWidth} px): "${name(el)}"`);
  }
  if (quiz.getBoundingClientRect().right > vw + 0.5) problems.push(`the quiz is wider than the viewport (${vw} px)`);
  return problems;
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raise_on_signal(signum, _frame):
    raise TimeoutError(f"browser test stopped by {signal.Signals(signum).name}")


def _wait_for(url: str, timeout_s: float, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"Jupyter exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"Jupyter did not answer {url.split('?')[0]} within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """One Jupyter server (Notebook 7, which serves JupyterLab too) over a copy of the quiz notebook."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI installs chromium: a skip there would hide a break
            pytest.fail(f"{CHROMIUM} missing although REQUIRE_BROWSER=1: run tests/browser/setup.sh")
        pytest.skip(f"{CHROMIUM} missing: run tests/browser/setup.sh")
    pytest.importorskip("playwright.sync_api", reason="playwright missing: run tests/browser/setup.sh")
    pytest.importorskip("notebook", reason="Notebook 7 missing")
    tmp_path = tmp_path_factory.mktemp("jupyter")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "quizzes" / "day48-lora-qlora.ipynb", work / "quiz.ipynb")
    shutil.copy(ROOT / "notebooks" / "quizzes" / "lora-qlora-challenges.ipynb", work / "timed.ipynb")
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "GRADER_BANKS": str(ROOT / "quizzes"), "GRADER_STUDENT": "browser-test",
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "notebook", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
           f"--JupyterNotebookApp.user_settings_dir={tmp_path / 'settings'}",
           f"--JupyterNotebookApp.workspaces_dir={tmp_path / 'ws'}",
           "--JupyterNotebookApp.expose_app_in_browser=True", "--LabApp.expose_app_in_browser=True",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
           "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:  # CI containers run as root; Jupyter refuses that unless told
        cmd.append("--allow-root")
    log_path = tmp_path / "jupyter.log"
    log = log_path.open("w")
    server = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    previous_term = signal.signal(signal.SIGTERM, _raise_on_signal)  # a killed test run still kills the server
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/status?token={token}", 90, server, log_path)
        yield f"http://127.0.0.1:{port}", token
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)  # the server and its kernels: the group we started
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)
        log.close()
        signal.signal(signal.SIGTERM, previous_term)


@pytest.fixture
def time_limit() -> Iterator[None]:
    previous_alarm = signal.signal(signal.SIGALRM, _raise_on_signal)
    signal.alarm(TEST_LIMIT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous_alarm)


def _screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ["QUIZ_SCREENSHOTS"]) if os.environ.get("QUIZ_SCREENSHOTS") else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open_quiz(page, url: str):
    """Load the notebook, run every cell once the kernel is up, and return the quiz's locator."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url)
    # polling by interval, not animation frames (a headless tab may get none); the kernel must be
    # connected before "run all", or the request is dropped on a cold start
    page.wait_for_function(KERNEL_READY, polling=500, timeout=120_000)
    quiz = page.locator(".gq-quiz:visible").first  # JupyterLab may restore another notebook's tab beside it
    for _ in range(2):  # one bounded retry of "run all" for a kernel that was slow to attach
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        try:
            quiz.wait_for(state="visible", timeout=60_000)
            return quiz
        except PlaywrightTimeout:
            continue
    return quiz


def _side_panel(page, front_end: str, *, open_: bool) -> None:
    """Open or close JupyterLab's left side panel (Notebook 7 has none open)."""
    if front_end == "jupyterlab":
        page.evaluate(f"() => window.jupyterapp.shell.{'expandLeft' if open_ else 'collapseLeft'}()")


def _layout_at(page, quiz, front_end: str, width: int, shot: Path) -> list[str]:
    """Resize to ``width``, list the quiz's layout problems, and save ``<shot>.png`` (the quiz) and
    ``<shot>-page.png`` (the quiz in its notebook)."""
    page.set_viewport_size({"width": width, "height": 900})
    _side_panel(page, front_end, open_=width >= PHONE_MAX)
    page.wait_for_timeout(600)  # the notebook re-lays itself out after a resize
    problems = page.evaluate(LAYOUT_PROBLEMS, quiz.element_handle())
    quiz.scroll_into_view_if_needed()
    quiz.screenshot(path=f"{shot}.png")
    page.screenshot(path=f"{shot}-page.png")
    return problems


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_quiz_fits_every_width_and_checks_answers(jupyter, time_limit, front_end, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base, token = jupyter
    shots = _screenshots(tmp_path)
    update_docs = os.environ.get("UPDATE_DOCS_IMAGES") == "1" and front_end == "jupyterlab"
    problems: dict[int, list[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
            page.set_default_timeout(60_000)
            quiz = _open_quiz(page, f"{base}{FRONT_ENDS[front_end]}quiz.ipynb?reset&token={token}")
            expect(quiz).to_be_visible(timeout=1_000)
            expect(quiz).to_contain_text("Question 1 of 10")
            expect(quiz).to_contain_text("Attempts: 2 left")
            _side_panel(page, front_end, open_=False)
            quiz.scroll_into_view_if_needed()

            # answered at phone width: the options must be clickable there
            quiz.locator("label", has_text="It freezes all model parameters").click()
            quiz.get_by_role("button", name="Check", exact=True).click()
            expect(quiz).to_contain_text("Not quite")
            expect(quiz).to_contain_text("Attempts: 1 left")
            quiz.locator("label", has_text="It decomposes weight updates").click()
            quiz.get_by_role("button", name="Check", exact=True).click()
            expect(quiz).to_contain_text("Correct!")
            expect(quiz).to_contain_text("Score: 1/10")
            expect(quiz.get_by_role("button", name="Check", exact=True)).to_be_disabled()

            # the strip navigates; Finish with questions left asks first
            quiz.get_by_role("button", name="2", exact=True).click()
            expect(quiz).to_contain_text("Question 2 of 10")
            quiz.get_by_role("button", name="Finish", exact=True).click()
            expect(quiz).to_contain_text("9 questions unanswered")
            quiz.get_by_role("button", name="Keep going", exact=True).click()
            expect(quiz.get_by_role("button", name="Finish anyway", exact=True)).to_be_hidden()
            quiz.get_by_role("button", name="1✓", exact=True).click()
            expect(quiz).to_contain_text("Question 1 of 10")

            for width in WIDTHS:
                problems[width] = _layout_at(page, quiz, front_end, width, shots / f"{front_end}-{width}")
                if update_docs and width in (390, 1280):
                    name = "quiz-checked-light.png" if width == 1280 else "quiz-narrow-light.png"
                    quiz.screenshot(path=str(DOCS_IMG / name))
            if update_docs:
                page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
                page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
                page.wait_for_timeout(500)  # let the theme's CSS settle before the picture
                quiz.screenshot(path=str(DOCS_IMG / "quiz-checked-dark.png"))
        finally:
            browser.close()
    assert all((shots / f"{front_end}-{width}.png").stat().st_size > 5_000 for width in WIDTHS)
    assert problems == {width: [] for width in WIDTHS}, json.dumps(problems, indent=1)


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_countdown_header_wraps_instead_of_truncating(jupyter, time_limit, front_end, tmp_path):
    """A timed question's header ("⏱ 2:00 remaining") beside position and score, on a phone."""
    from playwright.sync_api import expect, sync_playwright

    base, token = jupyter
    shots = _screenshots(tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
            page.set_default_timeout(60_000)
            quiz = _open_quiz(page, f"{base}{FRONT_ENDS[front_end]}timed.ipynb?reset&token={token}")
            expect(quiz).to_contain_text("remaining")
            problems = {width: _layout_at(page, quiz, front_end, width, shots / f"{front_end}-timed-{width}")
                        for width in WIDTHS[:2]}
        finally:
            browser.close()
    assert problems == {width: [] for width in WIDTHS[:2]}, json.dumps(problems, indent=1)
