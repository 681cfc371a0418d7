"""The warm parent: imports torch/transformers/peft once, then forks one jail per sandbox.

    python -m grader.sandbox      (the pool folder on the first line of stdin)

Process tree (the zygote never reads a request, so it never holds student code or anything else
that a later fork could find in its memory)::

    zygote ─ fork, before the imports ─▶ supervisor  (small, trusted: accepts the grader's connections;
       │                                  one monitor thread per sandbox reads the request, takes a
       │                                  uid, creates the cgroup, owns the deadline; never forks)
       └─ fork, one per order from the supervisor ─▶ jail  (PID 1 of a new PID namespace; joins its
                                  cgroup, then reads its request; new namespaces, allowlisted root,
                                  rlimits, own uid, runs code + probes)

Why a supervisor: the trusted process that reads a request must not be a process that later forks
a jail, and it had been a fork of this big process (a second fork and teardown of hundreds of
megabytes per sandbox). The supervisor is forked while the zygote is still small and asks the zygote
for each jail with a small order (:mod:`.spawn`); the request goes from it to the jail directly.

The zygote is started by :class:`grader.sandbox.SandboxPool` with an environment built from an
allowlist and with its standard input on a pipe from the grader. When that pipe reaches EOF the
grader is gone, however it died (``kill -9``, the OOM killer): the zygote kills every sandbox of
its pool, removes their cgroups and the pool folder, and exits; so it does when the supervisor dies.
The supervisor and the jails die with the zygote (parent-death signal), so nothing outlives the grader.
"""
from __future__ import annotations

import contextlib
import gc
import json
import os
import selectors
import signal
import socket
import sys

from . import cgroups, encoding, libc, monitor, rootfs, seccomp, spawn, supervisor
from .housekeeping import remove_folder
from .hugepages import Collapser
from .jail import jail

PRELOAD = ("import torch", "torch.set_num_threads(1)", "import transformers", "import peft",
           "transformers.BitsAndBytesConfig", "peft.LoraConfig", "import numpy",
           "import transformers.models.bert.modeling_bert",
           "from transformers.conversion_mapping import get_checkpoint_conversion_mapping",
           "get_checkpoint_conversion_mapping('bert')")
"""Heavy imports done once in the zygote; each fork then starts with them already loaded.

BERT is the course's model family (its default model, all-MiniLM-L6-v2, is one). The last statement
builds a table transformers otherwise builds lazily in every sandbox that wraps a model with peft
(``get_peft_model``) or loads one: about a thousand regular expressions. Together they took 0.15 s
of CPU off every sandbox of lora-assignment's ``lora-config`` (0.21 s → 0.06 s, measured)."""


def _preload(statements: list[str]) -> None:
    """Run the preload statements, fix the random state, then freeze what they created out of the
    garbage collector's reach.

    ``gc.freeze``: a collection in a sandbox would otherwise walk (and so write to, and copy) every
    object the zygote holds, hundreds of megabytes, at each fork's expense.
    """
    namespace: dict = {}
    for statement in statements:
        try:
            exec(statement, namespace)  # noqa: S102 - fixed strings from the trusted grader
        except Exception:  # a missing optional library only costs its import time later
            pass
    namespace.clear()
    encoding.capture_library_functions()
    seccomp.compiled()  # built once here, not in every sandbox
    fix_random_state()
    gc.collect()
    gc.freeze()


def fix_random_state() -> None:
    """Seed the global generators of numpy and torch (when loaded), which every sandbox inherits.

    Each sandbox of a run always started from the zygote's state; these seeds make that state the same
    in every run too (with the zygote's fixed hash seed, see :class:`~.client.SandboxPool`), so grading
    is reproducible and reference values computed in one run are the ones another run would compute
    (:mod:`.reference_cache`). The standard library's ``random`` reseeds itself from the system in every
    forked process, so it differs between sandboxes as it always did.
    """
    for name, seed in (("numpy", lambda numpy: numpy.random.seed(0)), ("torch", lambda torch: torch.manual_seed(0))):
        if name in sys.modules:  # a broken optional library: its sandboxes keep whatever state it has
            with contextlib.suppress(Exception):
                seed(sys.modules[name])


def shutdown(pool_dir: str, pool: cgroups.Pool | None) -> None:
    """Kill every sandbox of this pool and remove its cgroups and folder (also used by the grader)."""
    if pool is not None:
        pool.remove()
    remove_folder(pool_dir)


def _start_jail(config: monitor.Config, order: spawn.Order, fds: spawn.JailFds, in_pid_namespace: bool) -> None:
    """In the forked child: become the jail of ``order`` (never returns)."""
    jail(plan=config.plan, new_root=config.new_root, fallback_dir=order.fallback, identity=order.identity(),
         go_fd=fds.go, pid_fd=fds.pid, out_fd=fds.out, capture_fd=fds.capture, in_pid_namespace=in_pid_namespace)


def _stop(pool_dir: str, pool: cgroups.Pool | None, supervisor_pid: int) -> None:
    """Shut the pool down, the supervisor first: a monitor still running while the cgroups are removed
    would answer its run with a made-up refusal (no cgroup could be made) instead of dropping the
    connection, which the grader retries elsewhere (its own zygote, when this was a warm server)."""
    try:  # still our child (alive, or exited and unreaped): its pid cannot belong to anyone else yet
        os.waitid(os.P_PID, supervisor_pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        os.kill(supervisor_pid, signal.SIGKILL)
        os.waitpid(supervisor_pid, 0)
    except OSError:  # reaped already (spawn.Nursery.reap_orphans): never signal a pid that may be reused
        pass
    shutdown(pool_dir, pool)
    os._exit(0)


def _start_supervisor(pool_dir: str, config: monitor.Config) -> tuple[socket.socket, int]:
    """Bind the pool's socket and fork the supervisor that serves it; return our end of its control socket
    and its pid."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.path.join(pool_dir, "zygote.sock"))
    server.listen(64)
    control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    zygote = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            control.close()
            supervisor.serve(server, theirs, config, parent=zygote)
        finally:
            os._exit(1)
    server.close()
    theirs.close()
    return control, pid


def serve(pool_dir: str) -> None:
    """Start the supervisor, import the heavy modules, announce readiness on stdout, then fork a jail per order."""
    with open(os.path.join(pool_dir, "config.json")) as handle:
        settings = json.load(handle)
    pool = cgroups.Pool.from_dict(settings["cgroup"]) if settings.get("cgroup") else None
    config = monitor.Config(plan=rootfs.default_plan(), new_root=os.path.join(pool_dir, "root"),
                            scratch=os.path.join(pool_dir, "work"), pool=pool)
    control, supervisor_pid = _start_supervisor(pool_dir, config)  # before the imports: the supervisor stays small
    _preload(settings.get("preload", list(PRELOAD)))
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # jails are reaped when their supervisor asks (spawn.py)
    try:  # a jail's PID 1 orphaned by a killed jail is re-parented to us (and reaped), not left a zombie of init
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass
    signal.signal(signal.SIGTERM, lambda *_: _stop(pool_dir, pool, supervisor_pid))
    collapser = Collapser.for_this_process()
    try:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
    except OSError:  # the grader died while we were importing: clean up as on EOF, not die of a BrokenPipeError
        _stop(pool_dir, pool, supervisor_pid)
    with selectors.DefaultSelector() as selector:
        nursery = spawn.Nursery(selector, lambda order, fds, in_pid: _start_jail(config, order, fds, in_pid),
                                keep_out=lambda: [control.fileno(), selector.fileno()])
        selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
        selector.register(control, selectors.EVENT_READ)
        while True:
            events = selector.select(0 if collapser.pending else None)
            if not events:  # idle: make the next forks cheaper (hugepages.py), one huge page at a time
                collapser.step()
            for key, _ in events:
                if key.data is not None:  # a jail's channel or exit (spawn.Nursery)
                    key.data()
                elif key.fileobj is control:
                    if not nursery.take_order(control):  # the supervisor is gone: nobody watches the deadlines
                        _stop(pool_dir, pool, supervisor_pid)
                elif not os.read(sys.stdin.fileno(), 1):  # the grader closed our stdin, or died
                    _stop(pool_dir, pool, supervisor_pid)
            nursery.reap_orphans()
