"""The quiz in a real browser: JupyterLab on localhost, headless Debian chromium, Playwright.

Opens a copy of ``notebooks/quizzes/day48-lora-qlora.ipynb``, runs it, answers the first question
wrongly and then rightly by clicking, checks the feedback the widget shows, and saves screenshots
to ``docs/img/`` (light and dark theme). Needs ``bash tests/browser/setup.sh`` first; skips
otherwise. JupyterLab listens on 127.0.0.1 only, on a free port, with a random token; every wait
is bounded and the server is always killed.
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
from pathlib import Path

import pytest

from paths import ROOT

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
IMG = ROOT / "docs" / "img"
TEST_LIMIT_S = 420
"""Hard limit on the whole browser session (every step has its own, shorter, timeout too)."""
KERNEL_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!(kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
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
            raise RuntimeError(f"JupyterLab exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url.split('?')[0]} within {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server in a scratch folder holding a copy of the quiz notebook."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI installs chromium: a skip there would hide a break
            pytest.fail(f"{CHROMIUM} missing although REQUIRE_BROWSER=1: run tests/browser/setup.sh")
        pytest.skip(f"{CHROMIUM} missing: run tests/browser/setup.sh")
    pytest.importorskip("playwright.sync_api", reason="playwright missing: run tests/browser/setup.sh")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "notebooks" / "quizzes" / "day48-lora-qlora.ipynb", work / "quiz.ipynb")
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "GRADER_BANKS": str(ROOT / "quizzes"), "GRADER_STUDENT": "browser-test",
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
           "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:  # CI containers run as root; JupyterLab refuses that unless told
        cmd.append("--allow-root")
    log = (tmp_path / "jupyterlab.log").open("w")
    server = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    previous_term = signal.signal(signal.SIGTERM, _raise_on_signal)  # a killed test run still kills the server
    previous_alarm = signal.signal(signal.SIGALRM, _raise_on_signal)
    signal.alarm(TEST_LIMIT_S)
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/status?token={token}", 90, server, tmp_path / "jupyterlab.log")
        yield f"http://127.0.0.1:{port}", token
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)  # the server and its kernels: the group we started
            server.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)
        log.close()
        signal.alarm(0)
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGALRM, previous_alarm)


def test_quiz_checks_an_answer_in_jupyterlab(jupyterlab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright

    base, token = jupyterlab
    IMG.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{base}/lab/tree/quiz.ipynb?token={token}")
            # polling by interval, not animation frames (a headless tab may get none); the kernel
            # must be connected before "run all", or the request is dropped on a cold start
            page.wait_for_function(KERNEL_READY, polling=500, timeout=120_000)
            quiz = page.locator(".gq-quiz").first
            for _ in range(2):  # one bounded retry of "run all" for a kernel that was slow to attach
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                try:
                    quiz.wait_for(state="visible", timeout=60_000)
                    break
                except PlaywrightTimeout:
                    continue
            expect(quiz).to_be_visible(timeout=1_000)
            expect(quiz).to_contain_text("Question 1 of 10")
            expect(quiz).to_contain_text("Attempts: 2 left")
            quiz.scroll_into_view_if_needed()

            quiz.locator("label", has_text="It freezes all model parameters").click()
            quiz.get_by_role("button", name="Check").click()
            expect(quiz).to_contain_text("Not quite")
            expect(quiz).to_contain_text("Attempts: 1 left")
            quiz.get_by_role("button", name="Hint").wait_for()

            quiz.locator("label", has_text="It decomposes weight updates").click()
            quiz.get_by_role("button", name="Check").click()
            expect(quiz).to_contain_text("Correct!")
            expect(quiz).to_contain_text("LoRA's core innovation")
            expect(quiz).to_contain_text("Score: 1/10")
            expect(quiz.get_by_role("button", name="Check")).to_be_disabled()
            quiz.screenshot(path=str(IMG / "quiz-checked-light.png"))

            page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
            page.wait_for_timeout(500)  # let the theme's CSS settle before the picture
            quiz.screenshot(path=str(IMG / "quiz-checked-dark.png"))
        finally:
            browser.close()
    assert (IMG / "quiz-checked-light.png").stat().st_size > 10_000
