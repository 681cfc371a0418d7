"""The supervisor: one small trusted process that watches every sandbox of a zygote.

The zygote forks it before importing torch, so it is small, and it never forks anything itself. It
accepts the grader's connections on the pool's socket and runs one :mod:`.monitor` thread per
sandbox; that thread reads the request, takes a uid, creates the cgroup, has the zygote fork the
jail (:mod:`.spawn`), owns the deadline, kills and cleans up, and answers.

It may hold requests and results because no jail is ever forked from it: jails are forked by the
zygote, which never reads either. It dies with the zygote (parent-death signal); when it dies, the
zygote sees its control socket close, kills every sandbox of the pool and exits.
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import time
from typing import NoReturn

from . import libc, monitor, spawn


def serve(server: socket.socket, control: socket.socket, config: monitor.Config, *, parent: int) -> NoReturn:
    """Runs in the forked supervisor; never returns. ``parent``: the zygote's pid."""
    libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the zygote died before the line above: so do we
        os._exit(0)
    null = os.open(os.devnull, os.O_RDWR)  # stdin and stdout are the grader's pipes to the zygote, not ours
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    zygote = spawn.Zygote(control)
    while True:
        try:
            conn, _ = server.accept()
        except OSError:  # out of descriptors for a moment: the grader's connection waits in the backlog
            time.sleep(0.05)
            continue
        threading.Thread(target=monitor.serve_one, args=(conn, config, zygote), daemon=True).start()
