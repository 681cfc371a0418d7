"""Colab: one repository URL, the generated set-up cell and badges, and an installed course that brings its files.

Why these tests: a student on Colab has only what ``pip install`` gives and what the lesson's first cell
does. So the set-up cell is run here with a fake ``google.colab`` and a recording ``subprocess.run`` (what
it installs, what it keeps, how it fails); the README's badges are compared with the generator; and a
wheel is built and installed into an empty folder to check that the dataset and the lesson banks come
with it and are found from there (tests/colab_like.sh does the whole thing for real, with the network).
"""
from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import types
from importlib import metadata
from pathlib import Path

import pytest
from paths import ROOT

from course import colab
from course._resources import checkout_root, resource_dir
from grader.loader import find_bank

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml here needs Python 3.11+")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
URL = PYPROJECT["project"]["urls"]["Repository"]


def run_setup_cell(source: str, monkeypatch, *, in_colab: bool, returncode: int = 0,
                   stderr: str = "") -> list[dict]:
    """Execute a set-up cell as IPython would, with ``subprocess.run`` recorded instead of run.

    Each record holds the command, its keyword arguments and the text of the constraint file it named
    (read while the cell runs: the cell deletes it afterwards).
    """
    from IPython.core.inputtransformer2 import TransformerManager

    calls: list[dict] = []

    def fake_run(args, **kwargs):
        constraints = Path(args[args.index("-c") + 1]).read_text() if "-c" in args else None
        calls.append({"args": list(args), "kwargs": kwargs, "constraints": constraints})
        return subprocess.CompletedProcess(args, returncode, stdout="", stderr=stderr)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if in_colab:
        google = types.ModuleType("google")
        google.colab = types.ModuleType("google.colab")
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", google.colab)
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    python = TransformerManager().transform_cell(source)
    exec(compile(python, "setup-cell", "exec"), {"__name__": "__setup_cell__"})  # noqa: S102 - our generated cell
    return calls


# --- the one URL -------------------------------------------------------------------------------------------


def test_the_repository_url_is_read_from_pyproject():
    assert colab.repository_url(ROOT) == URL
    assert colab.repository_url() == URL  # from the checkout course runs from


def test_without_a_checkout_the_url_comes_from_the_installed_metadata(monkeypatch):
    monkeypatch.setattr(colab, "checkout_root", lambda: None)
    fake = types.SimpleNamespace(get_all=lambda key: ["Documentation, https://example.org",
                                                      "Repository, https://github.com/someone/peft-course"])
    monkeypatch.setattr(colab.metadata, "metadata", lambda name: fake)
    assert colab.repository_url() == "https://github.com/someone/peft-course"


@pytest.mark.parametrize("url", [
    'https://github.com/a/b"; import os; os.system("id") #',
    "https://github.com/a/b\nimport os",
    "http://github.com/a/b",
    "https://gitlab.com/a/b",
    "https://github.com/a/b/tree/main",
    "git@github.com:a/b.git",
    "https://github.com/a/..",
])
def test_a_url_colab_cannot_open_or_that_could_inject_code_is_refused(tmp_path, url):
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "peft-course"\n[project.urls]\nRepository = {json.dumps(url)}\n')
    with pytest.raises(ValueError, match=r"pyproject\.toml: \[project\.urls\] Repository must look like"):
        colab.repository_url(tmp_path)


def test_a_missing_url_names_the_file_and_the_key(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "peft-course"\n')
    with pytest.raises(ValueError, match=r"pyproject\.toml: no \[project\.urls\] Repository"):
        colab.repository_url(tmp_path)


@pytest.mark.parametrize("path", ["../secret.ipynb", "/etc/passwd", "notebooks/a b.ipynb", 'x").ipynb'])
def test_badges_only_for_plain_paths_inside_the_repository(path):
    with pytest.raises(ValueError, match="notebook path inside the repository"):
        colab.badge_markdown(path, url=URL)


def test_badge_opens_the_notebook_on_the_default_branch():
    owner_repo = URL.removeprefix("https://github.com/")
    assert colab.badge_markdown("notebooks/01_lora_from_scratch.ipynb", url=URL) == (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/01_lora_from_scratch.ipynb)")


# --- the set-up cell ---------------------------------------------------------------------------------------


def test_on_colab_the_cell_installs_the_course_with_its_colab_extra_from_the_git_url(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_REPO_URL", raising=False)
    calls = run_setup_cell(colab.setup_cell_source(url=URL), monkeypatch, in_colab=True)
    assert len(calls) == 1
    args = calls[0]["args"]
    assert args[:4] == [sys.executable, "-m", "pip", "install"]
    assert args[-1] == f"peft-course[colab] @ git+{URL}"
    assert "--no-deps" not in args, "the course's dependencies (ruamel.yaml, peft…) must come with it"
    assert not any(re.search(r"torch|ipywidgets|transformers", arg) for arg in args), args
    kwargs = calls[0]["kwargs"]
    assert kwargs.get("capture_output") is True
    assert kwargs["stdin"] == subprocess.DEVNULL and kwargs["env"]["GIT_TERMINAL_PROMPT"] == "0", \
        "git must not wait for a password nobody can type (a private or mistyped repository)"
    assert "Installing the course from" in capsys.readouterr().out


def test_the_cell_keeps_colabs_torch_transformers_and_ipywidgets_at_their_installed_versions(monkeypatch):
    calls = run_setup_cell(colab.setup_cell_source(url=URL), monkeypatch, in_colab=True)
    pins = dict(line.split("==") for line in calls[0]["constraints"].splitlines())
    installed = {name: metadata.version(name) for name in colab.KEEP if _installed(name)}
    assert installed and pins == installed
    assert not Path(calls[0]["args"][calls[0]["args"].index("-c") + 1]).exists(), "the constraint file is left behind"


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def test_course_repo_url_overrides_the_url_for_forks_and_branches(monkeypatch):
    monkeypatch.setenv("COURSE_REPO_URL", "file:///srv/peft-course@fix-1")
    calls = run_setup_cell(colab.setup_cell_source(url=URL), monkeypatch, in_colab=True)
    assert calls[0]["args"][-1] == "peft-course[colab] @ git+file:///srv/peft-course@fix-1"


def test_the_self_check_notebooks_can_install_the_quiz_engine_without_the_lesson_libraries(monkeypatch):
    calls = run_setup_cell(colab.setup_cell_source(url=URL, extra=None), monkeypatch, in_colab=True)
    assert calls[0]["args"][-1] == f"peft-course @ git+{URL}"
    with pytest.raises(ValueError, match="not an extra's name"):
        colab.setup_cell_source(url=URL, extra='colab] @ https://evil.example/x.whl #')


def test_a_failed_install_stops_the_cell_with_pips_message(monkeypatch):
    stderr = "noise\n" * 2000 + "ERROR: Cannot install peft-course because these package versions have conflicting dependencies."
    with pytest.raises(RuntimeError, match=r"(?s)failed \(pip exit status 1\).*cannot import it.*conflicting dependencies"):
        run_setup_cell(colab.setup_cell_source(url=URL), monkeypatch, in_colab=True, returncode=1, stderr=stderr)


def test_outside_colab_the_cell_does_nothing(monkeypatch, capsys):
    assert run_setup_cell(colab.setup_cell_source(url=URL), monkeypatch, in_colab=False) == []
    assert capsys.readouterr().out == ""


def test_the_cell_is_marked_as_generated():
    assert colab.setup_cell_source(url=URL).splitlines()[0] == colab.SETUP_MARKER


# --- what the set-up cell installs -------------------------------------------------------------------------


def _names(requirements: list[str]) -> dict[str, str]:
    return {re.split(r"[<>=!~ \[;]", r, maxsplit=1)[0].lower(): r for r in requirements}


def test_the_colab_extra_is_course_and_widgets_without_ipywidgets():
    extras = PYPROJECT["project"]["optional-dependencies"]
    expected = {**_names(extras["course"]), **_names(extras["widgets"])}
    expected.pop("ipywidgets")
    assert _names(extras["colab"]) == expected


def test_nothing_installed_on_colab_names_torch_or_ipywidgets():
    installed = _names(PYPROJECT["project"]["dependencies"] + PYPROJECT["project"]["optional-dependencies"]["colab"])
    assert not {"torch", "ipywidgets"} & set(installed)
    assert "ruamel.yaml" in installed, "the bank loader's YAML library is not on Colab"


def test_every_package_of_grader_and_course_is_listed_for_the_wheel():
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("grader", "course")
             for p in (ROOT / top).rglob("__init__.py")}
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert found == {p for p in listed if not p.startswith("peft_course_data")}
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"peft_course_data.sentiment": "data/sentiment",
                                                              "peft_course_data.quizzes": "quizzes"}


# --- generated copies agree --------------------------------------------------------------------------------


def test_the_readme_badges_are_the_generators():
    assert colab.check(ROOT, notebooks=False) == []


def test_every_lesson_carries_the_generated_badge_and_set_up_cell():
    assert colab.check(ROOT) == []


def _copy_checkout(tmp_path: Path) -> Path:
    """The files the generator reads and writes, in a scratch checkout."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    for lesson in colab.lesson_paths(ROOT):
        shutil.copy(lesson, tmp_path / "notebooks" / lesson.name)
    return tmp_path


def test_write_makes_check_pass_and_changes_only_the_generated_cells(tmp_path):
    """Stale copies (an old badge in the README; lessons without the badge cell and with an old set-up
    cell) are rewritten to exactly what is committed, and nothing else in a lesson changes."""
    root = _copy_checkout(tmp_path)
    (root / "README.md").write_text((root / "README.md").read_text().replace("colab-badge.svg", "old.svg", 1))
    for lesson in colab.lesson_paths(root):
        nb = json.loads(lesson.read_text(encoding="utf-8"))
        assert nb["cells"][0]["cell_type"] == "markdown" and "colab-badge.svg" in "".join(nb["cells"][0]["source"])
        del nb["cells"][0]
        setup = next(c for c in nb["cells"] if c["cell_type"] == "code")
        setup["source"] = ("import sys\nif 'google.colab' in sys.modules:  # the old cell: a guessed URL, no check\n"
                           "    !pip install -q --no-deps git+https://github.com/peft-course/peft-course\n")
        lesson.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    assert colab.check(root)
    changed = colab.write(root)
    assert root / "README.md" in changed and len(changed) == 1 + len(colab.lesson_paths(root))
    assert colab.check(root) == []
    assert colab.write(root) == [], "a second write changes nothing"
    for lesson in colab.lesson_paths(ROOT):
        assert _sources(root / "notebooks" / lesson.name) == _sources(lesson), "only the badge and set-up cell change"


def _sources(notebook: Path) -> list[tuple[str, str]]:
    """(cell type, source) of every cell of a notebook file."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [(c["cell_type"], c["source"] if isinstance(c["source"], str) else "".join(c["source"])) for c in cells]


def test_check_command_reports_a_stale_copy_and_how_to_fix_it(tmp_path):
    root = _copy_checkout(tmp_path)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(URL, "https://github.com/new-owner/peft-course"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "course.colab", "--root", str(root), *args],
                              check=False, capture_output=True, text=True, cwd=ROOT)

    stale = run("--check")
    assert stale.returncode == 1 and "README.md: the Colab badges differ" in stale.stdout
    assert "python -m course.colab --write" in stale.stdout
    assert run("--write").returncode == 0
    assert run("--check").returncode == 0
    assert "new-owner/peft-course" in (root / "README.md").read_text()


def test_write_refuses_a_first_code_cell_that_is_not_a_set_up_cell(tmp_path):
    root = _copy_checkout(tmp_path)
    lesson = colab.lesson_paths(root)[0]
    nb = json.loads(lesson.read_text())
    next(c for c in nb["cells"] if c["cell_type"] == "code")["source"] = "import torch\n"
    lesson.write_text(json.dumps(nb))
    with pytest.raises(ValueError, match="not a Colab set-up cell"):
        colab.write(root)


# --- where the files are -----------------------------------------------------------------------------------


def test_in_a_checkout_the_data_and_banks_are_the_checkouts():
    assert checkout_root() == ROOT
    assert resource_dir("sentiment") == ROOT / "data" / "sentiment"
    assert resource_dir("quizzes") == ROOT / "quizzes"


def test_a_folder_beside_an_installed_course_is_not_a_checkout(tmp_path):
    (tmp_path / "course").mkdir()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "someone-elses-project"\n')
    assert checkout_root(tmp_path / "course") is None


def test_an_unknown_resource_is_refused():
    with pytest.raises(ValueError, match="unknown course resource 'models'"):
        resource_dir("models")


def test_installed_bank_folders_come_after_the_working_folder_and_broken_entries_are_skipped(tmp_path, monkeypatch):
    banks = tmp_path / "site" / "somecourse_banks"
    banks.mkdir(parents=True)
    (banks / "only-installed.yaml").write_text("id: only-installed\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    entries = [metadata.EntryPoint(name="broken", value="no_such_package_here.quizzes", group="grader.banks"),
               metadata.EntryPoint(name="somecourse", value="somecourse_banks", group="grader.banks")]
    monkeypatch.setattr(metadata, "entry_points", lambda group: entries if group == "grader.banks" else [])
    monkeypatch.delenv("GRADER_BANKS", raising=False)
    assert find_bank("only-installed", start=tmp_path) == banks / "only-installed.yaml"
    (tmp_path / "quizzes").mkdir()
    (tmp_path / "quizzes" / "only-installed.yaml").write_text("id: only-installed\n")
    assert find_bank("only-installed", start=tmp_path) == tmp_path / "quizzes" / "only-installed.yaml"


# --- an installed course, away from the checkout -----------------------------------------------------------

def secret_questions(bank) -> list[str]:
    """Ids of the questions that carry a reference solution or a hidden check (run inside the install too)."""
    return [q.id for q in bank.questions
            if getattr(q, "reference", None) or any(getattr(c, "hidden", False) for c in getattr(q, "checks", None) or [])]


def test_the_secret_detector_sees_the_assignments_hidden_checks():
    from grader import load_bank

    assert len(secret_questions(load_bank(ROOT / "quizzes" / "lora-assignment.yaml"))) >= 5


INSTALLED_CHECK = inspect.getsource(secret_questions) + textwrap.dedent("""
    import json, sys
    import course, grader
    from course.data import DATA_DIR, load_sentiment
    from course.colab import repository_url
    from grader import find_bank, load_bank
    data = load_sentiment(train_size=20, eval_size=10)
    banks = {}
    for bank_id in ("day48-lora-qlora", "ibm-peft-graded-quiz", "coursera-peft-graded-quiz",
                    "lora-qlora-challenges", "lora-qlora-flashcards-practice"):
        bank = load_bank(find_bank(bank_id))
        banks[bank_id] = {"path": str(find_bank(bank_id)), "questions": len(bank.questions),
                          "secret": secret_questions(bank)}
    try:  # found only outside the install (a checkout's editable install on the same interpreter), or not at all
        assignment = str(find_bank("lora-assignment"))
    except FileNotFoundError:
        assignment = "absent"
    print(json.dumps({"course": course.__file__, "grader": grader.__file__, "data_dir": str(DATA_DIR),
                      "sizes": data.sizes, "banks": banks, "assignment": assignment, "url": repository_url()}))
""")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """The course built as a wheel from a scratch copy of its files, installed alone into an empty folder."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("course", "grader", "data/sentiment", "quizzes"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # no build isolation: this venv's setuptools builds it, so the test needs no network
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(base / "dist"), str(source)],
                   check=True, capture_output=True, cwd=base)
    wheel = next((base / "dist").glob("peft_course-*.whl"))
    target = base / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, cwd=base)
    away = base / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "GRADER_BANKS"}}
    # the installed course's dependencies (pydantic, ruamel.yaml…) come from this venv's site-packages, but
    # `course` and `grader` only from the target: -I ignores the current folder, PYTHONPATH is the target
    script = f"import sys; sys.path.insert(0, {str(target)!r})\n" + INSTALLED_CHECK
    run = subprocess.run([sys.executable, "-I", "-c", script], check=False, capture_output=True, text=True,
                         cwd=away, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    return target, json.loads(run.stdout.strip().splitlines()[-1])


def test_the_installed_course_runs_from_the_install_not_the_checkout(installed):
    target, report = installed
    assert Path(report["course"]).is_relative_to(target) and Path(report["grader"]).is_relative_to(target)
    assert report["url"] == URL, "the URL comes from the installed metadata"


def test_the_installed_course_brings_the_dataset(installed):
    target, report = installed
    assert Path(report["data_dir"]) == target / "peft_course_data" / "sentiment"
    assert report["sizes"] == {"train": 20, "validation": 10, "test": 10}


def test_the_installed_course_finds_the_lesson_banks_by_id(installed):
    target, report = installed
    for bank_id, found in report["banks"].items():
        assert Path(found["path"]) == target / "peft_course_data" / "quizzes" / f"{bank_id}.yaml"
        assert found["questions"] > 0
    assert (target / "peft_course_data" / "quizzes" / "bank.schema.json").is_file()


def test_no_installed_bank_holds_hidden_checks_or_references(installed):
    """site-packages is visible (read-only) to student code in the grading sandbox, so the graded
    assignment's bank, with its hidden checks and reference solutions, is not packaged."""
    target, report = installed
    assert report["assignment"] == "absent" or not Path(report["assignment"]).resolve().is_relative_to(target.resolve())
    assert all(found["secret"] == [] for found in report["banks"].values())
    packaged = sorted(p.name for p in (target / "peft_course_data" / "quizzes").glob("*.yaml"))
    assert packaged == sorted(f"{bank_id}.yaml" for bank_id in report["banks"])
