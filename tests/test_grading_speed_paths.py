"""The fast paths of ``grade`` (issue 14) give exactly the grades of the slow ones.

* the reference cache (grader/sandbox/reference_cache.py): grades.csv is the same with the cache
  disabled, empty (cold) and filled (warm); an entry of a changed bank is never used; an entry forged
  or corrupted by someone who can write the cache folder, or signed under a key that is not private,
  cannot change a score, while an entry signed by the grader's own key is what the run uses; a
  sandbox missing an essential layer neither reads nor writes it; entries are the user's alone;
* references are the same in every run (fixed hash seed and random state), which the cache relies on;
* reading submissions ahead (``ParserPool.prefetch``) hands out what a plain read gives, within its
  memory bound;
* the zygote's huge-page ranges (grader/sandbox/hugepages.py).
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT
from synthetic import BROKEN, PARTLY_WRONG, correct_answers, filled_notebook, write

from grader import load_bank
from grader.kinds import CodeQuestion
from grader.sandbox import SandboxPool
from grader.sandbox.evaluate import compute_references
from grader.sandbox.hugepages import HUGE, private_ranges
from grader.sandbox.reference_cache import KEY_FILE, ReferenceCache, reference_key
from grader.submissions.worker import ParserPool

BANK = ROOT / "quizzes" / "lora-assignment.yaml"

TINY = """\
id: cache-check
title: Cache check
source: original
questions:
  - id: q
    type: code
    prompt: Define f.
    reference: |
      def f():
          return 2
    checks:
      - {id: two, name: f() is 2, expr: f()}
      - {id: order, name: a set's order, expr: "list({'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'})"}
"""
DRAWS = TINY.replace("f()}", "f()}\n      - {id: numpy, name: numpy, expr: \"__import__('numpy').random.rand(3).tolist()\"}\n"
                     "      - {id: torch, name: torch, expr: \"__import__('torch').rand(3).tolist()\"}", 1)
"""The same question with unseeded numpy and torch draws: the same within a run (every sandbox forks from
one zygote), and now in every run."""


def grade(out: Path, subs: Path, cache: Path | str, bank: Path = BANK) -> dict[str, dict[str, str]]:
    env = dict(os.environ, GRADER_CACHE_DIR=str(cache), HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", "--bank", str(bank), "--no-progress", "--jobs", "2",
                           "--out", str(out), str(subs)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}


@pytest.fixture(scope="module")
def synthetic_class(tmp_path_factory, sandbox_layers):
    """Three notebooks (right, partly wrong, broken) graded with the cache off, cold and warm."""
    bank = load_bank(BANK)
    base = tmp_path_factory.mktemp("speed")
    subs = base / "subs"
    subs.mkdir()
    good = correct_answers(bank)
    for name, bodies in (("ana", good), ("ben", {**good, **PARTLY_WRONG}), ("cat", {**good, **BROKEN})):
        write(filled_notebook(bank, bodies), subs / f"{name}.ipynb")
    cache = base / "cache"
    runs = {"off": grade(base / "off", subs, "none"), "cold": grade(base / "cold", subs, cache),
            "warm": grade(base / "warm", subs, cache)}
    return base, subs, cache, runs


def test_grades_are_identical_without_the_cache_and_with_it_cold_and_warm(synthetic_class):
    base, _, cache, runs = synthetic_class
    assert runs["off"] == runs["cold"] == runs["warm"]
    texts = {name: (base / name / "grades.csv").read_text(encoding="utf-8") for name in runs}
    assert texts["off"] == texts["cold"] == texts["warm"]
    assert float(runs["warm"]["ana"]["score"]) == load_bank(BANK).max_score
    assert float(runs["warm"]["ben"]["q:count-params"]) == 3 and float(runs["warm"]["cat"]["q:lora-layer"]) == 0
    entries = list(cache.glob("references-*.json"))
    assert len(entries) == 1  # the cold run stored one entry, the warm run found it
    assert (cache / KEY_FILE).stat().st_mode & 0o777 == 0o600


def test_a_changed_bank_never_uses_the_old_entry(synthetic_class, tmp_path):
    _, subs, cache, runs = synthetic_class
    changed = tmp_path / "changed.yaml"  # the reference of count-params now adds one: nobody's answer matches
    text = BANK.read_text(encoding="utf-8").replace("          return r * (d + k)\n", "          return r * (d + k) + 1\n")
    assert text != BANK.read_text(encoding="utf-8")
    changed.write_text(text, encoding="utf-8")
    got = grade(tmp_path / "out", subs, cache, bank=changed)
    assert got == grade(tmp_path / "fresh", subs, "none", bank=changed)
    assert float(got["ana"]["q:count-params"]) < float(runs["warm"]["ana"]["q:count-params"])
    assert len(list(cache.glob("references-*.json"))) == 2


@pytest.fixture(scope="module")
def light_pool(sandbox_layers):
    with SandboxPool(preload=()) as pool:
        yield pool


@pytest.fixture
def tiny(write_bank):
    return [q for q in load_bank(write_bank(TINY)).questions if isinstance(q, CodeQuestion)]


def _references(pool: SandboxPool, questions: list[CodeQuestion], cache: ReferenceCache | None) -> dict:
    return compute_references(questions, pool, cache=cache, layers=pool.isolation().layers).values


def _entry(cache: ReferenceCache, pool: SandboxPool, questions: list[CodeQuestion]) -> tuple[str, Path]:
    key = reference_key(questions, preload=pool.preload, layers=pool.isolation().layers)
    return key, cache.directory / f"references-{key}.json"


def test_a_signed_entry_is_used_and_a_forged_or_corrupted_one_is_not(light_pool, tiny, tmp_path):
    cache = ReferenceCache(tmp_path / "cache")
    honest = _references(light_pool, tiny, cache)
    assert honest["q"]["two"] == 2
    key, path = _entry(cache, light_pool, tiny)
    assert path.is_file()

    wrong = {"q": {**honest["q"], "two": 3}}
    cache.store(key, wrong)  # signed with the grader's own key: this is what a later run uses
    assert _references(light_pool, tiny, cache) == wrong

    entry = json.loads(path.read_text())
    os.chmod(cache.directory, 0o777)  # someone else may write the folder: they can rewrite the values ...
    entry["values"] = json.dumps({"q": {**honest["q"], "two": 4}}, sort_keys=True)
    path.write_text(json.dumps(entry))
    assert _references(light_pool, tiny, cache) == honest  # ... but not sign them: the references ran again
    other_key = "0" * 64  # nor move a signed entry to another bank's name
    cache.store(other_key, wrong)
    (cache.directory / f"references-{other_key}.json").replace(path)
    assert _references(light_pool, tiny, cache) == honest
    for junk in (b"", b"\x00\xff" * 100, b'{"values": "{}", "signature": 5}', b"[" * 100_000):
        path.write_bytes(junk)
        assert _references(light_pool, tiny, cache) == honest
    assert json.loads(path.read_text())["signature"]  # and the bad entry was replaced by a good one


def test_a_key_that_is_not_private_turns_the_cache_off(light_pool, tiny, tmp_path):
    cache = ReferenceCache(tmp_path / "cache")
    honest = _references(light_pool, tiny, cache)
    key, _ = _entry(cache, light_pool, tiny)
    wrong = {"q": {**honest["q"], "two": 3}}
    cache.store(key, wrong)
    key_file = cache.directory / KEY_FILE
    os.chmod(key_file, 0o644)  # readable by others: anyone could sign with it
    assert _references(light_pool, tiny, cache) == honest
    os.chmod(key_file, 0o600)
    assert _references(light_pool, tiny, cache) == wrong
    if os.geteuid() == 0:  # a key planted by another user is never trusted
        os.chown(key_file, 12345, 12345)
        assert _references(light_pool, tiny, cache) == honest
        os.chown(key_file, 0, 0)
    key_file.unlink()
    key_file.symlink_to(tmp_path / "elsewhere.key")
    assert _references(light_pool, tiny, cache) == honest
    assert _references(light_pool, tiny, None) == honest


def test_a_sandbox_missing_an_essential_layer_neither_reads_nor_writes_the_cache(light_pool, tiny, tmp_path):
    """Without the filesystem allowlist student code could reach the cache folder (``--unsafe-sandbox``)."""
    cache = ReferenceCache(tmp_path / "cache")
    honest = _references(light_pool, tiny, cache)
    _, path = _entry(cache, light_pool, tiny)
    assert path.stat().st_mode & 0o777 == 0o600  # hidden probes' expected values: the grader's user only
    weak = {**light_pool.isolation().layers, "filesystem_allowlist": False}
    weak_key = reference_key(tiny, preload=light_pool.preload, layers=weak)
    cache.store(weak_key, {"q": {**honest["q"], "two": 3}})  # as if planted during such a run
    assert compute_references(tiny, light_pool, cache=cache, layers=weak).values == honest
    path.unlink()
    compute_references(tiny, light_pool, cache=cache, layers=weak)
    assert not path.exists() and list(cache.directory.glob("references-*.json")) == [
        cache.directory / f"references-{weak_key}.json"]


def test_references_are_the_same_in_every_run(write_bank, sandbox_layers):
    """A set's order and unseeded numpy and torch draws come out the same from two zygotes (what makes a
    cached value the value this run would compute)."""
    questions = [q for q in load_bank(write_bank(DRAWS)).questions if isinstance(q, CodeQuestion)]
    seen = []
    for _ in range(2):
        with SandboxPool() as pool:
            seen.append(_references(pool, questions, None))
    assert seen[0] == seen[1]
    assert len(seen[0]["q"]["torch"]) == 3 and len(set(seen[0]["q"]["numpy"])) == 3


def test_reading_ahead_hands_out_what_a_read_gives_within_its_bound(tmp_path):
    files = []
    for i in range(4):
        path = tmp_path / f"s{i}.json"
        path.write_text(json.dumps({"answers": {"q1": "B", "q2": "x" * 1000 * (i + 1)}}), encoding="utf-8")
        files.append(path)
    with ParserPool(1) as plain:
        expected = [plain.read(path) for path in files]
    with ParserPool(2) as pool:
        pool.prefetch(files, max_chars=2500)  # the first two hold 1001 + 2001 characters: the third is not read
        pool.wait_prefetch(timeout=60)
        for path in files:
            path.unlink()
        got = [pool.read(path) for path in files]
    assert [(s.answers, s.problems) for s in got[:2]] == [(s.answers, s.problems) for s in expected[:2]]
    assert all(s.unreadable for s in got[2:])  # read when asked, after the files were gone


def test_huge_page_ranges_are_the_aligned_anonymous_writable_mappings():
    maps = """\
55d0c0000000-55d0c0a00000 rw-p 00000000 00:00 0                          [heap]
7f0000100000-7f0000700000 rw-p 00000000 00:00 0
7f0000800000-7f0000900000 rw-p 00000000 00:00 0
7f0001000000-7f0001400000 r--p 00000000 08:01 123                        /usr/lib/libx.so
7f0002000000-7f0002400000 rw-p 00000000 08:01 123                        /usr/lib/libx.so
7ffc00000000-7ffc00400000 rw-p 00000000 00:00 0                          [stack]
"""  # the third mapping is 1 MiB: no whole huge page fits in it
    assert private_ranges(maps) == [(0x55d0c0000000, 0x55d0c0a00000), (0x7f0000200000, 0x7f0000600000)]
    assert all(start % HUGE == 0 and end % HUGE == 0 for start, end in private_ranges(maps))
