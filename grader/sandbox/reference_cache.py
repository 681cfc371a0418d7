"""Reference values kept on disk between runs, so a second run (or ``--resume``) skips the reference runs.

Why: a bank's references run once per grading run, one sandbox each, before the first student can
be graded: about a second for lora-assignment's six, spent again on every re-run of the same bank
(late submissions, a resumed run, the next section of the course).

What makes an entry valid. Its name is a SHA-256 over everything the values can depend on
(:func:`reference_key`): each code question as the bank states it (reference, setup, probes,
requirements, limits), the statements the zygote preloads, the grader's own source, the Python
version and machine, every distribution installed beside the interpreter (name and version), and the
isolation layers the sandbox has here. Change any of them and the key changes, so a stale entry is
never even looked up. Values do not depend on the run either: every sandbox starts from the same
random state (:func:`grader.sandbox.zygote.fix_random_state`, a fixed hash seed), which also makes
grading itself reproducible.

Why a forged entry cannot change a score. The cache lives in a folder of the grader's user
(``$GRADER_CACHE_DIR``, else ``$XDG_CACHE_HOME/grader``, else ``~/.cache/grader``) and each entry is
signed with HMAC-SHA256 under a random key kept there in ``cache.key``: a regular file (never a
link) owned by the grader's user and readable by nobody else, checked on every use. Someone who can
write the folder but is not that user (a group-writable folder, a synced or restored copy) can
delete or replace entries, but cannot sign one: an entry whose signature, key or values do not check
out is ignored and the references run again. Even a signed entry's values go through the same
strict decoder as a sandbox's output. Without a usable key (no home folder, a key someone else owns)
nothing is cached and every run computes its references, as before. Entries are readable by the
grader's user only (they hold hidden probes' expected values), and a run whose sandbox lacks an
essential isolation layer neither reads nor writes the cache (:func:`.evaluate.compute_references`):
sandboxed code never sees this folder only because of the filesystem allowlist and its own uid.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..kinds import CodeQuestion
from .decode import Malformed, check_value
from .rootfs import python_paths

FORMAT = 1
KEY_FILE = "cache.key"
KEY_BYTES = 32
MAX_ENTRY_BYTES = 64 * 1024 * 1024
"""Larger entries are not read (the references' data is capped at 32 MB; JSON adds a little)."""
GRADER = Path(__file__).resolve().parents[1]


def default_directory() -> Path | None:
    """Where the cache lives: ``$GRADER_CACHE_DIR`` (``none``: no cache), else the user's cache folder
    (None when there is no home folder to put it in)."""
    chosen = os.environ.get("GRADER_CACHE_DIR", "")
    if chosen.lower() == "none":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache")
                                                if os.path.expanduser("~") != "~" else "")
    return Path(base) / "grader" if base else None


def _source_digest() -> str:
    """SHA-256 of the grader's Python source: a new grader version never reads an older one's values."""
    digest = hashlib.sha256()
    for path in sorted(GRADER.rglob("*.py")):
        digest.update(path.relative_to(GRADER).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _distributions() -> list[str]:
    """Every installed distribution the sandbox can import, as its ``*.dist-info`` folder names it (name-version)."""
    found = set()
    for folder in python_paths():
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found.update(n for n in names if n.endswith((".dist-info", ".egg-info")))
    return sorted(found)


def reference_key(questions: Sequence[CodeQuestion], *, preload: Sequence[str], layers: Mapping[str, bool]) -> str:
    """The name of the cache entry for these questions' references on this machine (see the module docstring)."""
    inputs = {"format": FORMAT, "questions": [q.model_dump(mode="json") for q in questions],
              "preload": list(preload), "grader": _source_digest(), "python": sys.version,
              "implementation": sys.implementation.name, "machine": platform.machine(),
              "distributions": _distributions(), "layers": sorted((str(k), bool(v)) for k, v in layers.items())}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _private_key(directory: Path) -> bytes | None:
    """The signing key, created on first use; None unless it is a regular file of ours that nobody else can read."""
    path = directory / KEY_FILE
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(KEY_BYTES))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            return None
        key = handle.read(KEY_BYTES + 1)
    return key if len(key) == KEY_BYTES else None


def _no_constant(name: str) -> Any:
    raise Malformed(f"JSON constant {name}")


def _signature(key: bytes, name: str, body: bytes) -> str:
    return hmac.new(key, name.encode() + b"\0" + body, hashlib.sha256).hexdigest()


class ReferenceCache:
    """Signed reference values in one folder; :meth:`load` and :meth:`store` never raise."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    @classmethod
    def default(cls) -> ReferenceCache | None:
        directory = default_directory()
        return cls(directory) if directory is not None else None

    def _path(self, key: str) -> Path:
        return self.directory / f"references-{key}.json"

    def load(self, key: str) -> dict[str, dict[str, Any]] | None:
        """Question id → probe id → value, when a valid signed entry for ``key`` exists (None otherwise)."""
        secret = _private_key(self.directory)
        if secret is None:
            return None
        try:
            with open(self._path(key), "rb") as handle:
                raw = handle.read(MAX_ENTRY_BYTES + 1)
            entry = json.loads(raw) if len(raw) <= MAX_ENTRY_BYTES else None
            body, signature = entry["values"], entry["signature"]
            if not (type(body) is str and type(signature) is str
                    and hmac.compare_digest(signature, _signature(secret, key, body.encode()))):
                return None
            values = json.loads(body, parse_constant=_no_constant)
            return {str(q): {str(p): check_value(v) for p, v in probes.items()} for q, probes in values.items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError, Malformed):
            return None

    def store(self, key: str, values: Mapping[str, Mapping[str, Any]]) -> None:
        """Write the entry for ``key`` (atomically; a failure only means the next run recomputes)."""
        secret = _private_key(self.directory)
        if secret is None:
            return
        body = json.dumps(values, allow_nan=False, sort_keys=True)
        text = json.dumps({"format": FORMAT, "values": body, "signature": _signature(secret, key, body.encode())})
        path = self._path(key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
        try:  # readable by the grader's user only: the values include hidden probes' expected values
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, path)
        except (OSError, ValueError):
            try:
                temporary.unlink()
            except OSError:
                pass
