"""The warm parent: imports torch/transformers/peft once, then forks one monitor per request.

    python -m grader.sandbox      (the pool folder on the first line of stdin)

Process tree for one code question (the zygote never reads a request, so it never holds student
code or anything else that a later fork could find in its memory)::

    zygote ── accept() ─ fork ─▶ monitor  (trusted: reads the request, uid, cgroup, deadline)
                                   └─ fork ─▶ jail  (in the cgroup; new namespaces)
                                                └─ fork ─▶ PID 1 of the new namespace: allowlisted
                                                   root, rlimits, own uid, runs code + probes

The zygote is started by :class:`grader.sandbox.SandboxPool` with an environment built from an
allowlist and with its standard input on a pipe from the grader. When that pipe reaches EOF the
grader is gone, however it died (``kill -9``, the OOM killer): the zygote kills every sandbox of
its pool, removes their cgroups and the pool folder, and exits. Monitors and jails die with their
parent (parent-death signal), so nothing outlives the grader.
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

from . import cgroups, encoding, libc, monitor, rootfs
from .housekeeping import remove_folder
from .hugepages import Collapser

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


def serve(pool_dir: str) -> None:
    """Import the heavy modules, announce readiness on stdout, then fork a monitor per connection."""
    with open(os.path.join(pool_dir, "config.json")) as handle:
        settings = json.load(handle)
    _preload(settings.get("preload", list(PRELOAD)))
    pool = cgroups.Pool.from_dict(settings["cgroup"]) if settings.get("cgroup") else None
    config = monitor.Config(plan=rootfs.default_plan(), new_root=os.path.join(pool_dir, "root"),
                            scratch=os.path.join(pool_dir, "work"), pool=pool)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    try:  # orphans of a killed monitor are re-parented to us (and reaped), not left as zombies of init
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass
    signal.signal(signal.SIGTERM, lambda *_: (shutdown(pool_dir, pool), os._exit(0)))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(os.path.join(pool_dir, "zygote.sock"))
    server.listen(64)
    collapser = Collapser.for_this_process()
    try:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
    except OSError:  # the grader died while we were importing: clean up as on EOF, not die of a BrokenPipeError
        shutdown(pool_dir, pool)
        os._exit(0)
    with selectors.DefaultSelector() as selector:
        selector.register(server, selectors.EVENT_READ)
        selector.register(sys.stdin.fileno(), selectors.EVENT_READ)
        while True:
            events = selector.select(0 if collapser.pending else None)
            if not events:  # idle: make the next forks cheaper (hugepages.py), one huge page at a time
                collapser.step()
            for key, _ in events:
                if key.fileobj is not server:  # the grader closed our stdin, or died
                    if not os.read(sys.stdin.fileno(), 1):
                        shutdown(pool_dir, pool)
                        os._exit(0)
                    continue
                conn, _ = server.accept()
                if os.fork() == 0:
                    server.close()
                    monitor.serve_one(conn, config)
                conn.close()
