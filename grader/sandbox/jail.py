"""Inside the sandbox: the jail process (forked by the zygote) and the PID 1 it starts, which runs the code.

The order matters and is the same on every machine::

    jail   parent-death signal; wait until the monitor has put us in our cgroup (the go byte), then
           read the request from the same pipe; new user?/net/mount/ipc/uts/cgroup namespaces (as
           root the zygote made the PID namespace already and the jail *is* its PID 1; otherwise
           unshare it and fork once more)
    PID 1  build the allowlisted root and pivot into it (rootfs); hostname; rlimits;
           become the sandbox's own uid (or drop every capability); no_new_privs;
           parent-death signal again (a uid change clears it); the environment from its allowlist;
           stdio to /dev/null or the capture pipe, every other fd closed; the system-call filter;
           report which layers held; refuse to go on if a required one did not;
           run the code and the probes (harness)

Namespaces need root or a user namespace, so they come first; mounts need the mount namespace and
``/proc`` the PID namespace; limits are set while we may still raise them; privileges go last of
the privileged steps, so the code can neither undo a limit nor see the host again.
"""
from __future__ import annotations

import json
import os
import signal
import struct
import tempfile
import traceback

from . import identity as identity_module
from . import isolate, libc, protocol, rootfs, seccomp
from .cgroups import skipped
from .harness import run as run_harness


def _report(fd: int, record: protocol.IsolationRecord) -> None:
    os.write(fd, (json.dumps(record) + "\n").encode())


def _receive(go_fd: int) -> dict | None:
    """The go byte (we are in our cgroup now), then the request up to EOF; None when the monitor gave up."""
    if os.read(go_fd, 1) != b"1":
        return None
    chunks = []
    while chunk := os.read(go_fd, 1 << 20):
        chunks.append(chunk)
    os.close(go_fd)
    return json.loads(b"".join(chunks))


def jail(*, plan: rootfs.RootPlan, new_root: str, fallback_dir: str, identity: identity_module.Identity | None,
         go_fd: int, pid_fd: int, out_fd: int, capture_fd: int | None, in_pid_namespace: bool) -> None:
    """Runs in the forked jail process; never returns. ``go_fd`` says when we are in our cgroup, then brings the request.

    When the zygote (as root) already made the new PID namespace for its children, this process is
    its PID 1 and goes straight on; otherwise (a user namespace comes first) it unshares and forks
    once more, and writes that PID 1's host pid to ``pid_fd``.
    """
    status = 70
    try:
        libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
        os.setsid()
        request = _receive(go_fd)
        if request is None:
            os._exit(72)
        held = isolate.enter_namespaces(as_root=os.geteuid() == 0, pid=not in_pid_namespace)
        held["pid_namespace"] = held["pid_namespace"] or in_pid_namespace
        child = os.fork() if held["pid_namespace"] and not in_pid_namespace else 0
        if child:
            os.write(pid_fd, struct.pack("!i", child))
            _, wait_status = os.waitpid(child, 0)
            os._exit(os.waitstatus_to_exitcode(wait_status) & 0xFF)
        os.close(pid_fd)
        _init(request, held, plan=plan, new_root=new_root, fallback_dir=fallback_dir, identity=identity,
              out_fd=out_fd, capture_fd=capture_fd)
        status = 0
    except BaseException:  # the harness reports the code's errors itself; this is our own failure
        status = 71
        try:  # into the zygote's log while stderr is still ours (before the redirect)
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        os._exit(status)


def _init(request: dict, held: dict[str, bool], *, plan: rootfs.RootPlan, new_root: str, fallback_dir: str,
          identity: identity_module.Identity | None, out_fd: int, capture_fd: int | None) -> None:
    limits = isolate.Limits(**request["limits"])
    filter_syscalls = not skipped("seccomp")  # read before the environment is replaced
    libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    uid, gid = (identity.uid, identity.gid) if identity is not None else (os.geteuid(), os.getegid())
    held["filesystem_allowlist"] = held["private_proc"] = held["disk_quota"] = False
    if held["mount_namespace"] and held["pid_namespace"] and not skipped("rootfs"):
        try:
            rootfs.build_and_enter(plan, new_root, uid=uid, gid=gid, disk_mb=limits.disk_mb, inodes=limits.inodes)
            held["filesystem_allowlist"] = held["private_proc"] = held["disk_quota"] = True
        except OSError as exc:
            held["filesystem_error"] = str(exc)[:200]
    if not held["filesystem_allowlist"]:
        os.chdir(fallback_dir)
    if held["uts_namespace"]:
        try:
            libc.sethostname("sandbox")
        except OSError:
            pass
    try:
        libc.join_new_session_keyring()
    except OSError:
        pass
    isolate.set_limits(limits, isolate.address_space_bytes())
    how = identity_module.become(identity)
    held["own_identity"] = bool(how) and (identity is None or not identity.shared)
    held["unprivileged"] = os.geteuid() != 0 or held["user_namespace"]
    held["identity"] = how
    libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    if not held["network_namespace"]:
        isolate.block_sockets()
    held["socket_block"] = not held["network_namespace"]
    if held["filesystem_allowlist"]:
        isolate.sandbox_environment(plan.workdir)
    else:
        isolate.sandbox_environment(fallback_dir)
        os.environ.update(TMPDIR=fallback_dir, TMP=fallback_dir, TEMP=fallback_dir)
    held["clean_environment"] = True  # the zygote, too, started from the allowlist (isolate.zygote_environment)
    tempfile.tempdir = os.environ["TMPDIR"]
    keep = (out_fd,) if capture_fd is None else (out_fd, capture_fd)
    isolate.redirect_stdio_and_close_fds(keep, stdout=capture_fd)
    held["syscall_filter"] = filter_syscalls and seccomp.install()
    missing = [name for name in request.get("require", []) if not held.get(name)]
    layers = {k: v for k, v in held.items() if isinstance(v, bool)}
    _report(out_fd, protocol.isolation(layers, held["identity"], missing))
    if missing:
        return
    run_harness(out_fd, request["chunks"], request["setup"], request["probes"], flush_stdout=capture_fd is not None)

