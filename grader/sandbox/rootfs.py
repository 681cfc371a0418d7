"""The sandbox's view of the filesystem: an allowlist, built fresh for each sandbox and pivoted into.

Inside its private mount namespace the sandbox's PID 1 mounts an empty tmpfs as the new root, then
bind-mounts into it, read-only, only what Python needs: the interpreter and standard library, the
site-packages folders, ``/usr`` (and the ``/lib*``, ``/bin`` links), the dynamic loader's cache. It
adds a handful of device nodes, a fresh ``/proc`` for its own PID namespace, and one size-limited
tmpfs (the disk quota) that appears as the work folder (``/work``), ``/tmp`` and ``/dev/shm``. Then ``pivot_root``
makes that the root and the host's tree is detached: the repository and its ``.git``, the bank,
other submissions, the output folder, nbgrader exports and other sandboxes' files are not hidden,
they simply do not exist in this view. When the sandbox's last process exits, the namespace and its
tmpfs (everything the code wrote) are gone with it.

An allowlist rather than a blocklist: a folder we did not think of stays invisible.
"""
from __future__ import annotations

import os
import site
import sys
from dataclasses import dataclass, field

from . import libc

WORKDIRS = ("/work", "/home/student", "/grader-work")
"""Candidates for the sandbox's working directory (its HOME, on the quota tmpfs): the first that is
not on the path of an allowlisted folder (a virtual environment may live under /work)."""
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
DEVICES = ("null", "zero", "full", "random", "urandom")
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME = 1024, 2048, 1 << 21


@dataclass(frozen=True)
class RootPlan:
    """What a sandbox's root holds. Computed once in the zygote (trusted) and inherited by each fork."""

    read_only: tuple[str, ...]
    """Host folders and files bind-mounted read-only at the same path."""
    workdir: str = "/work"
    symlinks: tuple[tuple[str, str], ...] = ()
    """(path, target) links recreated as they are on the host, e.g. /lib -> usr/lib."""
    etc: dict[str, str] = field(default_factory=dict)
    """Small /etc files written fresh (hosts, hostname); passwd and group name the sandbox's own uid."""


def python_paths() -> list[str]:
    """The interpreter's installation, the virtual environment and every site-packages folder in use.

    Folders on ``sys.path`` outside these (``PYTHONPATH`` entries, the current folder, a source
    checkout) are deliberately left out: they may be the repository.
    """
    found = {sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    found.update(site.getsitepackages())
    if site.ENABLE_USER_SITE and site.getusersitepackages() in sys.path:
        found.add(site.getusersitepackages())
    return [p for p in found if p and os.path.isdir(p)]


def _outermost(paths: list[str]) -> list[str]:
    """Drop paths already inside another one (one bind mount covers both)."""
    out: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths}, key=len):
        if not any(path == kept or path.startswith(kept.rstrip("/") + "/") for kept in out):
            out.append(path)
    return sorted(out)


def default_plan() -> RootPlan:
    """The allowlist for this interpreter on this machine (see the module docstring)."""
    binds, links = list(python_paths()), []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            binds.append(path)
    for path in ETC_FILES:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.exists(path):
            binds.append(path)
    etc = {"/etc/hosts": "127.0.0.1 localhost\n", "/etc/hostname": "sandbox\n"}
    binds = _outermost(binds)
    taken = [p for p in binds + [path for path, _ in links]]
    workdir = next(w for w in WORKDIRS if not any(p == w or p.startswith(w + "/") or w.startswith(p + "/") for p in taken))
    return RootPlan(read_only=tuple(binds), workdir=workdir, symlinks=tuple(links), etc=etc)


def _locked_flags(path: str) -> int:
    """Flags a bind mount of ``path`` must keep when remounted (a user namespace refuses to clear them)."""
    try:
        flags = os.statvfs(path).f_flag
    except OSError:
        return 0
    pairs = ((os.ST_NOSUID, libc.MS_NOSUID), (os.ST_NODEV, libc.MS_NODEV), (os.ST_NOEXEC, libc.MS_NOEXEC),
             (os.ST_NOATIME, _MS_NOATIME), (os.ST_NODIRATIME, _MS_NODIRATIME), (os.ST_RELATIME, _MS_RELATIME))
    return sum(ms for st, ms in pairs if flags & st)


def _placeholder(target: str, like: str) -> None:
    """An empty folder or file at ``target`` to mount ``like`` onto."""
    if os.path.isdir(like):
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))


def bind(source: str, target: str, *, read_only: bool = True, extra: int = 0) -> None:
    """Bind-mount ``source`` at ``target`` (non-recursive: mounts below ``source`` stay out), read-only by default."""
    _placeholder(target, source)
    libc.mount(source, target, None, libc.MS_BIND)
    flags = libc.MS_REMOUNT | libc.MS_BIND | libc.MS_NOSUID | extra | _locked_flags(source)
    libc.mount(None, target, None, flags | (libc.MS_RDONLY if read_only else 0))


def _scratch(new_root: str, workdir: str, uid: int, gid: int, disk_mb: int, inodes: int) -> None:
    """One tmpfs, ``disk_mb`` in all, seen as /work, /tmp and /dev/shm (so the quota covers all three)."""
    staging = new_root + "/.scratch"
    os.mkdir(staging, 0o700)
    libc.mount("tmpfs", staging, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV,
               f"size={max(1, disk_mb)}m,nr_inodes={max(64, inodes)},mode=0700")
    for name, where in (("work", workdir), ("tmp", "/tmp"), ("shm", "/dev/shm")):
        os.mkdir(f"{staging}/{name}", 0o700)
        os.chown(f"{staging}/{name}", uid, gid)
        os.makedirs(new_root + where, mode=0o755, exist_ok=True)
        libc.mount(f"{staging}/{name}", new_root + where, None, libc.MS_BIND)
    libc.umount(staging)
    os.rmdir(staging)


def _devices(new_root: str) -> None:
    os.makedirs(new_root + "/dev", mode=0o755, exist_ok=True)
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            bind(f"/dev/{name}", f"{new_root}/dev/{name}", read_only=False, extra=libc.MS_NOEXEC)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{new_root}/dev/{name}")


def build_and_enter(plan: RootPlan, new_root: str, *, uid: int, gid: int, disk_mb: int, inodes: int) -> None:
    """Build the allowlisted root at ``new_root`` (an empty folder) and pivot into it. Raises OSError.

    Must run as (namespaced) root, in a private mount namespace, as PID 1 of a new PID namespace
    (for ``/proc``). Afterwards ``/`` is read-only except the quota tmpfs; the host tree is unmounted.
    """
    libc.mount("none", "/", None, libc.MS_REC | libc.MS_PRIVATE)
    libc.mount("tmpfs", new_root, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, "size=2m,nr_inodes=4096,mode=0755")
    # The scratch tmpfs first: a virtual environment may live under /tmp (a CI checkout in a temp folder), and
    # its bind mount must land on top of the sandbox's /tmp, not be hidden under it.
    _scratch(new_root, plan.workdir, uid, gid, disk_mb, inodes)
    for path in plan.read_only:
        bind(path, new_root + path)
    for path, target in plan.symlinks:
        os.makedirs(os.path.dirname(new_root + path), mode=0o755, exist_ok=True)
        os.symlink(target, new_root + path)
    _devices(new_root)
    os.makedirs(new_root + "/proc", mode=0o555, exist_ok=True)
    libc.mount("proc", new_root + "/proc", "proc", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC)
    etc = {**plan.etc, "/etc/passwd": f"root:x:0:0:root:/:/usr/sbin/nologin\nstudent:x:{uid}:{gid}::{plan.workdir}:/usr/sbin/nologin\n",
           "/etc/group": f"root:x:0:\nstudent:x:{gid}:\n"}
    for path, text in etc.items():
        os.makedirs(os.path.dirname(new_root + path), mode=0o755, exist_ok=True)
        with open(new_root + path, "w") as handle:
            handle.write(text)
    os.mkdir(new_root + "/.old", 0o700)
    libc.pivot_root(new_root, new_root + "/.old")
    os.chdir("/")
    libc.umount("/.old")
    os.rmdir("/.old")
    libc.mount(None, "/", None, libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV)
    os.chdir(plan.workdir)
