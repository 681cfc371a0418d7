"""Whole-sandbox limits and a kill that reaches every process: control groups, v1 or v2.

A per-process limit is multiplied by ``fork``; a process group is left by ``setsid``. A control
group is neither: every process a sandbox starts is born into its group, the memory and process
limits count them all together (pages of its tmpfs and SysV shared memory included), and killing
the group kills them all. One *pool* group per grader run holds one child group per sandbox.

Where the ``cpu`` controller is available too, each sandbox's group is also its own CPU scheduling
group, all with the same weight: a sandbox gets its share of the machine however many processes it
runs. Without it, the kernel gives every *session* a share (autogroups), so code whose children each
call ``setsid()`` took a hundred shares and made the student graded beside it time out.

Backends are tried in order, first match wins (like peft's ``dispatch_*``):

1. cgroup v2 with the ``memory`` and ``pids`` controllers available to us;
2. cgroup v1 with writable ``memory`` and ``pids`` hierarchies (plus ``freezer`` for a race-free kill);
3. cgroup v2 without those controllers: no limits, but ``cgroup.kill``/``cgroup.freeze`` still
   reach every process;
4. none (an unprivileged user without a delegated subtree): the documented fallback, per-process
   rlimits and the PID namespace only. ``grader doctor`` says which one this machine gets.

Pools are named ``grader-<pid>-<start time>-<random>`` and created beside (v2) or below (v1) the
grader's own group, so :func:`remove_stale` can find the pools of graders that died without cleaning
up and remove them at the next start.
"""
from __future__ import annotations

import errno
import os
import secrets
import signal
import time
from dataclasses import dataclass, field

SKIP_ENV = "GRADER_SANDBOX_TEST_WITHOUT"
"""Comma-separated layers to leave out on purpose (``cgroup``, …): for testing the fallback paths."""
PREFIX = "grader-"
V1_CONTROLLERS = ("memory", "pids", "freezer", "cpu")
POOL_MEMORY_SHARE = 0.75
"""The share of the machine's memory all sandboxes of a pool may hold together, whatever each question
allows and however many run at once: the grader and the rest of the machine keep the remainder."""


def skipped(layer: str) -> bool:
    return layer in {x.strip() for x in os.environ.get(SKIP_ENV, "").split(",")}


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _stat_fields(text: str) -> dict[str, int]:
    """``key value`` lines (memory.events, pids.events, memory.oom_control) as a dict."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (None if it is gone): tells a reused pid apart."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    try:
        return int(text.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def owner_alive(pid: int, start: int) -> bool:
    return process_start_time(pid) == start


def _mounts() -> list[tuple[str, str, str, str]]:
    """(mount point, root within the hierarchy, fs type, super options) of every cgroup mount."""
    out = []
    for line in _read("/proc/self/mountinfo").splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
            out.append((fields[4], fields[3], tail[0], tail[2]))
    return out


def _own_paths() -> dict[str, str]:
    """Controller (or '' for v2) → this process's group path, from /proc/self/cgroup."""
    out = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            out[name] = path
    return out


def _join(mount: str, root: str, path: str) -> str:
    if root != "/" and path.startswith(root):
        path = path[len(root):] or "/"
    return os.path.normpath(mount + "/" + path.lstrip("/"))


def _pids(directory: str) -> list[int]:
    return [int(x) for x in _read(os.path.join(directory, "cgroup.procs")).split() if x.isdigit()]


def _kill_until_empty(directories: list[str], timeout: float = 10.0) -> bool:
    """SIGKILL every process listed until none is left (a forking loop loses the race within rounds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for d in directories for pid in _pids(d)]
        if not found:
            return True
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.005)
    return False


def _rmdir(path: str, attempts: int = 200) -> None:
    for _ in range(attempts):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                return
            time.sleep(0.01)


def remove_tree(path: str) -> None:
    """Kill everything in the group at ``path`` and its descendants, then remove them, deepest first."""
    if not os.path.isdir(path):
        return
    groups = [root for root, _, _ in os.walk(path)]
    _frozen_kill(groups)
    _kill_until_empty(groups)
    for group in sorted(groups, key=len, reverse=True):
        _rmdir(group)


def _frozen_kill(groups: list[str]) -> None:
    """Freeze the groups (v1 freezer.state, v2 cgroup.freeze), SIGKILL every process, thaw.

    Frozen, no process can fork between the listing and the kill; the kill takes effect as the
    groups thaw (a v1-frozen task does not die while frozen). Best effort where there is no freezer.
    """
    frozen = [g for g in groups if _set_frozen(g, True)]
    deadline = time.monotonic() + 1.0
    while frozen and time.monotonic() < deadline and not all(_is_frozen(g) for g in frozen):
        time.sleep(0.002)
    for pid in [pid for g in groups for pid in _pids(g)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for group in frozen:
        _set_frozen(group, False)


def _set_frozen(group: str, frozen: bool) -> bool:
    for name, value in (("freezer.state", "FROZEN" if frozen else "THAWED"), ("cgroup.freeze", "1" if frozen else "0")):
        target = os.path.join(group, name)
        if os.path.exists(target):
            try:
                _write(target, value)
                return True
            except OSError:
                return False
    return False


def _is_frozen(group: str) -> bool:
    state = _read(os.path.join(group, "freezer.state")).strip()
    if state:
        return state == "FROZEN"
    return _stat_fields(_read(os.path.join(group, "cgroup.events"))).get("frozen") == 1


@dataclass
class Sandbox:
    """One sandbox's group (one directory per v1 hierarchy, or one v2 directory)."""

    version: str
    dirs: dict[str, str]
    """Controller ('memory', 'pids', 'freezer'; 'unified' for v2) → directory."""

    def add(self, pid: int) -> None:
        for directory in dict.fromkeys(self.dirs.values()):
            _write(os.path.join(directory, "cgroup.procs"), str(pid))

    def kill(self) -> bool:
        """Kill every process of the sandbox; True once none is left."""
        directories = list(dict.fromkeys(self.dirs.values()))
        if not any(_pids(d) for d in directories):  # the usual end: its code finished and exited
            return True  # (no freeze, which costs milliseconds: a group nobody is in stays empty, as only
            #            a member's fork or the grader's own write to cgroup.procs can put a process in it)
        if self.version == "v2" and os.path.exists(os.path.join(self.dirs["unified"], "cgroup.kill")):
            try:
                _write(os.path.join(self.dirs["unified"], "cgroup.kill"), "1")
            except OSError:
                pass
        else:
            _frozen_kill([self.dirs["freezer"]] if "freezer" in self.dirs else directories)
        return _kill_until_empty(directories)

    def usage(self) -> dict[str, int]:
        """What the limits saw: peak memory (bytes), OOM kills, refused forks."""
        if self.version == "v1":
            memory, pids = self.dirs.get("memory"), self.dirs.get("pids")
            out = {}
            if memory:
                out["memory_peak"] = int(_read(memory + "/memory.max_usage_in_bytes") or 0)
                out["oom_kills"] = _stat_fields(_read(memory + "/memory.oom_control")).get("oom_kill", 0)
                out["memory_failcnt"] = int(_read(memory + "/memory.failcnt") or 0)
            if pids:
                out["fork_refused"] = _stat_fields(_read(pids + "/pids.events")).get("max", 0)
            return out
        unified = self.dirs["unified"]
        events = _stat_fields(_read(unified + "/memory.events"))
        return {"memory_peak": int(_read(unified + "/memory.peak") or 0), "oom_kills": events.get("oom_kill", 0),
                "memory_failcnt": events.get("max", 0),
                "fork_refused": _stat_fields(_read(unified + "/pids.events")).get("max", 0)}

    def remove(self) -> None:
        for directory in dict.fromkeys(self.dirs.values()):
            _rmdir(directory)


@dataclass
class Pool:
    """The grader run's parent group(s); :meth:`sandbox` makes one child per sandbox."""

    version: str
    dirs: dict[str, str]
    limits: tuple[str, ...] = field(default=())
    """Which limits hold: 'memory', 'pids'. Empty for the kill-only v2 backend."""

    @property
    def kill_whole(self) -> bool:
        return self.version == "v2" or "freezer" in self.dirs

    def to_dict(self) -> dict:
        return {"version": self.version, "dirs": self.dirs, "limits": list(self.limits)}

    @classmethod
    def from_dict(cls, data: dict) -> "Pool":
        return cls(data["version"], dict(data["dirs"]), tuple(data.get("limits", ())))

    def sandbox(self, name: str, *, memory_bytes: int, pids: int) -> Sandbox:
        """Create the child group ``name`` with the limits set. Raises OSError."""
        dirs = {key: os.path.join(parent, name) for key, parent in self.dirs.items()}
        for directory in dict.fromkeys(dirs.values()):
            os.mkdir(directory)
        box = Sandbox(self.version, dirs)
        try:
            if self.version == "v1":
                if "memory" in dirs:
                    _write(dirs["memory"] + "/memory.limit_in_bytes", str(memory_bytes))
                    if os.path.exists(dirs["memory"] + "/memory.memsw.limit_in_bytes"):
                        _write(dirs["memory"] + "/memory.memsw.limit_in_bytes", str(memory_bytes))
                if "pids" in dirs:
                    _write(dirs["pids"] + "/pids.max", str(pids))
            elif self.limits:
                unified = dirs["unified"]
                _write(unified + "/memory.max", str(memory_bytes))
                if os.path.exists(unified + "/memory.swap.max"):
                    _write(unified + "/memory.swap.max", "0")
                _write(unified + "/pids.max", str(pids))
        except OSError:
            box.remove()
            raise
        return box

    def remove(self) -> None:
        for directory in dict.fromkeys(self.dirs.values()):
            remove_tree(directory)

    def cap_memory(self, limit: int) -> bool:
        """Limit the memory of every sandbox of the pool together to ``limit`` bytes; True when it holds."""
        if "memory" not in self.limits:
            return False
        try:
            if self.version == "v1":
                _write(self.dirs["memory"] + "/memory.limit_in_bytes", str(limit))
            else:
                _write(self.dirs["unified"] + "/memory.max", str(limit))
        except OSError:
            return False
        return True


def machine_memory() -> int:
    """Bytes of memory the machine has (MemTotal), or 0 when /proc/meminfo cannot tell."""
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def is_pool_dir(path: str) -> bool:
    """Whether ``path`` looks like one of our pools (a safety check before removing a recorded path)."""
    real = os.path.realpath(path)
    return (os.path.basename(real).startswith(PREFIX) and any(real.startswith(m.rstrip("/") + "/") for m, _, _, _ in _mounts()))


def _pool_name() -> str:
    pid = os.getpid()
    return f"{PREFIX}{pid}-{process_start_time(pid) or 0}-{secrets.token_hex(3)}"


def _make(directory: str) -> bool:
    try:
        os.mkdir(directory, 0o755)
        return True
    except OSError:
        return False


def _v2_places() -> tuple[str, str] | None:
    """(own group's directory, where pools go) on the unified hierarchy, or None without one."""
    own = _own_paths().get("")
    mounts = [(m, r) for m, r, kind, _ in _mounts() if kind == "cgroup2"]
    if own is None or not mounts:
        return None
    base = _join(mounts[0][0], mounts[0][1], own)
    return base, (base if os.path.samefile(base, mounts[0][0]) else os.path.dirname(base))


def _v2_with_limits(name: str) -> Pool | None:
    places = _v2_places()
    if places is None:
        return None
    base, parent = places
    wanted = {"memory", "pids"}
    if parent == base:  # the root group: enable the controllers for its children ourselves
        for controllers in ("+memory +pids +cpu", "+memory +pids"):
            try:
                _write(os.path.join(base, "cgroup.subtree_control"), controllers)
                break
            except OSError:
                pass
    available = set(_read(os.path.join(parent, "cgroup.subtree_control")).split())
    if not wanted <= available:
        return None
    pool = os.path.join(parent, name)
    if not _make(pool):
        return None
    try:
        _write(os.path.join(pool, "cgroup.subtree_control"), "+memory +pids")
    except OSError:
        _rmdir(pool)
        return None
    limits: tuple[str, ...] = ("memory", "pids")
    if "cpu" in available:
        try:
            _write(os.path.join(pool, "cgroup.subtree_control"), "+cpu")
            _write(os.path.join(pool, "cpu.weight"), str(min(10_000, 100 * (os.cpu_count() or 1))))
            limits += ("cpu",)
        except OSError:
            pass
    return Pool("v2", {"unified": pool}, limits)


def _v1(name: str) -> Pool | None:
    own = _own_paths()
    dirs: dict[str, str] = {}
    for mount, root, kind, options in _mounts():
        if kind != "cgroup":
            continue
        for controller in V1_CONTROLLERS:
            if controller in options.split(",") and controller in own and controller not in dirs:
                pool = os.path.join(_join(mount, root, own[controller]), name)
                if _make(pool):
                    dirs[controller] = pool
    if "memory" not in dirs or "pids" not in dirs:
        for directory in dirs.values():
            _rmdir(directory)
        return None
    limits: tuple[str, ...] = ("memory", "pids")
    if "cpu" in dirs:
        try:  # as much CPU as the sandboxes would have had as sessions of their own, one share per core
            _write(os.path.join(dirs["cpu"], "cpu.shares"), str(1024 * (os.cpu_count() or 1)))
            limits += ("cpu",)
        except OSError:
            _rmdir(dirs.pop("cpu"))
    return Pool("v1", dirs, limits)


def _v2_kill_only(name: str) -> Pool | None:
    places = _v2_places()
    if places is None:
        return None
    pool = os.path.join(places[0], name)
    if not _make(pool):
        return None
    if not os.path.exists(os.path.join(pool, "cgroup.kill")) and not os.path.exists(os.path.join(pool, "cgroup.freeze")):
        _rmdir(pool)
        return None
    return Pool("v2", {"unified": pool}, ())


BACKENDS = (_v2_with_limits, _v1, _v2_kill_only)


def open_pool() -> Pool | None:
    """A new pool group from the first backend that works here, or None (the fallback)."""
    if skipped("cgroup"):
        return None
    name = _pool_name()
    for backend in BACKENDS:
        try:
            pool = backend(name)
        except OSError:
            pool = None
        if pool is not None:
            total = machine_memory()
            if total:
                pool.cap_memory(int(total * POOL_MEMORY_SHARE))
            return pool
    return None


def _pool_parents() -> list[str]:
    """Every folder a pool of ours may have been created in."""
    own, parents = _own_paths(), []
    for mount, root, kind, options in _mounts():
        if kind == "cgroup":
            parents += [_join(mount, root, own[c]) for c in V1_CONTROLLERS if c in options.split(",") and c in own]
    places = _v2_places()
    if places:
        parents += list(places)
    return list(dict.fromkeys(parents))


def remove_stale() -> int:
    """Remove pools whose grader process is gone (killed by a signal, the OOM killer, a power cut)."""
    removed = 0
    for parent in _pool_parents():
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            parts = name[len(PREFIX):].split("-") if name.startswith(PREFIX) else []
            if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
                continue
            if owner_alive(int(parts[0]), int(parts[1])):
                continue
            remove_tree(os.path.join(parent, name))
            removed += 1
    return removed
