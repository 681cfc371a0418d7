"""Hostile code against the sandbox's walls (issue 10, root causes 1–4), graded as an instructor would.

Each notebook attacks from its count-params cell while every other answer is right; all of them are
graded in one ``python -m grader grade`` run (one warm zygote, two jobs), with a fake token in the
grader's environment and the whole run inside a memory ceiling, so a broken limit kills that run and
not the machine. Each attack must get exactly the points it deserves, every student keeps their row,
and afterwards nothing of the sandboxes is left running, on disk, in /dev/shm or in SysV memory, and
the token appears in no output.

1. the sandbox sees too much: the bank, the repository's .git, other submissions, an nbgrader export,
   the host's /proc, the instructor's environment;
2. sandboxes are not separated: two students graded at once spy on / signal each other;
3. processes outlive the sandbox: setsid() daemons (and, in test_hostile_lifecycle, a grader killed
   with kill -9);
4. limits per process only: fork multiplies memory, /dev/shm and SysV memory, filling the disk, fork bombs.
"""
from __future__ import annotations

import csv
import os
import textwrap
import threading
from pathlib import Path

import pytest

from grader.sandbox import Limits, SandboxPool

from hostile import (ROOT, SECRET, assignment_class, output_text, processes_mentioning, run_grader,
                     sandbox_processes, shm_state, wait_until, world_readable)
from synthetic import correct_answers, filled_notebook, write

pytestmark = pytest.mark.usefixtures("sandbox_layers")

REF = "def count_lora_params(d, k, r):\n    return r * (d + k)\n"
MARKER = "4242.25"  # a sleep duration: a process with it in its command line outlived its sandbox
EXTRACT = textwrap.dedent("""
    import re, textwrap as _tw
    def _first_reference(text):
        match = re.search(r"reference: \\|\\n((?:[ ]{6}.*\\n|\\n)+)", text)
        return _tw.dedent(match.group(1)) if match else ""
""")


def attacks(paths: dict[str, str]) -> dict[str, tuple[str, float]]:
    """name → (count-params cell, the points it deserves out of 4)."""
    p = {k: repr(v) for k, v in paths.items()}
    return {
        # 1. seeing too much: each would pass only by copying a solution it must not see
        "steal_bank_file": (EXTRACT + f"""
for path in ({p['bank']}, {p['repo_bank']}):
    try:
        exec(_first_reference(open(path).read()))
        break
    except OSError:
        pass
""", 0),
        "steal_from_git": (EXTRACT + f"""
import subprocess
show = subprocess.run(["git", "-c", "safe.directory=*", "-C", {p['root']}, "show", "HEAD:quizzes/lora-assignment.yaml"],
                      capture_output=True, text=True)
exec(_first_reference(show.stdout))
""", 0),
        "copy_classmate": (f"""
import json
for cell in json.load(open({p['classmate']}))["cells"]:
    text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    if text.startswith("# answer: count-params"):
        exec(text)
""", 0),
        "read_nbgrader_export": (f"""
import glob, json
for path in glob.glob({p['export']} + "/**/*.ipynb", recursive=True):
    for cell in json.load(open(path))["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if "def count_lora_params" in text:
            exec(text.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
""", 0),
        "snoop_proc": (REF + """
import os
found = []
for pid in os.listdir("/proc"):
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
    except OSError:
        continue
    if "--bank" in cmd or "pytest" in cmd or ".yaml" in cmd:
        found.append(cmd[:80])
for line in open("/proc/self/mountinfo"):
    if any(word in line for word in ("grader-sandbox", "sub-", "quizzes", "subs", "hostile")):
        found.append(line.split()[3][:80])
raise RuntimeError("snooped: " + (" | ".join(found) if found else "nothing found"))
""", 4),
        "echo_secret": (REF + """
import os
leak = [f"{k}={v}" for k, v in os.environ.items() if k.endswith("_TOKEN") or v.startswith("hf_")]
for pid in os.listdir("/proc"):
    try:
        raw = open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        continue
    leak += [part.decode(errors="replace") for part in raw.split(b"\\0") if b"hf_" in part or b"_TOKEN=" in part]
raise RuntimeError("leaked: " + (" ".join(leak) if leak else "nothing"))
""", 4),
        "write_outside": (REF + f"""
for target in ({p['out']} + "/grades.csv", {p['root']} + "/PWNED", {p['subs']} + "/zz_injected.json",
               "/tmp/grader-pwned-{MARKER}"):
    try:
        open(target, "w").write('{{"student": "mallory", "answers": {{}}}}')
    except OSError:
        pass
""", 4),
        # 2. two students graded at once: a_spy_b looks for a_spy_a's files and processes while both run
        "a_spy_a": (REF + """
import os, time
for folder in ("/tmp", "/dev/shm", os.getcwd()):
    open(os.path.join(folder, "spy-a-secret"), "w").write("a's work")
time.sleep(4)
""", 4),
        "a_spy_b": (REF + """
import glob, os, signal, time
seen = set()
deadline = time.time() + 4
while time.time() < deadline:
    for pattern in ("/tmp/*", "/dev/shm/*", "*", "/proc/*/cwd/*", "/proc/*/root/tmp/*", "/tmp/grader-sandbox-*/*/*/*"):
        seen.update(p for p in glob.glob(pattern) if "spy-a" in p)
    try:
        os.kill(-1, signal.SIGKILL)  # every process we may signal (not PID 1, ourselves)
    except OSError:
        pass
    time.sleep(0.2)
raise RuntimeError("spied: " + (" ".join(sorted(seen)) if seen else "nothing"))
""", 4),
        # 3. processes that try to outlive the sandbox
        "setsid_daemon": (REF + f"""
import os, signal
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        os.execv("/bin/sleep", ["sleep", "{MARKER}"])
    os._exit(0)
""", 4),
        "python_lurker": (REF + f"""
import os, shutil, time
if os.fork() == 0:
    os.setsid()
    for _ in range(240):  # a minute of trying to copy later students' work somewhere we keep
        for src in ({p['subs']}, {p['out']}):
            try:
                shutil.copytree(src, "/tmp/lurker-{MARKER}", dirs_exist_ok=True)
            except OSError:
                pass
        time.sleep(0.25)
    os._exit(0)
""", 4),
        # 4. limits that used to be per process
        "fork_memory": (REF + """
import os, time
children = []
for _ in range(12):  # 12 x 220 MB: each under a per-process limit, together far over the sandbox's
    pid = os.fork()
    if pid == 0:
        open("/proc/self/oom_score_adj", "w").write("1000")
        hoard = bytearray(220 * 1024 * 1024)
        for i in range(0, len(hoard), 4096):
            hoard[i] = 1
        time.sleep(30)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
""", 4),
        "shm_hoard": (REF + """
import ctypes, os, time
if os.fork() == 0:
    open("/proc/self/oom_score_adj", "w").write("1000")
    try:
        with open("/dev/shm/hoard", "wb") as handle:
            for _ in range(128):
                handle.write(b"x" * (16 * 1024 * 1024))
    except OSError:
        pass
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    shmid = libc.shmget(0, ctypes.c_size_t(1 << 30), 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    if shmid >= 0:
        address = libc.shmat(shmid, None, 0)
        if address not in (None, ctypes.c_void_p(-1).value):
            ctypes.memset(address, 1, 1 << 30)
    time.sleep(30)
    os._exit(0)
os.wait()
""", 4),
        "disk_fill": (REF + """
import os
block = b"x" * (4 * 1024 * 1024)
for folder in (os.getcwd(), "/tmp", "/dev/shm"):
    for i in range(512):  # up to 2 GB per folder
        try:
            with open(os.path.join(folder, f"fill-{i}"), "wb") as handle:
                handle.write(block)
        except OSError:
            break
for i in range(100_000):  # and the inodes
    try:
        open(f"/tmp/inode-{i}", "w").close()
    except OSError:
        break
""", 4),
        "fork_bomb": (REF + """
import os
if os.fork() == 0:
    while True:
        try:
            os.fork()
        except OSError:
            pass
""", 4),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    bank, base, bank_path, subs, out = assignment_class(
        tmp_path_factory, "hostile-sandbox", ["lora-principle", "total-params", "count-params", "lora-layer"],
        {"count-params": {"timeout_s": 10, "memory_mb": 256}})
    export = tmp_path_factory.mktemp("nbgrader-course")  # beside the run's folders, as a course keeps it
    (export / "source" / bank.id).mkdir(parents=True)
    good = correct_answers(bank)
    solution_cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": "# answer: count-params\n### BEGIN SOLUTION\n" + REF + "### END SOLUTION\n"}
    (export / "source" / bank.id / f"{bank.id}.ipynb").write_text(
        __import__("json").dumps({"cells": [solution_cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    for folder in (subs, export, export / "source", export / "source" / bank.id):
        os.chmod(folder, 0o755)
    classmate = write(filled_notebook(bank, good), subs / "zz_classmate.ipynb")
    paths = {"bank": str(bank_path), "repo_bank": str(ROOT / "quizzes" / "lora-assignment.yaml"), "root": str(ROOT),
             "classmate": str(classmate), "export": str(export), "subs": str(subs), "out": str(out)}
    cases = attacks(paths)
    for name, (cell, _) in cases.items():
        write(filled_notebook(bank, {**good, "count-params": cell}), subs / f"{name}.ipynb")
    for path in [base, *base.rglob("*"), export, *export.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)  # readable to anyone: only the sandbox's walls stop it
    shm_before = shm_state()
    with world_readable(base, export):
        proc = run_grader("grade", "--bank", str(bank_path), "--out", str(out), "--jobs", "2", "--no-progress", str(subs),
                          memory_mb=3072)
    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open())} if (out / "grades.csv").exists() else {}
    return {"bank": bank, "proc": proc, "rows": rows, "cases": cases, "out": out, "subs": subs, "base": base,
            "shm_before": shm_before}


def test_the_run_finishes_and_every_student_gets_a_row(graded):
    proc, rows, cases = graded["proc"], graded["rows"], graded["cases"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(rows) == set(cases) | {"zz_classmate"}
    assert float(rows["zz_classmate"]["score"]) == graded["bank"].max_score


@pytest.mark.parametrize("name", sorted(attacks({k: "" for k in ("bank", "repo_bank", "root", "classmate", "export",
                                                                   "subs", "out")})))
def test_each_attack_scores_what_it_deserves(graded, name):
    bank, row = graded["bank"], graded["rows"][name]
    assert float(row["q:count-params"]) == graded["cases"][name][1], row["reason"]
    for q in bank.questions:  # every other answer keeps its full points
        if q.id != "count-params":
            assert float(row[f"q:{q.id}"]) == q.points, (q.id, row["reason"])


def test_the_host_is_invisible_from_inside(graded):
    rows = graded["rows"]
    assert "snooped: nothing found" in rows["snoop_proc"]["reason"]
    assert "spied: nothing" in rows["a_spy_b"]["reason"]
    assert "leaked: nothing" in rows["echo_secret"]["reason"]


def test_the_sandboxes_stayed_inside_their_memory_limits(graded):
    """fork_memory's twelve children and shm_hoard's segments add up to gigabytes; the sandbox caps them at its
    memory_mb, so the whole run (grader, zygote, two sandboxes at a time) stays far below the ceiling."""
    proc = graded["proc"]
    if proc.memory_peak is None:
        pytest.skip("no cgroup to measure the run's memory with")
    assert not proc.ceiling_hit and proc.memory_peak < 2 * 1024 ** 3, proc.memory_peak


def test_no_secret_in_any_output(graded):
    text = output_text(graded["out"]) + graded["proc"].stdout + graded["proc"].stderr
    assert SECRET not in text


def test_nothing_outside_the_sandbox_was_written(graded):
    assert not (ROOT / "PWNED").exists()
    assert not (graded["subs"] / "zz_injected.json").exists()
    assert not list(Path("/tmp").glob("grader-pwned-*")) and not list(Path("/tmp").glob("lurker-*"))
    assert (graded["out"] / "grades.csv").read_text().startswith("student,score,max_score,percent,passed")


def test_nothing_is_left_running(graded):
    assert wait_until(sandbox_processes, timeout=10) == []
    assert wait_until(lambda: processes_mentioning(MARKER), timeout=10) == []
    assert wait_until(lambda: processes_mentioning("grader.sandbox"), timeout=10) == []


def test_nothing_is_left_on_disk_or_in_shared_memory(graded):
    files, segments = shm_state()
    before_files, before_segments = graded["shm_before"]
    assert files <= before_files, files - before_files
    assert segments <= before_segments, segments - before_segments
    assert not list(Path("/tmp").glob("grader-sandbox-*"))
    assert not list(Path("/tmp").glob("fill-*")) and not list(Path("/tmp").glob("inode-*"))


def test_concurrent_sandboxes_have_distinct_uids_and_cannot_see_each_other(sandbox_layers):
    """Through the pool directly, so the two runs certainly overlap."""
    code = ("import os, time\nopen('/tmp/mine', 'w').write(str(os.getpid()))\n"
            "time.sleep(1.5)\nothers = sorted(os.listdir('/tmp')) + sorted(p for p in os.listdir('/proc') if p.isdigit())\n")
    results = [None, None]
    with SandboxPool(preload=()) as pool:
        def one(index: int) -> None:
            results[index] = pool.run(code=code, probes=[("uid", "os.getuid()"), ("seen", "others")],
                                      limits=Limits(timeout_s=20))
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    uids = [r.values["uid"] for r in results]
    assert uids[0] != uids[1] and 0 not in uids
    # its own file and its own PID 1, nothing else; plus, when the interpreter's virtual environment lives under
    # /tmp (a checkout in a temp folder), the read-only folder that leads to it
    from grader.sandbox.rootfs import default_plan
    allowlisted = {Path(p).relative_to("/tmp").parts[0] for p in default_plan().read_only if p.startswith("/tmp/")}
    for run in results:
        assert run.values["seen"] == sorted(["mine", *allowlisted]) + ["1"]
